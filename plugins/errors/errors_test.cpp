#include <doctest/doctest.h>

#include "tests/support/plugin_test_util.hpp"
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <mutex>
#include <sstream>
#include <thread>

#include "conf/parser.hpp"
#include "dns/log.hpp"
#include "dns/message.hpp"
#include "plugins/errors/errors.hpp"
#include "tests/support/dns_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::errors {
namespace {

using moat::testing::stanzasOf;

using namespace std::chrono_literals;

conf::Result<Config> parse(std::string_view corefile, std::vector<conf::Diag>* warnings = nullptr) {
  auto p = stanzasOf(corefile, "errors");
  return parseConfig(p.stanzas, warnings);
}

std::string block(std::string_view inner) {
  return ". {\n  errors {\n    " + std::string(inner) + "\n  }\n}\n";
}

// Lines as the process would print them, captured in memory.
struct Capture {
  std::mutex mutex;
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> logger;
  Capture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_formatter(logging::makeFormatter());
    logger->set_level(spdlog::level::trace);
  }
  std::string str() {
    logger->flush();
    return text.str();
  }
  // Polls for `needle`: the consolidation timer prints from its own thread.
  bool waitFor(std::string_view needle, std::chrono::milliseconds limit = 3s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (str().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
};

std::unique_ptr<dns::Query> failedQuery(std::string_view name, std::string_view error,
                                        dns::RCode rcode = dns::RCode::ServFail,
                                        uint16_t type = dns::rrtype::A) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = std::string(name), .type = type}));
  dns::writeErrorReply(q->reply, q->requestBytes(), &q->view, rcode);
  q->error = error;
  return q;
}

TEST_CASE("parse: plain forms") {
  for (std::string_view ok : {". {\n  errors\n}\n", ". {\n  errors stdout\n}\n"}) {
    CAPTURE(ok);
    auto c = parse(ok);
    REQUIRE(c.ok());
    CHECK(c->consolidate.empty());
    CHECK_FALSE(c->stacktrace);
  }
}

TEST_CASE("parse: stacktrace is accepted with a warning") {
  std::vector<conf::Diag> warnings;
  auto c = parse(block("stacktrace"), &warnings);
  REQUIRE(c.ok());
  CHECK(c->stacktrace);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].severity == conf::Severity::Warning);
  CHECK(warnings[0].str() == "Corefile:3:5: errors: stacktrace has no effect in Moat");
}

TEST_CASE("parse: consolidate") {
  auto c = parse(
      ". {\n  errors {\n    stacktrace\n    consolidate 5m \".* i/o timeout$\" warning\n"
      "    consolidate 30s \"^Failed to .+\" error show_first\n    consolidate 1m30s x show_first\n"
      "  }\n}\n");
  REQUIRE(c.ok());
  REQUIRE(c->consolidate.size() == 3);
  CHECK(c->consolidate[0].period == 5min);
  CHECK(c->consolidate[0].pattern == ".* i/o timeout$");
  CHECK(c->consolidate[0].level == spdlog::level::warn);
  CHECK_FALSE(c->consolidate[0].showFirst);
  CHECK(c->consolidate[1].period == 30s);
  CHECK(c->consolidate[1].level == spdlog::level::err);
  CHECK(c->consolidate[1].showFirst);
  CHECK(c->consolidate[2].period == 90s);
  CHECK(c->consolidate[2].level == spdlog::level::err);  // the default
  CHECK(c->consolidate[2].showFirst);

  for (auto [word, level] : {std::pair{"info", spdlog::level::info},
                             std::pair{"debug", spdlog::level::debug}}) {
    auto l = parse(block(std::string("consolidate 1m .* ") + word));
    REQUIRE(l.ok());
    CHECK(l->consolidate[0].level == level);
  }
}

TEST_CASE("parse: errors name their position") {
  struct Case {
    std::string corefile;
    std::string_view expected;
  };
  for (const Case& c : {
           Case{". {\n  errors errors.txt\n}\n",
                "Corefile:2:10: errors: invalid log file 'errors.txt' (errors only go to stdout)"},
           Case{". {\n  errors a b\n}\n", "Corefile:2:12: errors: 'errors' takes at most 1 argument, got 2"},
           Case{". {\n  errors\n  errors\n}\n",
                "Corefile:3:3: errors: this plugin can only be used once per Server Block"},
           Case{block("log visible"), "Corefile:3:5: errors: unknown option 'log'"},
           Case{block("stacktrace now"), "Corefile:3:16: errors: 'stacktrace' takes no arguments, got 1"},
           Case{block("consolidate"), "Corefile:3:5: errors: 'consolidate' takes 2 to 4 arguments, got 0"},
           Case{block("consolidate 1m"), "Corefile:3:5: errors: 'consolidate' takes 2 to 4 arguments, got 1"},
           Case{block("consolidate 1m a b c d"),
                "Corefile:3:26: errors: 'consolidate' takes 2 to 4 arguments, got 5"},
           Case{block("consolidate abc .*"),
                "Corefile:3:17: errors: consolidate period must be a duration such as 5s, 500ms or "
                "1m30s, got 'abc'"},
           Case{block("consolidate 1 .*"),
                "Corefile:3:17: errors: consolidate period must be a duration such as 5s, 500ms or "
                "1m30s, got '1'"},
           Case{block("consolidate 1m ())"),
                "Corefile:3:20: errors: invalid regular expression '())'"},
           Case{block("consolidate 1m .* extra"),
                "Corefile:3:23: errors: unknown option in consolidate 'extra' (want warning, error, "
                "info, debug or show_first)"},
           Case{block("consolidate 1m error warning error"),
                "Corefile:3:34: errors: multiple log levels specified in consolidate"},
           Case{block("consolidate 1m error show_first warning"),
                "Corefile:3:37: errors: log level must come before show_first in consolidate"},
           Case{block("consolidate 1m " + std::string(kMaxPatternLen + 1, 'x')),
                "Corefile:3:20: errors: regex pattern too long: 10001 > 10000"},
       }) {
    CAPTURE(c.corefile.substr(0, 80));
    auto r = parse(c.corefile);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().str() == c.expected);
  }
}

TEST_CASE("a query error is printed as CoreDNS prints it") {
  Capture cap;
  ErrorsHandler h(Config{}, cap.logger);
  CHECK(h.name() == "errors");
  CHECK(h.observesReplies());
  auto q = failedQuery("Example.ORG.", "no healthy proxies");
  CHECK(h.onQuery(*q) == Verdict::Next);
  h.onReply(*q);
  CHECK(cap.str() == "[ERROR] plugin/errors: 2 example.org. A: no healthy proxies\n");
}

TEST_CASE("an error raised for a plugin is wrapped as plugin.Error does") {
  Capture cap;
  ErrorsHandler h(Config{}, cap.logger);
  auto q = failedQuery("www.example.org.", "no next plugin found", dns::RCode::ServFail, 28);
  q->errorPlugin = "whoami";
  h.onReply(*q);
  CHECK(cap.str() ==
        "[ERROR] plugin/errors: 2 www.example.org. AAAA: plugin/whoami: no next plugin found\n");
}

TEST_CASE("rcode is the reply's, unknown types print TYPEn") {
  Capture cap;
  ErrorsHandler h(Config{}, cap.logger);
  auto q = failedQuery("example.org.", "too many", dns::RCode::Refused, 65534);
  h.onReply(*q);
  auto none = failedQuery("example.org.", "nothing written");
  none->reply.clear();
  h.onReply(*none);
  CHECK(cap.str() ==
        "[ERROR] plugin/errors: 5 example.org. TYPE65534: too many\n"
        "[ERROR] plugin/errors: 2 example.org. A: nothing written\n");
}

TEST_CASE("no error, no line") {
  Capture cap;
  ErrorsHandler h(Config{}, cap.logger);
  auto q = failedQuery("example.org.", "");
  h.onReply(*q);
  CHECK(cap.str().empty());
}

TEST_CASE("consolidate folds matching errors into one summary per period") {
  Capture cap;
  auto cfg = parse(block("consolidate 100ms \"i/o timeout$\" warning"));
  REQUIRE(cfg.ok());
  ErrorsHandler h(std::move(*cfg), cap.logger);
  for (int i = 0; i < 3; ++i) h.onReply(*failedQuery("example.org.", "read udp: i/o timeout"));
  h.onReply(*failedQuery("example.org.", "something else"));
  CHECK(cap.str() == "[ERROR] plugin/errors: 2 example.org. A: something else\n");
  REQUIRE(cap.waitFor("occurred"));
  CHECK(cap.str() ==
        "[ERROR] plugin/errors: 2 example.org. A: something else\n"
        "[WARNING] plugin/errors: 3 errors like 'i/o timeout$' occurred in last 100ms\n");
}

TEST_CASE("consolidate with show_first prints the first error at the rule's level") {
  Capture cap;
  auto cfg = parse(block("consolidate 1h timeout info show_first"));
  REQUIRE(cfg.ok());
  {
    ErrorsHandler h(std::move(*cfg), cap.logger);
    for (int i = 0; i < 4; ++i) h.onReply(*failedQuery("example.org.", "timeout"));
    CHECK(cap.str() == "[INFO] plugin/errors: 2 example.org. A: timeout\n");
  }  // destruction ends the period early and prints its summary
  CHECK(cap.str() ==
        "[INFO] plugin/errors: 2 example.org. A: timeout\n"
        "[INFO] plugin/errors: 4 errors like 'timeout' occurred in last 1h0m0s\n");
}

TEST_CASE("consolidate with show_first and a single error prints no summary") {
  Capture cap;
  auto cfg = parse(block("consolidate 1h timeout show_first"));
  REQUIRE(cfg.ok());
  {
    ErrorsHandler h(std::move(*cfg), cap.logger);
    h.onReply(*failedQuery("example.org.", "timeout"));
  }
  CHECK(cap.str() == "[ERROR] plugin/errors: 2 example.org. A: timeout\n");
}

TEST_CASE("consolidate: the first matching rule takes the error, (?i) works") {
  Capture cap;
  auto cfg = parse(
      ". {\n  errors {\n    consolidate 1h \"(?i)^read\" warning\n    consolidate 1h read error\n"
      "  }\n}\n");
  REQUIRE(cfg.ok());
  {
    ErrorsHandler h(std::move(*cfg), cap.logger);
    h.onReply(*failedQuery("example.org.", "READ udp"));
    h.onReply(*failedQuery("example.org.", "x read"));
    CHECK(cap.str().empty());
  }
  CHECK(cap.str() ==
        "[WARNING] plugin/errors: 1 errors like '(?i)^read' occurred in last 1h0m0s\n"
        "[ERROR] plugin/errors: 1 errors like 'read' occurred in last 1h0m0s\n");
}

TEST_CASE("goDuration matches Go's Duration.String") {
  struct Case {
    std::chrono::nanoseconds d;
    std::string_view text;
  };
  for (Case c : {Case{0ns, "0s"}, Case{1ns, "1ns"}, Case{999ns, "999ns"}, Case{1500ns, "1.5\xC2\xB5s"},
                 Case{1ms, "1ms"}, Case{1500us, "1.5ms"}, Case{100ms, "100ms"}, Case{1s, "1s"},
                 Case{1500ms, "1.5s"}, Case{30s, "30s"}, Case{60s, "1m0s"}, Case{90s, "1m30s"},
                 Case{5min, "5m0s"}, Case{1h, "1h0m0s"}, Case{26h + 3min + 4s, "26h3m4s"},
                 Case{-90s, "-1m30s"}, Case{3600000000001ns, "1h0m0.000000001s"}}) {
    CAPTURE(c.d.count());
    CHECK(goDuration(c.d) == c.text);
  }
}

TEST_CASE("setupErrors builds the handler and passes warnings on") {
  auto p = stanzasOf(block("stacktrace"), "errors");
  std::vector<conf::Diag> warnings;
  SetupContext ctx;
  ctx.stanzas = p.stanzas;
  ctx.warnings = &warnings;
  auto h = setupErrors(ctx);
  REQUIRE(h.ok());
  CHECK((*h)->name() == "errors");
  CHECK(warnings.size() == 1);

  auto bad = stanzasOf(". {\n  errors nope\n}\n", "errors");
  ctx.stanzas = bad.stanzas;
  CHECK_FALSE(setupErrors(ctx).ok());
}

}  // namespace
}  // namespace moat::plugins::errors
