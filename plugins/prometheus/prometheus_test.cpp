#include <doctest/doctest.h>

#include <array>
#include <sstream>

#include "conf/parser.hpp"
#include "conf/zone.hpp"
#include "dns/message.hpp"
#include "plugins/chain.hpp"
#include "plugins/prometheus/prometheus.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::prometheus {
namespace {

struct Setup {
  conf::Result<HandlerPtr> result = HandlerPtr();
  std::vector<HttpRoute> routes;
  std::vector<HandlerPtr> handlers;  // one per block
};

// Runs setupPrometheus on every block, as the runtime does (zones from the keys, one shared
// route list), with `workers` event loops.
Setup run(std::string_view corefile, size_t workers = 1) {
  Setup s;
  auto cf = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? std::string() : cf.error().str()));
  static std::array<boost::asio::io_context*, 8> loops{};  // only the count matters here
  for (const conf::ServerBlock& block : cf->blocks) {
    SetupContext ctx;
    ctx.block = &block;
    ctx.http = &s.routes;
    ctx.loops = std::span<boost::asio::io_context* const>(loops.data(), workers);
    for (const conf::Token& key : block.keys) {
      auto keys = conf::parseServerKey(key, 53);
      REQUIRE(keys.ok());
      for (const auto& k : *keys) {
        if (std::find(ctx.zones.begin(), ctx.zones.end(), k.zone) == ctx.zones.end()) ctx.zones.push_back(k.zone);
      }
    }
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "prometheus") ctx.stanzas.push_back(&d);
    }
    s.result = setupPrometheus(ctx);
    if (!s.result) break;
    s.handlers.push_back(*s.result);
  }
  return s;
}

// A plugin that answers with a fixed rcode, standing in for the one that wrote the reply.
class StubAnswer final : public Handler {
 public:
  StubAnswer(std::string name, dns::RCode rcode) : name_(std::move(name)), rcode_(rcode) {}
  Verdict onQuery(dns::Query& q) override {
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, rcode_);
    return Verdict::Answered;
  }
  std::string_view name() const override { return name_; }

 private:
  std::string name_;
  dns::RCode rcode_;
};

// Drives one query through [prometheus, log-like stub, answering stub] the way the runner does:
// the writer's index in q.position, then onReply.
void feed(Chain& chain, size_t writer, const testing::QuerySpec& spec, dns::Proto proto = dns::Proto::Udp,
          std::string_view client = "127.0.0.1", unsigned worker = 0) {
  dns::Query q;
  testing::loadQuery(q, testing::makeQuery(spec), proto, client);
  q.worker = worker;
  q.start = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  q.route = &chain;
  REQUIRE(chain.handlers[0]->onQuery(q) == Verdict::Next);
  REQUIRE(chain.handlers[writer]->onQuery(q) == Verdict::Answered);
  q.position = static_cast<uint16_t>(writer);
  q.finalized = true;
  chain.handlers[0]->onReply(q);
}

std::string scrape(const Setup& s) {
  REQUIRE(!s.routes.empty());
  HttpResponse r = s.routes.front().handle();
  CHECK(r.status == 200);
  CHECK(r.contentType == "text/plain; version=0.0.4; charset=utf-8");
  return r.body;
}

bool hasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

// Every line of `text` starting with `prefix`, in order.
std::vector<std::string> linesWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  }
  return out;
}

double valueOf(const std::string& line) { return std::stod(line.substr(line.rfind(' ') + 1)); }

TEST_CASE("prometheus: address and route") {
  struct Case {
    std::string_view corefile;
    std::string_view address;
  };
  const Case cases[] = {
      {".:1053 {\n  prometheus\n}\n", "localhost:9153"},
      {".:1053 {\n  prometheus :9253\n}\n", ":9253"},
      {".:1053 {\n  prometheus 127.0.0.1:0\n}\n", "127.0.0.1:0"},
      {".:1053 {\n  prometheus [::1]:9153\n}\n", "[::1]:9153"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    Setup s = run(c.corefile);
    REQUIRE_MESSAGE(s.result.ok(), (s.result.ok() ? std::string() : s.result.error().str()));
    REQUIRE(*s.result != nullptr);
    CHECK((*s.result)->name() == "prometheus");
    CHECK((*s.result)->observesReplies());
    REQUIRE(s.routes.size() == 1);
    CHECK(s.routes[0].address == c.address);
    CHECK(s.routes[0].path == "/metrics");
  }
}

TEST_CASE("prometheus: errors name their position") {
  struct Case {
    std::string_view corefile;
    std::string_view error;
  };
  const Case cases[] = {
      {". {\n  prometheus :9153 :9154\n}\n", "Corefile:2:"},
      {". {\n  prometheus nonsense\n}\n", "Corefile:2:14"},
      {". {\n  prometheus {\n    x\n  }\n}\n", "Corefile:2:3"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    Setup s = run(c.corefile);
    REQUIRE_FALSE(s.result.ok());
    CHECK(s.result.error().str().find(c.error) != std::string::npos);
    CHECK(s.result.error().str().find("prometheus") != std::string::npos);
  }
}

TEST_CASE("prometheus: block labels") {
  auto labelsOf = [](std::string_view corefile) {
    auto cf = conf::parseCorefile(corefile, "Corefile");
    REQUIRE(cf.ok());
    SetupContext ctx;
    ctx.block = &cf->blocks.front();
    ctx.zones = {"example.org."};
    return blockLabels(ctx);
  };
  BlockLabels a = labelsOf("example.org:1053 {\n  bind 127.0.0.1\n  whoami\n  prometheus\n  health\n}\n");
  CHECK(a.server == "dns://127.0.0.1:1053");
  CHECK(a.plugins == std::vector<std::string>{"prometheus", "whoami"});  // health has no handler
  CHECK(labelsOf("example.org {\n  prometheus\n}\n").server == "dns://:53");
  CHECK(labelsOf("example.org:5300 {\n  bind ::1\n  prometheus\n}\n").server == "dns://[::1]:5300");
}

TEST_CASE("prometheus: type and rcode labels") {
  CHECK(kTypeNames[typeIndex(1)] == "A");
  CHECK(kTypeNames[typeIndex(28)] == "AAAA");
  CHECK(kTypeNames[typeIndex(65)] == "HTTPS");
  CHECK(kTypeNames[typeIndex(255)] == "ANY");
  CHECK(kTypeNames[typeIndex(13)] == "other");  // HINFO
  CHECK(kTypeNames[typeIndex(99)] == "other");
  CHECK(rcodeName(0) == "NOERROR");
  CHECK(rcodeName(3) == "NXDOMAIN");
  CHECK(rcodeName(5) == "REFUSED");
  CHECK(rcodeName(13) == "RCODE13");
  CHECK(durationBound(0) == 0.00025);
  CHECK(durationBound(15) == 8.192);
}

TEST_CASE("prometheus: exact series after known queries") {
  Setup s = run(".:1053 {\n  prometheus 127.0.0.1:0\n  log\n  whoami\n}\n");
  REQUIRE(s.result.ok());
  Chain chain;
  chain.add(s.handlers[0]);
  chain.add(std::make_shared<StubAnswer>("log", dns::RCode::ServFail));
  chain.add(std::make_shared<StubAnswer>("whoami", dns::RCode::NoError));
  chain.zone = ".";

  feed(chain, 2, {.name = "a.example.org.", .type = 1});
  feed(chain, 2, {.name = "b.example.org.", .type = 1});
  feed(chain, 2, {.name = "c.example.org.", .type = 28, .edns = 1232, .dnssecOk = true}, dns::Proto::Tcp, "::1");
  feed(chain, 2, {.name = "d.example.org.", .type = 13});  // HINFO: "other"
  feed(chain, 1, {.name = "e.example.org.", .type = 1});   // written by the second stub

  std::string text = scrape(s);
  CAPTURE(text);
  const std::string base = "server=\"dns://:1053\"";
  CHECK(hasLine(text, "coredns_dns_requests_total{family=\"1\",proto=\"udp\"," + base + ",type=\"A\",view=\"\",zone=\".\"} 3"));
  CHECK(hasLine(text, "coredns_dns_requests_total{family=\"2\",proto=\"tcp\"," + base + ",type=\"AAAA\",view=\"\",zone=\".\"} 1"));
  CHECK(hasLine(text, "coredns_dns_requests_total{family=\"1\",proto=\"udp\"," + base + ",type=\"other\",view=\"\",zone=\".\"} 1"));
  CHECK(hasLine(text, "coredns_dns_do_requests_total{" + base + ",view=\"\",zone=\".\"} 1"));
  CHECK(hasLine(text, "coredns_dns_responses_total{plugin=\"whoami\",rcode=\"NOERROR\"," + base + ",view=\"\",zone=\".\"} 4"));
  CHECK(hasLine(text, "coredns_dns_responses_total{plugin=\"log\",rcode=\"SERVFAIL\"," + base + ",view=\"\",zone=\".\"} 1"));
  CHECK(hasLine(text, "coredns_plugin_enabled{name=\"whoami\"," + base + ",view=\"\",zone=\".\"} 1"));
  CHECK(hasLine(text, "coredns_plugin_enabled{name=\"prometheus\"," + base + ",view=\"\",zone=\".\"} 1"));
  CHECK(hasLine(text, "coredns_build_info{goversion=\"\",revision=\"\",version=\"0.1.0\"} 1"));
  CHECK(hasLine(text, "coredns_dns_request_duration_seconds_count{" + base + ",view=\"\",zone=\".\"} 5"));
  CHECK(hasLine(text, "coredns_dns_request_size_bytes_count{proto=\"udp\"," + base + ",view=\"\",zone=\".\"} 4"));
  CHECK(hasLine(text, "coredns_dns_request_size_bytes_count{proto=\"tcp\"," + base + ",view=\"\",zone=\".\"} 1"));
  CHECK(hasLine(text, "coredns_dns_response_size_bytes_count{proto=\"udp\"," + base + ",view=\"\",zone=\".\"} 4"));
  CHECK(text.find("# TYPE coredns_dns_request_duration_seconds histogram") != std::string::npos);
  CHECK(text.find("# TYPE coredns_dns_requests_total counter") != std::string::npos);

  // Buckets: CoreDNS's bounds, cumulative, ending in +Inf = count.
  for (const std::string family : {"coredns_dns_request_duration_seconds_bucket{", "coredns_dns_request_size_bytes_bucket{proto=\"udp\""}) {
    CAPTURE(family);
    std::vector<std::string> buckets = linesWith(text, family);
    REQUIRE(buckets.size() == (family.find("duration") != std::string::npos ? 17u : 15u));
    for (size_t i = 1; i < buckets.size(); ++i) CHECK(valueOf(buckets[i - 1]) <= valueOf(buckets[i]));
    CHECK(buckets.back().find("le=\"+Inf\"") != std::string::npos);
  }
  CHECK(linesWith(text, "coredns_dns_request_duration_seconds_bucket{")[0].find("le=\"0.00025\"") != std::string::npos);
  // 1 ms queries: nothing under 0.5 ms, all under 2 ms (generous for a slow test machine: +Inf).
  CHECK(valueOf(linesWith(text, "coredns_dns_request_duration_seconds_bucket{")[0]) == 0);
  std::vector<std::string> sizes = linesWith(text, "coredns_dns_request_size_bytes_bucket{proto=\"udp\"");
  CHECK(sizes[0].find("le=\"0\"") != std::string::npos);
  CHECK(sizes[13].find("le=\"64000\"") != std::string::npos);
  CHECK(valueOf(sizes[1]) == 4);  // le=100: these requests are ~31-32 bytes
}

TEST_CASE("prometheus: the zone label is the longest block zone, workers add up") {
  Setup s = run("example.org:1054 sub.example.org:1054 {\n  prometheus 127.0.0.1:0\n  whoami\n}\n", 2);
  REQUIRE(s.result.ok());
  Chain chain;
  chain.add(s.handlers[0]);
  chain.add(std::make_shared<StubAnswer>("whoami", dns::RCode::NXDomain));
  feed(chain, 1, {.name = "www.Example.ORG.", .type = 1}, dns::Proto::Udp, "127.0.0.1", 0);
  feed(chain, 1, {.name = "x.sub.example.org.", .type = 1}, dns::Proto::Udp, "127.0.0.1", 1);
  feed(chain, 1, {.name = "y.sub.example.org.", .type = 1}, dns::Proto::Udp, "127.0.0.1", 0);
  std::string text = scrape(s);
  CAPTURE(text);
  const std::string base = "server=\"dns://:1054\"";
  CHECK(hasLine(text, "coredns_dns_requests_total{family=\"1\",proto=\"udp\"," + base + ",type=\"A\",view=\"\",zone=\"example.org.\"} 1"));
  CHECK(hasLine(text, "coredns_dns_requests_total{family=\"1\",proto=\"udp\"," + base + ",type=\"A\",view=\"\",zone=\"sub.example.org.\"} 2"));
  CHECK(hasLine(text, "coredns_dns_responses_total{plugin=\"whoami\",rcode=\"NXDOMAIN\"," + base + ",view=\"\",zone=\"sub.example.org.\"} 2"));
  CHECK(hasLine(text, "coredns_plugin_enabled{name=\"whoami\"," + base + ",view=\"\",zone=\"sub.example.org.\"} 1"));
}

TEST_CASE("prometheus: an unknown writer is labelled \"\", never guessed") {
  Setup s = run(".:1055 {\n  prometheus 127.0.0.1:0\n  whoami\n}\n");
  REQUIRE(s.result.ok());
  Chain chain;
  chain.add(s.handlers[0]);
  chain.add(std::make_shared<StubAnswer>("whoami", dns::RCode::NoError));
  dns::Query q;
  testing::loadQuery(q, testing::makeQuery({.name = "a.", .type = 1}));
  q.route = &chain;
  REQUIRE(chain.handlers[1]->onQuery(q) == Verdict::Answered);
  q.position = 0;  // the runner did not record the writer
  chain.handlers[0]->onReply(q);
  std::string text = scrape(s);
  CHECK(hasLine(text, "coredns_dns_responses_total{plugin=\"\",rcode=\"NOERROR\",server=\"dns://:1055\",view=\"\",zone=\".\"} 1"));
}

TEST_CASE("prometheus: blocks share one collector, a rebuilt unchanged block keeps counting") {
  Setup s = run(
      "a.test:1056 {\n  prometheus 127.0.0.1:0\n  whoami\n}\n"
      "b.test:1056 {\n  prometheus 127.0.0.1:0\n  whoami\n}\n");
  REQUIRE(s.result.ok());
  REQUIRE(s.routes.size() == 2);  // the HTTP server keeps the first; both serve the same text
  for (size_t b = 0; b < 2; ++b) {
    Chain chain;
    chain.add(s.handlers[b]);
    chain.add(std::make_shared<StubAnswer>("whoami", dns::RCode::NoError));
    feed(chain, 1, {.name = b == 0 ? "x.a.test." : "x.b.test.", .type = 16});
  }
  // A reload builds the same block again: same counters.
  Setup again = run("a.test:1056 {\n  prometheus 127.0.0.1:0\n  whoami\n}\n");
  Chain chain;
  chain.add(again.handlers[0]);
  chain.add(std::make_shared<StubAnswer>("whoami", dns::RCode::NoError));
  feed(chain, 1, {.name = "y.a.test.", .type = 16});

  std::string text = scrape(s);
  CAPTURE(text);
  CHECK(text == s.routes[1].handle().body);
  CHECK(hasLine(text, "coredns_dns_requests_total{family=\"1\",proto=\"udp\",server=\"dns://:1056\",type=\"TXT\",view=\"\",zone=\"a.test.\"} 2"));
  CHECK(hasLine(text, "coredns_dns_requests_total{family=\"1\",proto=\"udp\",server=\"dns://:1056\",type=\"TXT\",view=\"\",zone=\"b.test.\"} 1"));
  CHECK(linesWith(text, "coredns_build_info{").size() == 1);
}

}  // namespace
}  // namespace moat::plugins::prometheus
