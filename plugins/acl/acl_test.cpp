// The acl handler on single queries: which policy decides (first match wins, within a rule and
// across rules, zones and types and networks), and the exact reply CoreDNS writes for each
// action, OPT record and extended DNS error included.
#include <doctest/doctest.h>

#include <string>

#include "plugins/acl/test_support.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::acl {
namespace {

using testing::Ask;
using testing::ask;
using testing::build;
namespace rr = dns::rrtype;

// What a query got: "allow" (passed on), "block", "filter" or "drop", read from the verdict and
// the reply, so a case table can say it in one word.
std::string outcome(Acl& h, const Ask& a) {
  auto r = ask(h, a);
  if (r.verdict == Verdict::Next) return "allow";
  if (r.verdict == Verdict::Drop) return "drop";
  REQUIRE(r.verdict == Verdict::Answered);
  auto ede = moat::testing::extendedError(r.reply);
  if (r.reply.rcode == 5 && ede == kEdeBlocked) return "block";
  if (r.reply.rcode == 0 && ede == kEdeFiltered) return "filter";
  return "unexpected rcode " + std::to_string(r.reply.rcode);
}

TEST_CASE("first match wins inside a rule, no match means allow") {
  auto b = build(R"(. {
  acl {
    allow net 192.168.1.0/24
    block net 192.168.0.0/16
    filter type AAAA
    drop net 10.0.0.0/8
  }
})");
  Acl& h = *b->handler;
  struct Case {
    const char* client;
    uint16_t type;
    const char* expected;
  };
  const Case cases[] = {
      {"192.168.1.5", rr::A, "allow"},     // the allow before the wider block wins
      {"192.168.2.5", rr::A, "block"},
      {"192.168.2.5", rr::AAAA, "block"},  // block is listed before filter
      {"10.1.1.1", rr::AAAA, "filter"},    // filter is listed before drop
      {"10.1.1.1", rr::A, "drop"},
      {"172.16.0.1", rr::A, "allow"},      // nothing matches: the default
      {"172.16.0.1", rr::AAAA, "filter"},
      {"::1", rr::A, "allow"},
      {"::1", rr::AAAA, "filter"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.client);
    CAPTURE(c.type);
    CHECK(outcome(h, {.type = c.type, .client = c.client}) == c.expected);
  }
}

TEST_CASE("rules: the first whose zones hold the name and that has a matching policy decides, allow ends the search") {
  auto b = build(R"(example.org {
  acl a.example.org {
    allow net 10.0.0.1
    block type TXT
  }
  acl {
    block net 10.0.0.0/8
  }
  acl b.example.org {
    drop
  }
})", {"example.org."});
  Acl& h = *b->handler;
  // a.example.org: 10.0.0.1 is allowed by the first rule, and allow stops there.
  CHECK(outcome(h, {.name = "x.a.example.org.", .client = "10.0.0.1"}) == "allow");
  // The first rule has no policy for 10.0.0.2 asking A: the second rule blocks it.
  CHECK(outcome(h, {.name = "x.a.example.org.", .client = "10.0.0.2"}) == "block");
  CHECK(outcome(h, {.name = "a.example.org.", .type = rr::TXT, .client = "127.0.0.1"}) == "block");
  CHECK(outcome(h, {.name = "a.example.org.", .client = "127.0.0.1"}) == "allow");
  // b.example.org is only in the second and third rules.
  CHECK(outcome(h, {.name = "b.example.org.", .client = "10.0.0.1"}) == "block");
  CHECK(outcome(h, {.name = "b.example.org.", .client = "127.0.0.1"}) == "drop");
  CHECK(outcome(h, {.name = "c.example.org.", .client = "127.0.0.1"}) == "allow");
  // Outside every rule's zones nothing applies, whoever asks.
  CHECK(outcome(h, {.name = "example.net.", .client = "10.0.0.2"}) == "allow");
}

TEST_CASE("zones: a name matches at or below the zone, case-insensitively, reverse zones from CIDRs") {
  auto b = build(". {\n  acl example.org 10.0.0.0/8 {\n    block\n  }\n}\n");
  Acl& h = *b->handler;
  CHECK(outcome(h, {.name = "example.org."}) == "block");
  CHECK(outcome(h, {.name = "WWW.Example.ORG."}) == "block");
  CHECK(outcome(h, {.name = "notexample.org."}) == "allow");
  CHECK(outcome(h, {.name = "org."}) == "allow");
  CHECK(outcome(h, {.name = "1.2.3.10.in-addr.arpa.", .type = rr::PTR}) == "block");
  CHECK(outcome(h, {.name = "1.2.3.11.in-addr.arpa.", .type = rr::PTR}) == "allow");
}

TEST_CASE("types and `*`: listed types only, every type with `*` or without a type section") {
  auto b = build(R"(. {
  acl {
    filter type A CAA net 10.0.0.0/8
    block type * net 192.0.2.0/24
    drop net 198.51.100.0/24
  }
})");
  Acl& h = *b->handler;
  CHECK(outcome(h, {.type = rr::A, .client = "10.2.3.4"}) == "filter");
  CHECK(outcome(h, {.type = 257, .client = "10.2.3.4"}) == "filter");  // CAA, a type past 255
  CHECK(outcome(h, {.type = rr::AAAA, .client = "10.2.3.4"}) == "allow");
  CHECK(outcome(h, {.type = rr::MX, .client = "192.0.2.1"}) == "block");
  CHECK(outcome(h, {.type = 65535, .client = "192.0.2.1"}) == "block");
  CHECK(outcome(h, {.type = rr::TXT, .client = "198.51.100.7"}) == "drop");
}

TEST_CASE("`net *` and IPv6 networks, an IPv4 network never matches an IPv6 client") {
  auto b = build(R"(. {
  acl {
    allow net ::1 2001:db8::/32
    block net 0.0.0.0/0
    filter net *
  }
})");
  Acl& h = *b->handler;
  CHECK(outcome(h, {.client = "::1"}) == "allow");
  CHECK(outcome(h, {.client = "2001:db8:1::1"}) == "allow");
  CHECK(outcome(h, {.client = "127.0.0.1"}) == "block");
  CHECK(outcome(h, {.client = "::2"}) == "filter");  // not in 0.0.0.0/0, but in `*`
  CHECK(outcome(h, {.client = "fe80::1"}) == "filter");
}

TEST_CASE("block: REFUSED, the question echoed, an OPT with EDE 15, no text, 4096 and DO without a client OPT") {
  auto b = build(". {\n  acl {\n    block\n  }\n}\n");
  auto r = ask(*b->handler, {.name = "Www.Example.org.", .type = rr::AAAA});
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.rcode == 5);
  CHECK(r.reply.qr);
  CHECK(r.reply.rd);  // copied from the query, as miekg/dns's SetReply
  CHECK_FALSE(r.reply.aa);
  CHECK_FALSE(r.reply.ra);
  CHECK(r.reply.id == 0x1234);
  CHECK(r.reply.answer.empty());
  CHECK(r.reply.authority.empty());
  CHECK(r.reply.hasOpt);
  CHECK(r.reply.optUdpSize == 4096);
  CHECK(r.reply.optDo);
  std::string text = "unset";
  CHECK(moat::testing::extendedError(r.reply, &text) == kEdeBlocked);
  CHECK(text.empty());

  // Byte for byte: header, the question as the client spelled it, then the OPT RR:
  // root owner, type 41, class = UDP size, TTL 0x00008000 (DO), RDLENGTH 6, option 15 len 2 code 15.
  const std::vector<uint8_t> query = moat::testing::makeQuery({.name = "Www.Example.org.", .type = rr::AAAA});
  std::vector<uint8_t> expected = query;
  expected[2] = 0x81;  // QR, RD
  expected[3] = 0x05;  // REFUSED
  expected[11] = 1;    // ARCOUNT
  const uint8_t opt[] = {0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 6, 0, 15, 0, 2, 0, 15};
  expected.insert(expected.end(), std::begin(opt), std::end(opt));
  CHECK(r.wire == expected);
}

TEST_CASE("filter: NOERROR, no records but an OPT with EDE 17") {
  auto b = build(". {\n  acl {\n    filter\n  }\n}\n");
  auto r = ask(*b->handler, {.type = rr::MX});
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.rcode == 0);
  CHECK_FALSE(r.reply.aa);
  CHECK(r.reply.answer.empty());
  CHECK(r.reply.authority.empty());
  CHECK(r.reply.additional.empty());  // ldns lists the OPT apart
  CHECK(moat::testing::extendedError(r.reply) == kEdeFiltered);
  CHECK(r.reply.optUdpSize == 4096);
  CHECK(r.reply.optDo);
}

TEST_CASE("the OPT follows the client's: its UDP size (as written) with DO set whether the client set it or not") {
  auto b = build(". {\n  acl {\n    block\n  }\n}\n");
  for (uint16_t size : {uint16_t{1232}, uint16_t{512}, uint16_t{100}, uint16_t{65535}}) {
    for (bool dnssecOk : {false, true}) {
      CAPTURE(size);
      CAPTURE(dnssecOk);
      auto r = ask(*b->handler, {.edns = size, .dnssecOk = dnssecOk});
      REQUIRE(r.verdict == Verdict::Answered);
      CHECK(r.reply.optUdpSize == size);
      CHECK(r.reply.optDo);
      CHECK(r.reply.ednsOptions.size() == 1);
      CHECK(moat::testing::extendedError(r.reply) == kEdeBlocked);
    }
  }
}

TEST_CASE("the opcode and CD follow miekg/dns's SetReply, the RD bit is copied, not set") {
  auto b = build(". {\n  acl {\n    block\n  }\n}\n");
  dns::Query q;
  std::vector<uint8_t> packet = moat::testing::makeQuery({.name = "example.org.", .rd = false});
  packet[3] |= 0x10;  // CD
  moat::testing::loadQuery(q, packet);
  REQUIRE(b->handler->onQuery(q) == Verdict::Answered);
  CHECK(q.reply[2] == 0x80);  // QR only
  CHECK(q.reply[3] == 0x15);  // CD, REFUSED
}

TEST_CASE("a client address that cannot be read is blocked in the rules' zones, as CoreDNS does") {
  auto b = build(". {\n  acl example.org {\n    allow\n  }\n}\n");
  dns::Query q;
  moat::testing::loadQuery(q, moat::testing::makeQuery({.name = "example.org."}));
  q.client = dns::Endpoint{};  // no family: what CoreDNS's net.ParseIP fails on
  CHECK(b->handler->onQuery(q) == Verdict::Answered);
  CHECK(moat::testing::extendedError(moat::testing::decode(q.reply)) == kEdeBlocked);
  moat::testing::loadQuery(q, moat::testing::makeQuery({.name = "example.net."}));
  q.client = dns::Endpoint{};
  CHECK(b->handler->onQuery(q) == Verdict::Next);  // outside the rule's zones
}

TEST_CASE("explain: the deciding rule is noted with its position") {
  auto b = build(". {\n  acl example.org {\n    block net 127.0.0.2\n  }\n}\n");
  moat::testing::TraceNotes notes;
  dns::Query q;
  moat::testing::loadQuery(q, moat::testing::makeQuery({.name = "www.example.org."}), dns::Proto::Udp, "127.0.0.2");
  q.trace = &notes;
  CHECK(b->handler->onQuery(q) == Verdict::Answered);
  REQUIRE(notes.lines.size() == 1);
  CHECK(notes.lines[0] ==
        "acl: client 127.0.0.2, type A matches 'block' at Corefile:3:5 (rule zone example.org.) -> REFUSED, "
        "extended error 15 (Blocked)");
}

}  // namespace
}  // namespace moat::plugins::acl
