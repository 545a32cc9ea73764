#include <doctest/doctest.h>

#include <memory>

#include "plugins/any/any.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::any {
namespace {

using moat::testing::stanzasOf;

struct Answered {
  Verdict verdict;
  testing::Reply reply;
};

Answered ask(const testing::QuerySpec& spec) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery(spec));
  AnyHandler h;
  Verdict v = h.onQuery(*q);
  return {v, v == Verdict::Answered ? testing::decode(q->reply) : testing::Reply{}};
}

TEST_CASE("an ANY query gets one HINFO, CoreDNS's record, and goes no further") {
  auto a = ask({.name = "example.org.", .type = dns::rrtype::ANY, .id = 8482});
  REQUIRE(a.verdict == Verdict::Answered);
  REQUIRE(a.reply.ok);
  CHECK(a.reply.id == 8482);
  CHECK(a.reply.rcode == 0);
  CHECK(a.reply.qr);
  CHECK_FALSE(a.reply.aa);  // CoreDNS's reply is not authoritative
  CHECK(a.reply.rd);
  CHECK(a.reply.answer == std::vector<std::string>{"example.org. 8482 IN HINFO \"ANY obsoleted\" \"See RFC 8482\""});
  CHECK(a.reply.authority.empty());
  CHECK(a.reply.additional.empty());
}

TEST_CASE("the owner keeps the client's spelling, the class is IN whatever was asked") {
  auto a = ask({.name = "WwW.Example.ORG.", .type = dns::rrtype::ANY, .klass = dns::rrclass::CH, .rd = false});
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK_FALSE(a.reply.rd);
  CHECK(a.reply.answer == std::vector<std::string>{"WwW.Example.ORG. 8482 IN HINFO \"ANY obsoleted\" \"See RFC 8482\""});
  auto root = ask({.name = ".", .type = dns::rrtype::ANY});
  CHECK(root.reply.answer == std::vector<std::string>{". 8482 IN HINFO \"ANY obsoleted\" \"See RFC 8482\""});
}

TEST_CASE("every other type passes to the next plugin") {
  for (uint16_t type : {dns::rrtype::A, dns::rrtype::AAAA, dns::rrtype::MX, dns::rrtype::TXT,
                        dns::rrtype::CNAME, dns::rrtype::HINFO, dns::rrtype::AXFR, dns::rrtype::IXFR}) {
    CAPTURE(type);
    CHECK(ask({.name = "example.org.", .type = type}).verdict == Verdict::Next);
  }
}

TEST_CASE("the answer allocates nothing") {
  AnyHandler h;
  for (uint16_t type : {dns::rrtype::ANY, dns::rrtype::A}) {
    CAPTURE(type);
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, testing::makeQuery({.name = "example.org.", .type = type, .edns = 1232}));
    q->reply.reserve(512);
    testing::allocations = 0;
    testing::counting = true;
    h.onQuery(*q);
    testing::counting = false;
    CHECK(testing::allocations == 0);
  }
}

TEST_CASE("setup: no arguments, no options, an empty block or a repeated line is fine") {
  SetupContext ctx;
  for (const char* fine : {". {\n  any\n}\n", ". {\n  any {\n  }\n}\n", ". {\n  any\n  any\n}\n"}) {
    CAPTURE(fine);
    auto parsed = stanzasOf(fine, "any");
    ctx.stanzas = parsed.stanzas;
    auto h = setupAny(ctx);
    REQUIRE(h.ok());
    CHECK((*h)->name() == "any");
    CHECK_FALSE((*h)->observesReplies());
  }

  struct Bad {
    const char* corefile;
    const char* error;
  };
  const Bad bad[] = {
      {". {\n  any example.org\n}\n", "Corefile:2:7: any: 'any' takes no arguments, got 1"},
      {". {\n  any {\n    foo bar\n  }\n}\n", "Corefile:3:5: any: unknown property 'foo': 'any' takes no options"},
      {". {\n  any\n  any x\n}\n", "Corefile:3:7: any: 'any' takes no arguments, got 1"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.corefile);
    auto parsed = stanzasOf(b.corefile, "any");
    ctx.stanzas = parsed.stanzas;
    auto h = setupAny(ctx);
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().str() == b.error);
  }
}

}  // namespace
}  // namespace moat::plugins::any
