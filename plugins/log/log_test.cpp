#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "dns/log.hpp"
#include "plugins/log/log.hpp"
#include "plugins/log/log_test_util.hpp"

namespace moat::plugins::log {
namespace {

using namespace std::chrono_literals;

// A synchronous logger writing raw lines into a string, standing in for the query log.
struct Capture {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> logger;
  Capture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_pattern("%v");
  }
};

std::shared_ptr<LogHandler> handler(std::string_view corefile, spdlog::logger& out) {
  auto p = test::stanzasOf(corefile, "log");
  auto config = parseConfig(p.stanzas);
  REQUIRE(config.ok());
  return std::make_shared<LogHandler>(std::move(*config), out);
}

std::string rendered(const LogHandler& h, const dns::Query& q) {
  fmt::memory_buffer out;
  if (!h.render(q, q.start, out)) return "<none>";
  return fmt::to_string(out);
}

TEST_CASE("the handler passes queries on and writes one line per reply") {
  Capture cap;
  auto h = handler(". {\n  log\n}\n", *cap.logger);
  CHECK(h->name() == "log");
  CHECK(h->observesReplies());
  auto q = test::query({.name = "example.org.", .id = 4660});
  CHECK(h->onQuery(*q) == Verdict::Next);
  test::answerA(*q);
  h->onReply(*q);
  std::string out = cap.text.str();
  CHECK(out.starts_with(
      R"([INFO] 127.0.0.1:40000 - 4660 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 56 0.)"));
  CHECK(out.ends_with("s\n"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}

TEST_CASE("rules: the first rule whose zone holds the qname decides") {
  Capture cap;
  auto h = handler(
      ". {\n"
      "  log example.org \"{name} first\"\n"
      "  log sub.example.org \"{name} never\"\n"
      "  log . \"{name} catch-all\"\n"
      "}\n",
      *cap.logger);
  auto a = test::query({.name = "www.sub.Example.org."});
  CHECK(rendered(*h, *a) == "[INFO] www.sub.example.org. first");
  auto b = test::query({.name = "example.org."});
  CHECK(rendered(*h, *b) == "[INFO] example.org. first");
  auto c = test::query({.name = "example.net."});
  CHECK(rendered(*h, *c) == "[INFO] example.net. catch-all");
  auto d = test::query({.name = "notexample.org."});
  CHECK(rendered(*h, *d) == "[INFO] notexample.org. catch-all");
}

TEST_CASE("rules: a name outside every rule is not logged") {
  Capture cap;
  auto h = handler(". {\n  log example.org\n}\n", *cap.logger);
  auto q = test::query({.name = "example.net."});
  test::answerA(*q);
  CHECK(h->match(*q) == nullptr);
  h->onReply(*q);
  CHECK(cap.text.str().empty());
}

TEST_CASE("classes filter on the reply, the first matching rule decides even when it drops") {
  Capture cap;
  auto h = handler(
      ". {\n"
      "  log example.org \"{name} {rcode}\" {\n"
      "    class denial\n"
      "  }\n"
      "  log . \"{name} {rcode} fallback\"\n"
      "}\n",
      *cap.logger);
  auto ok = test::query({.name = "example.org."});
  test::answerA(*ok);
  CHECK(rendered(*h, *ok) == "<none>");

  auto nx = test::query({.name = "a.example.org."});
  test::answerA(*nx, dns::RCode::NXDomain, 0);
  CHECK(rendered(*h, *nx) == "[INFO] a.example.org. NXDOMAIN");

  auto other = test::query({.name = "example.com."});
  test::answerA(*other, dns::RCode::ServFail, 0);
  CHECK(rendered(*h, *other) == "[INFO] example.com. SERVFAIL fallback");
}

TEST_CASE("classes: success, denial, error and all") {
  Capture cap;
  struct Case {
    std::string_view classes;
    dns::RCode rcode;
    int answers;
    bool logged;
  };
  for (Case c : {Case{"success", dns::RCode::NoError, 1, true},
                 Case{"success", dns::RCode::NoError, 0, true},
                 Case{"success", dns::RCode::NXDomain, 0, false},
                 Case{"denial", dns::RCode::NXDomain, 0, true},
                 Case{"denial", dns::RCode::ServFail, 0, false},
                 Case{"error", dns::RCode::ServFail, 0, true},
                 Case{"error", dns::RCode::Refused, 0, true},
                 Case{"error", dns::RCode::NoError, 1, false},
                 Case{"success error", dns::RCode::Refused, 0, true},
                 Case{"denial all", dns::RCode::NoError, 1, true}}) {
    CAPTURE(c.classes);
    CAPTURE(static_cast<int>(c.rcode));
    auto h = handler(". {\n  log . {name} {\n    class " + std::string(c.classes) + "\n  }\n}\n",
                     *cap.logger);
    auto q = test::query({.name = "example.org."});
    test::answerA(*q, c.rcode, c.answers);
    CHECK((rendered(*h, *q) != "<none>") == c.logged);
  }
}

TEST_CASE("setupLog builds a handler on the query logger, or returns the parse error") {
  auto p = test::stanzasOf(". {\n  log . {name}\n}\n", "log");
  SetupContext ctx;
  ctx.stanzas = p.stanzas;
  auto h = setupLog(ctx);
  REQUIRE(h.ok());
  CHECK((*h)->name() == "log");

  auto bad = test::stanzasOf(". {\n  log {\n    klass denial\n  }\n}\n", "log");
  ctx.stanzas = bad.stanzas;
  auto err = setupLog(ctx);
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().str() == "Corefile:3:5: log: unknown property 'klass' (want 'class')");
}

// --- process logging (dns/log.hpp)

TEST_CASE("the default logger prints CoreDNS's level prefixes") {
  std::ostringstream text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
  spdlog::logger logger("t", sink);
  logger.set_formatter(logging::makeFormatter());
  logger.set_level(spdlog::level::trace);
  logger.info("plain {}", 1);
  logger.warn("careful");
  logger.error("plugin/errors: 2 example.org. A: boom");
  logger.critical("gone");
  logger.debug("detail");
  CHECK(text.str() ==
        "[INFO] plain 1\n[WARNING] careful\n[ERROR] plugin/errors: 2 example.org. A: boom\n"
        "[FATAL] gone\n[DEBUG] detail\n");
}

TEST_CASE("setup remembers -quiet and installs the formatter on the default logger") {
  logging::setup(true);
  CHECK(logging::quiet());
  logging::setup(false);
  CHECK_FALSE(logging::quiet());
  CHECK(spdlog::default_logger_raw()->name() == "moat");
  CHECK(spdlog::get("query") != nullptr);
  CHECK(&logging::queryLog() == spdlog::get("query").get());
}

TEST_CASE("the query logger writes raw lines to stdout, and flush waits for them") {
  std::FILE* tmp = std::tmpfile();
  REQUIRE(tmp != nullptr);
  std::fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
  for (int i = 0; i < 100; ++i) logging::queryLog().info("[INFO] line {}", i);
  logging::flush();
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);

  std::rewind(tmp);
  std::string got;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, tmp)) > 0;) got.append(buf, n);
  std::fclose(tmp);
  CHECK(got.starts_with("[INFO] line 0\n[INFO] line 1\n"));
  CHECK(got.ends_with("[INFO] line 99\n"));
  CHECK(std::count(got.begin(), got.end(), '\n') == 100);
}

TEST_CASE("type, class and rcode text for log lines") {
  CHECK(logging::typeName(1) == "A");
  CHECK(logging::typeName(23) == "NSAP-PTR");
  CHECK(logging::typeName(65535) == "Reserved");
  CHECK(logging::typeName(65534).empty());
  fmt::memory_buffer out;
  logging::appendTypeName(out, 32769);
  out.push_back(' ');
  logging::appendTypeName(out, 11);
  out.push_back(' ');
  logging::appendClassName(out, 1);
  out.push_back(' ');
  logging::appendClassName(out, 300);
  out.push_back(' ');
  logging::appendRcodeName(out, 23);
  out.push_back(' ');
  logging::appendRcodeName(out, 11);
  out.push_back(' ');
  logging::appendRcodeName(out, 24);
  CHECK(fmt::to_string(out) == "DLV TYPE11 IN CLASS300 BADCOOKIE DSOTYPENI 24");
}

}  // namespace
}  // namespace moat::plugins::log
