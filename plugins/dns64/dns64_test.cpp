#include "plugins/dns64/dns64.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <map>
#include <memory>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/chain.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::dns64 {
namespace {

namespace rr = dns::rrtype;
using moat::testing::decode;
using moat::testing::loadQuery;
using moat::testing::makeQuery;
using moat::testing::stanzasOf;

std::vector<uint8_t> wire(const char* text) { return *dns::nameFromText(text); }

// The data behind dns64: answers by name and type, as hosts or file would. Counts what it was
// asked; with `park` it goes Pending and the test resumes it.
struct Data final : Handler {
  std::map<uint16_t, int> asked{{rr::A, 0}, {rr::AAAA, 0}};
  bool park = false;
  std::vector<dns::Query*> parked;

  // Built once: answering allocates nothing (the allocation test runs through this).
  const std::vector<uint8_t> zone = wire("example."), target = wire("v4.example.");
  std::vector<uint8_t> soaRdata = [] {
    auto rdata = wire("ns.example.");
    auto mbox = wire("root.example.");
    rdata.insert(rdata.end(), mbox.begin(), mbox.end());
    rdata.resize(rdata.size() + 20, 0);
    return rdata;
  }();
  const std::vector<uint8_t> nx = wire("nx.example."), fail = wire("fail.example."), alias = wire("alias.example."),
                             empty = wire("empty.example."), both = wire("both.example."), nosoa = wire("nosoa.example.");

  Verdict onQuery(dns::Query& q) override {
    ++asked[q.view.question.qtype];
    const auto owner = q.view.question.lowerName();
    auto is = [&](const std::vector<uint8_t>& n) { return std::equal(owner.begin(), owner.end(), n.begin(), n.end()); };
    const uint16_t type = q.view.question.qtype;
    dns::MessageWriter w(q.reply);
    const auto soa = [&](uint32_t ttl) {
      w.addRR(dns::Section::Authority, zone, rr::SOA, dns::rrclass::IN, ttl, soaRdata);
    };
    const uint8_t v4a[4] = {192, 0, 2, 1}, v4b[4] = {192, 0, 2, 2};
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    if (is(nx)) {
      w.startReply(q.requestBytes(), q.view, dns::RCode::NXDomain, true);
      soa(100);
    } else if (is(fail) && type == rr::AAAA) {
      w.startReply(q.requestBytes(), q.view, dns::RCode::ServFail, false);
    } else if (is(alias) && type == rr::A) {
      w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
      w.addRR(dns::Section::Answer, owner, rr::CNAME, dns::rrclass::IN, 50, target);
      w.addRR(dns::Section::Answer, target, rr::A, dns::rrclass::IN, 300, v4a);
    } else if (type == rr::A && !is(empty)) {
      w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
      w.addRR(dns::Section::Answer, owner, rr::A, dns::rrclass::IN, 300, v4a);
      w.addRR(dns::Section::Answer, owner, rr::A, dns::rrclass::IN, 60, v4b);
      soa(3600);  // the A reply's authority is passed on
    } else if (type == rr::AAAA && is(both)) {
      w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
      w.addRR(dns::Section::Answer, owner, rr::AAAA, dns::rrclass::IN, 300, v6);
    } else {
      w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
      if (!is(nosoa) && !is(alias)) soa(100);
    }
    if (park) {
      parked.push_back(&q);
      return Verdict::Pending;
    }
    return Verdict::Answered;
  }
  std::string_view name() const override { return "data"; }
};

// Takes replies without allocating (the allocation test runs through it).
struct Sink final : dns::ReplySink {
  std::vector<uint8_t> last;
  int sent = 0, dropped = 0;
  Sink() { last.reserve(4096); }
  void sendReply(dns::Query& q) override {
    last.assign(q.reply.begin(), q.reply.end());
    ++sent;
  }
  void dropQuery(dns::Query&) override { ++dropped; }
};

struct Fixture {
  std::shared_ptr<Dns64> dns64;
  std::shared_ptr<Data> data = std::make_shared<Data>();
  ChainRunner runner{1};
  Sink sink;

  explicit Fixture(Config config = {}) : dns64(std::make_shared<Dns64>(config, 1, "dns://:53")) {
    auto table = std::make_shared<RouteTable>();
    table->listeners.emplace_back();
    auto chain = std::make_shared<Chain>();
    chain->add(dns64);
    chain->add(data);
    table->listeners[0].add(".", chain);
    runner.publish(table);
  }

  void start(dns::Query& q, const char* name, uint16_t type, const char* client = "::1") {
    start(q, makeQuery({.name = name, .type = type, .edns = 1232}), client);
  }
  void start(dns::Query& q, const std::vector<uint8_t>& packet, const char* client = "::1") {
    q.reset();
    loadQuery(q, packet, dns::Proto::Udp, client);
    q.sink = &sink;
    q.dispatcher = &runner;
    runner.dispatch(q);
  }

  testing::Reply ask(const char* name, uint16_t type = rr::AAAA, const char* client = "::1") {
    auto q = std::make_unique<dns::Query>();
    const int before = sink.sent;
    start(*q, name, type, client);
    REQUIRE(sink.sent == before + 1);
    auto r = decode(sink.last);
    REQUIRE(r.ok);
    return r;
  }
};

TEST_CASE("the embedding of RFC 6052 2.2 for every prefix length, the u-octet left zero") {
  const uint8_t v4[4] = {192, 0, 2, 33};
  auto with = [](const char* prefix) {
    conf::Token token{prefix, {}, false};
    auto c = parsePrefix(token, {});
    REQUIRE_MESSAGE(c, prefix);
    return *c;
  };
  auto text = [&](const char* prefix) {
    const auto a = synthesize(with(prefix), std::span<const uint8_t, 4>(v4));
    char out[64];
    inet_ntop(AF_INET6, a.data(), out, sizeof out);
    return std::string(out);
  };
  // RFC 6052 2.4's table of examples (2001:db8:: prefixes, 192.0.2.33).
  CHECK(text("2001:db8::/32") == "2001:db8:c000:221::");
  CHECK(text("2001:db8:100::/40") == "2001:db8:1c0:2:21::");
  CHECK(text("2001:db8:122::/48") == "2001:db8:122:c000:2:2100::");
  CHECK(text("2001:db8:122:300::/56") == "2001:db8:122:3c0:0:221::");
  CHECK(text("2001:db8:122:344::/64") == "2001:db8:122:344:c0:2:2100:0");
  CHECK(text("2001:db8:122:344::/96") == "2001:db8:122:344::c000:221");
  CHECK(text("64:ff9b::/96") == "64:ff9b::c000:221");
  CHECK(with("64:ff9b::1/96").prefix == Config{}.prefix);  // host bits cleared
}

TEST_CASE("no AAAA record: the A records come back as AAAA, TTL capped by the AAAA reply's SOA") {
  Fixture f;
  auto r = f.ask("v4.example.");
  CHECK(r.rcode == 0);
  CHECK_FALSE(r.aa);
  CHECK(r.answer == std::vector<std::string>{"v4.example. 100 IN AAAA 64:ff9b::c000:201",
                                             "v4.example. 60 IN AAAA 64:ff9b::c000:202"});
  // The A reply's authority section, unchanged (RFC 6147 5.3.2); the client's OPT echoed.
  REQUIRE(r.authority.size() == 1);
  CHECK(r.authority[0].starts_with("example. 3600 IN SOA ns.example. root.example."));
  CHECK(r.hasOpt);
  CHECK(f.data->asked[rr::AAAA] == 1);
  CHECK(f.data->asked[rr::A] == 1);
  CHECK(f.dns64->translated() == 1);
}

TEST_CASE("no SOA in the AAAA reply: the cap is 600, other answer records pass unchanged") {
  Fixture f;
  CHECK(f.ask("nosoa.example.").answer == std::vector<std::string>{"nosoa.example. 300 IN AAAA 64:ff9b::c000:201",
                                                                   "nosoa.example. 60 IN AAAA 64:ff9b::c000:202"});
  CHECK(f.ask("alias.example.").answer == std::vector<std::string>{"alias.example. 50 IN CNAME v4.example.",
                                                                   "v4.example. 300 IN AAAA 64:ff9b::c000:201"});
}

TEST_CASE("AAAA records present or NXDOMAIN: passed on untouched, A never asked") {
  Fixture f;
  auto both = f.ask("both.example.");
  CHECK(both.answer == std::vector<std::string>{"both.example. 300 IN AAAA 2001:db8::2"});
  CHECK(both.aa);
  auto nx = f.ask("nx.example.");
  CHECK(nx.rcode == 3);
  CHECK(nx.answer.empty());
  CHECK(f.data->asked[rr::A] == 0);
  CHECK(f.dns64->translated() == 0);
}

TEST_CASE("an error other than NXDOMAIN counts as no AAAA (RFC 6147 5.1.3)") {
  Fixture f;
  auto r = f.ask("fail.example.");
  CHECK(r.rcode == 0);
  CHECK(r.answer.size() == 2);
}

TEST_CASE("a name with neither: NOERROR, no answer, the A reply's authority") {
  Fixture f;
  auto r = f.ask("empty.example.");
  CHECK(r.rcode == 0);
  CHECK(r.answer.empty());
  REQUIRE(r.authority.size() == 1);
  CHECK(r.authority[0].starts_with("example. 100 IN SOA"));
  CHECK(f.dns64->translated() == 1);  // as CoreDNS counts: a synthesized reply, empty or not
}

TEST_CASE("translate_all replaces existing AAAA records") {
  Config c;
  c.translateAll = true;
  Fixture f(c);
  CHECK(f.ask("both.example.").answer == std::vector<std::string>{"both.example. 300 IN AAAA 64:ff9b::c000:201",
                                                                  "both.example. 60 IN AAAA 64:ff9b::c000:202"});
  CHECK(f.ask("nx.example.").rcode == 3);  // NXDOMAIN stays final
}

TEST_CASE("IPv4 clients pass through unless allow_ipv4, other types always do") {
  Fixture f;
  CHECK(f.ask("v4.example.", rr::AAAA, "127.0.0.1").authority ==
        std::vector<std::string>{"example. 100 IN SOA ns.example. root.example. 0 0 0 0 0"});
  CHECK(f.ask("v4.example.", rr::AAAA, "::ffff:127.0.0.1").answer.empty());  // mapped: IPv4
  CHECK(f.ask("v4.example.", rr::A).answer.size() == 2);
  CHECK(f.data->asked[rr::AAAA] == 2);
  CHECK(f.data->asked[rr::A] == 1);
  CHECK(f.dns64->translated() == 0);

  Config c;
  c.allowIpv4 = true;
  Fixture allow(c);
  CHECK(allow.ask("v4.example.", rr::AAAA, "127.0.0.1").answer.size() == 2);
}

TEST_CASE("both lookups may go pending: the client gets one reply once the A reply is in") {
  Fixture f;
  f.data->park = true;
  auto q = std::make_unique<dns::Query>();
  f.start(*q, "v4.example.", rr::AAAA);
  REQUIRE(f.data->parked.size() == 1);
  CHECK(f.sink.sent == 0);
  resume(*f.data->parked[0], Verdict::Answered);  // the AAAA reply: no AAAA, so A is asked
  REQUIRE(f.data->parked.size() == 2);
  CHECK(f.data->parked[1]->view.question.qtype == rr::A);
  CHECK(f.sink.sent == 0);
  resume(*f.data->parked[1], Verdict::Answered);
  REQUIRE(f.sink.sent == 1);
  CHECK(decode(f.sink.last).answer.size() == 2);
}

TEST_CASE("a dropped AAAA lookup drops the query") {
  struct Dropper final : Handler {
    Verdict onQuery(dns::Query&) override { return Verdict::Drop; }
    std::string_view name() const override { return "drop"; }
  };
  Fixture f;
  auto table = std::make_shared<RouteTable>();
  table->listeners.emplace_back();
  auto chain = std::make_shared<Chain>();
  chain->add(f.dns64);
  chain->add(std::make_shared<Dropper>());
  table->listeners[0].add(".", chain);
  f.runner.publish(table);
  auto q = std::make_unique<dns::Query>();
  f.start(*q, "v4.example.", rr::AAAA);
  CHECK(f.sink.sent == 0);
  CHECK(f.sink.dropped == 1);
}

TEST_CASE("off the end of the chain after dns64: SERVFAIL with its error, passed on") {
  Fixture f;
  auto table = std::make_shared<RouteTable>();
  table->listeners.emplace_back();
  auto chain = std::make_shared<Chain>();
  chain->add(f.dns64);
  table->listeners[0].add(".", chain);
  f.runner.publish(table);
  auto q = std::make_unique<dns::Query>();
  f.start(*q, "v4.example.", rr::AAAA);
  REQUIRE(f.sink.sent == 1);
  CHECK(decode(f.sink.last).rcode == 2);
  CHECK(q->error == "no next plugin found");
  CHECK(f.dns64->translated() == 0);
}

TEST_CASE("the whole synthesis allocates nothing once the pools are warm") {
  Fixture f;
  auto q = std::make_unique<dns::Query>();
  q->reply.reserve(4096);
  for (const char* name : {"v4.example.", "both.example.", "nx.example.", "alias.example."}) {
    CAPTURE(name);
    const auto packet = makeQuery({.name = name, .type = rr::AAAA, .edns = 1232});
    f.start(*q, packet);  // warms the subquery slots and their buffers
    testing::allocations = 0;
    testing::counting = true;
    f.start(*q, packet);
    testing::counting = false;
    CHECK(testing::allocations == 0);
  }
  CHECK(f.sink.sent == 8);
}

TEST_CASE("explain: each decision, and the A question through the whole server") {
  Fixture f;
  testing::TraceNotes notes;
  auto q = std::make_unique<dns::Query>();
  loadQuery(*q, makeQuery({.name = "v4.example.", .type = rr::AAAA}), dns::Proto::Udp, "::1");
  q->sink = &f.sink;
  q->dispatcher = &f.runner;
  q->trace = &notes;
  f.runner.dispatch(*q);
  std::string all;
  for (const auto& line : notes.lines) all += line + "\n";
  CAPTURE(all);
  CHECK(all.find("dns64: AAAA question: the plugins after dns64 answer it first") != std::string::npos);
  CHECK(all.find("subquery: the same question through the rest of the chain") != std::string::npos);
  CHECK(all.find("dns64: no AAAA record in the reply: asks the whole server for A") != std::string::npos);
  CHECK(all.find("subquery: v4.example. type 1 through the whole server") != std::string::npos);
  CHECK(all.find("dns64: not an AAAA question of class IN: passed on") != std::string::npos);  // the A one
  CHECK(all.find("dns64: 2 AAAA record(s) synthesized under 64:ff9b::/96, TTL at most 100") != std::string::npos);
}

TEST_CASE("the metric: coredns_dns64_requests_translated_total{server}, once counted") {
  Fixture f;
  std::vector<MetricSample> samples;
  f.dns64->collect(samples);
  CHECK(samples.empty());
  f.ask("v4.example.");
  f.dns64->collect(samples);
  REQUIRE(samples.size() == 1);
  CHECK(samples[0].family == "coredns_dns64_requests_translated_total");
  CHECK(samples[0].labels == std::vector<std::pair<std::string, std::string>>{{"server", "dns://:53"}});
  CHECK(samples[0].value == 1);
}

conf::Result<Config> parse(const std::string& corefile) {
  auto parsed = stanzasOf(corefile, "dns64");
  return parseConfig(parsed.stanzas);
}

TEST_CASE("setup: the README's forms") {
  auto plain = parse(". {\n    dns64\n}\n");
  REQUIRE(plain);
  CHECK(plain->prefixLength == 96);
  CHECK(plain->prefix == Config{}.prefix);
  CHECK_FALSE(plain->translateAll);
  CHECK_FALSE(plain->allowIpv4);
  auto arg = parse(". {\n    dns64 64:1337::/96\n}\n");
  REQUIRE(arg);
  CHECK(arg->prefix[1] == 0x64);
  CHECK(arg->prefix[2] == 0x13);
  auto option = parse(". {\n    dns64 {\n        prefix 64:1337::/64\n    }\n}\n");
  REQUIRE(option);
  CHECK(option->prefixLength == 64);
  auto flags = parse(". {\n    dns64 2001:db8::/32 {\n        translate_all\n        allow_ipv4\n    }\n}\n");
  REQUIRE(flags);
  CHECK(flags->translateAll);
  CHECK(flags->allowIpv4);
  CHECK(flags->prefixLength == 32);
}

TEST_CASE("setup errors, each at its place") {
  struct Case {
    std::string corefile;
    int line, col;
    std::string says;
  };
  const std::vector<Case> cases = {
      {". {\n  dns64 64:ff9b::/80\n}\n", 2, 9, "RFC 6052 allows 32, 40, 48, 56, 64 or 96"},
      {". {\n  dns64 64:ff9b::/33\n}\n", 2, 9, "invalid prefix length /33"},
      {". {\n  dns64 10.0.0.0/8\n}\n", 2, 9, "must be IPv6"},
      {". {\n  dns64 64:ff9b::\n}\n", 2, 9, "invalid CIDR address"},
      {". {\n  dns64 64:ff9b:0:0:ff00::/96\n}\n", 2, 9, "bits 64 to 71"},
      {". {\n  dns64 a b\n}\n", 2, 11, "dns64"},
      {". {\n  dns64 {\n    prefix\n  }\n}\n", 3, 5, "dns64"},
      {". {\n  dns64 {\n    prefix 64:ff9b::/100\n  }\n}\n", 3, 12, "invalid prefix length"},
      {". {\n  dns64 {\n    translate_al\n  }\n}\n", 3, 5, "did you mean 'translate_all'"},
      {". {\n  dns64 {\n    allow_ipv4 yes\n  }\n}\n", 3, 16, "dns64"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    auto r = parse(c.corefile);
    REQUIRE_FALSE(r);
    CHECK(r.error().pos.line == c.line);
    CHECK(r.error().pos.col == c.col);
    CHECK_MESSAGE(r.error().message.find(c.says) != std::string::npos, r.error().message);
  }
}

}  // namespace
}  // namespace moat::plugins::dns64
