#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <set>

#include "plugins/chaos/chaos.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::chaos {
namespace {

using moat::testing::stanzasOf;

const Config kConfig{"CoreDNS-001", {"info@coredns.io", "Miek Gieben"}};

struct Answered {
  Verdict verdict;
  testing::Reply reply;
};

Answered ask(ChaosHandler& h, const std::string& name, uint16_t type = dns::rrtype::TXT,
             uint16_t klass = dns::rrclass::CH, unsigned worker = 0) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = name, .type = type, .klass = klass, .id = 7}));
  q->worker = worker;
  Verdict v = h.onQuery(*q);
  return {v, v == Verdict::Answered ? testing::decode(q->reply) : testing::Reply{}};
}

std::string txt(const std::string& owner, const std::string& text) {
  return owner + " 0 CH TXT \"" + text + "\"";
}

TEST_CASE("version.bind and version.server: the version, TTL 0, class CH, not authoritative") {
  ChaosHandler h(kConfig, "ns1.example", 1, 42);
  for (const char* name : {"version.bind.", "version.server."}) {
    CAPTURE(name);
    auto a = ask(h, name);
    REQUIRE(a.verdict == Verdict::Answered);
    REQUIRE(a.reply.ok);
    CHECK(a.reply.id == 7);
    CHECK(a.reply.rcode == 0);
    CHECK(a.reply.qr);
    CHECK_FALSE(a.reply.aa);
    CHECK(a.reply.answer == std::vector<std::string>{txt(name, "CoreDNS-001")});
    CHECK(a.reply.authority.empty());
    CHECK(a.reply.additional.empty());
  }
}

TEST_CASE("hostname.bind and id.server: the host's name") {
  ChaosHandler h(kConfig, "ns1.example", 1, 42);
  CHECK(ask(h, "hostname.bind.").reply.answer == std::vector<std::string>{txt("hostname.bind.", "ns1.example")});
  CHECK(ask(h, "id.server.").reply.answer == std::vector<std::string>{txt("id.server.", "ns1.example")});
}

TEST_CASE("names match whatever their case, the owner keeps the client's spelling") {
  ChaosHandler h(kConfig, "ns1.example", 1, 42);
  CHECK(ask(h, "VERSION.Bind.").reply.answer == std::vector<std::string>{txt("VERSION.Bind.", "CoreDNS-001")});
  CHECK(ask(h, "Id.SERVER.").reply.answer == std::vector<std::string>{txt("Id.SERVER.", "ns1.example")});
}

TEST_CASE("authors.bind: one TXT per author, every author once, in a random order") {
  Config many{"v", {}};
  for (char c = 'a'; c <= 'h'; ++c) many.authors.push_back(std::string("author-") + c);
  ChaosHandler h(many, "host", 2, 42);
  std::vector<std::string> sorted;
  for (const std::string& a : many.authors) sorted.push_back(txt("authors.bind.", a));
  std::set<std::vector<std::string>> orders;
  for (unsigned i = 0; i < 64; ++i) {
    auto a = ask(h, "authors.bind.", dns::rrtype::TXT, dns::rrclass::CH, i % 2);
    REQUIRE(a.verdict == Verdict::Answered);
    std::vector<std::string> answer = a.reply.answer;
    orders.insert(answer);
    std::sort(answer.begin(), answer.end());
    CHECK(answer == sorted);
  }
  // The seed is fixed, so the orders drawn are the same on every run: nothing here is luck.
  CHECK(orders.size() > 1);
  // A worker the handler was not built for (none in practice) gets the sorted list.
  auto outside = ask(h, "authors.bind.", dns::rrtype::TXT, dns::rrclass::CH, 9);
  CHECK(outside.reply.answer == sorted);
}

TEST_CASE("everything else passes to the next plugin") {
  ChaosHandler h(kConfig, "host", 1, 42);
  CHECK(ask(h, "version.bind.", dns::rrtype::TXT, dns::rrclass::IN).verdict == Verdict::Next);
  CHECK(ask(h, "version.bind.", dns::rrtype::A).verdict == Verdict::Next);
  CHECK(ask(h, "authors.bind.", dns::rrtype::SRV).verdict == Verdict::Next);  // CoreDNS's own test
  CHECK(ask(h, "version.bind.", dns::rrtype::ANY).verdict == Verdict::Next);
  for (const char* other : {"bind.", "foo.bind.", "x.version.bind.", "version.bind.example.", "id.bind.",
                            "hostname.server.", "."}) {
    CAPTURE(other);
    CHECK(ask(h, other).verdict == Verdict::Next);
  }
}

TEST_CASE("answers allocate nothing") {
  ChaosHandler h(kConfig, "host", 1, 42);
  for (const char* name : {"version.bind.", "authors.bind.", "hostname.bind.", "foo.bind."}) {
    CAPTURE(name);
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, testing::makeQuery({.name = name, .type = dns::rrtype::TXT,
                                               .klass = dns::rrclass::CH, .edns = 1232}));
    q->reply.reserve(512);
    testing::allocations = 0;
    testing::counting = true;
    h.onQuery(*q);
    testing::counting = false;
    CHECK(testing::allocations == 0);
  }
}

Config parse(const char* corefile) {
  auto parsed = stanzasOf(corefile, "chaos");
  auto config = parseConfig(*parsed.stanzas.front());
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().str()));
  return *config;
}

TEST_CASE("parse: defaults, a version, then authors sorted without duplicates") {
  Config none = parse(". {\n  chaos\n}\n");
  CHECK(none.version == "Moat-0.1.0");
  CHECK(none.authors == std::vector<std::string>{"Moat"});

  Config version = parse(". {\n  chaos v2\n}\n");
  CHECK(version.version == "v2");
  CHECK(version.authors == std::vector<std::string>{"Moat"});  // CoreDNS keeps its default too

  Config both = parse(". {\n  chaos v3 \"Miek Gieben\" bob alice bob\n}\n");
  CHECK(both.version == "v3");
  CHECK(both.authors == std::vector<std::string>{"Miek Gieben", "alice", "bob"});

  CHECK(parse(". {\n  chaos v4 {\n  }\n}\n").version == "v4");  // an empty block is fine

  // A TXT string holds 255 bytes: longer values are cut there, as CoreDNS cuts them.
  const std::string longText(300, 'x');
  Config cut = parse((". {\n  chaos " + longText + " " + longText + "\n}\n").c_str());
  CHECK(cut.version == std::string(255, 'x'));
  CHECK(cut.authors == std::vector<std::string>{std::string(255, 'x')});
}

TEST_CASE("parse: errors with their position") {
  auto parsed = stanzasOf(". {\n  chaos v2 {\n    unknown\n  }\n}\n", "chaos");
  auto option = parseConfig(*parsed.stanzas.front());
  REQUIRE_FALSE(option.ok());
  CHECK(option.error().str() == "Corefile:3:5: chaos: unknown property 'unknown': 'chaos' takes no options");

  // More authors than one message can carry: refused at load, not found at the first query.
  std::string corefile = ". {\n  chaos v";
  for (int i = 0; i < 300; ++i) corefile += " " + std::to_string(i) + std::string(250, 'a');
  corefile += "\n}\n";
  auto big = stanzasOf(corefile, "chaos");
  auto tooMany = parseConfig(*big.stanzas.front());
  REQUIRE_FALSE(tooMany.ok());
  CHECK(tooMany.error().str().rfind("Corefile:2:11: chaos: the 300 authors make a reply of ", 0) == 0);
}

TEST_CASE("setup: only the first chaos of a block counts, as in CoreDNS, the others warn") {
  auto parsed = stanzasOf(". {\n  chaos v1\n  chaos v2 {\n    bogus\n  }\n}\n", "chaos");
  std::vector<conf::Diag> warnings;
  SetupContext ctx;
  ctx.stanzas = parsed.stanzas;
  ctx.warnings = &warnings;
  auto h = setupChaos(ctx);
  REQUIRE(h.ok());
  CHECK((*h)->name() == "chaos");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].severity == conf::Severity::Warning);
  CHECK(warnings[0].str() == "Corefile:3:3: chaos: ignored, as CoreDNS ignores it: only the block's first 'chaos' (at 2:3) counts");
  auto a = testing::ask(**h, "version.bind.", dns::rrtype::TXT);  // class IN: not chaos's
  CHECK(a.verdict == Verdict::Next);
}

}  // namespace
}  // namespace moat::plugins::chaos
