#include <doctest/doctest.h>

#include "tests/support/plugin_test_util.hpp"

#include <memory>

#include "conf/parser.hpp"
#include "plugins/whoami/whoami.hpp"
#include "tests/support/dns_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::whoami {
namespace {

using moat::testing::stanzasOf;

struct Answered {
  Verdict verdict;
  testing::Reply reply;
  size_t size;
};

Answered ask(const testing::QuerySpec& spec, dns::Proto proto, std::string_view ip, uint16_t port) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery(spec), proto, ip, port);
  WhoamiHandler h;
  Verdict v = h.onQuery(*q);
  return {v, testing::decode(q->reply), q->reply.size()};
}

TEST_CASE("IPv4 client over UDP") {
  auto a = ask({.name = "example.org.", .id = 77}, dns::Proto::Udp, "10.0.0.9", 40000);
  CHECK(a.verdict == Verdict::Answered);
  REQUIRE(a.reply.ok);
  CHECK(a.reply.id == 77);
  CHECK(a.reply.rcode == 0);
  CHECK(a.reply.qr);
  CHECK(a.reply.aa);
  CHECK(a.reply.rd);
  CHECK_FALSE(a.reply.tc);
  CHECK(a.reply.answer.empty());
  CHECK(a.reply.authority.empty());
  REQUIRE(a.reply.additional.size() == 2);
  CHECK(a.reply.additional[0] == "example.org. 0 IN A 10.0.0.9");
  CHECK(a.reply.additional[1] == "_udp.example.org. 0 IN SRV 0 0 40000 .");
}

TEST_CASE("IPv6 client over TCP") {
  auto a = ask({.name = "example.org.", .type = dns::rrtype::AAAA}, dns::Proto::Tcp,
               "2001:db8::53", 53123);
  CHECK(a.verdict == Verdict::Answered);
  REQUIRE(a.reply.additional.size() == 2);
  CHECK(a.reply.additional[0] == "example.org. 0 IN AAAA 2001:db8::53");
  CHECK(a.reply.additional[1] == "_tcp.example.org. 0 IN SRV 0 0 53123 .");
}

TEST_CASE("IPv4 client on a dual-stack socket gets an A record") {
  auto a = ask({.name = "example.org."}, dns::Proto::Udp, "::ffff:192.0.2.7", 1);
  REQUIRE(a.reply.additional.size() == 2);
  CHECK(a.reply.additional[0] == "example.org. 0 IN A 192.0.2.7");
  CHECK(a.reply.additional[1] == "_udp.example.org. 0 IN SRV 0 0 1 .");
}

TEST_CASE("the qname keeps the client's spelling, any qtype is answered the same way") {
  auto a = ask({.name = "Example.ORG.", .type = dns::rrtype::TXT}, dns::Proto::Udp, "127.0.0.1", 5353);
  REQUIRE(a.reply.additional.size() == 2);
  CHECK(a.reply.additional[0] == "Example.ORG. 0 IN A 127.0.0.1");
  CHECK(a.reply.additional[1] == "_udp.Example.ORG. 0 IN SRV 0 0 5353 .");
}

TEST_CASE("root qname: the SRV owner is _udp.") {
  auto a = ask({.name = "."}, dns::Proto::Udp, "127.0.0.1", 40000);
  REQUIRE(a.reply.additional.size() == 2);
  CHECK(a.reply.additional[0] == ". 0 IN A 127.0.0.1");
  CHECK(a.reply.additional[1] == "_udp. 0 IN SRV 0 0 40000 .");
}

TEST_CASE("records carry the query's class") {
  auto a = ask({.name = "example.org.", .klass = dns::rrclass::CH}, dns::Proto::Udp, "127.0.0.1", 9);
  REQUIRE(a.reply.additional.size() == 2);
  CHECK(a.reply.additional[0] == "example.org. 0 CH A 127.0.0.1");
  CHECK(a.reply.additional[1] == "_udp.example.org. 0 CH SRV 0 0 9 .");
}

TEST_CASE("RD is echoed, not invented, the reply has the expected wire size") {
  auto a = ask({.name = "example.org.", .rd = false}, dns::Proto::Udp, "127.0.0.1", 40000);
  CHECK_FALSE(a.reply.rd);
  // header 12 + question 17 + A (13+10+4) + SRV (18+10+7)
  CHECK(a.size == 12 + 17 + 27 + 35);
}

TEST_CASE("a qname too long for the SRV owner gets no reply, as CoreDNS") {
  std::string longName;
  for (int i = 0; i < 4; ++i) longName += std::string(62, 'a') + ".";  // 4*63 + 1 = 253 bytes
  auto a = ask({.name = longName}, dns::Proto::Udp, "127.0.0.1", 40000);
  CHECK(a.verdict == Verdict::Drop);
}

TEST_CASE("setup: no arguments, no block") {
  SetupContext ctx;
  auto ok = stanzasOf(". {\n  whoami\n}\n", "whoami");
  ctx.stanzas = ok.stanzas;
  auto h = setupWhoami(ctx);
  REQUIRE(h.ok());
  CHECK((*h)->name() == "whoami");
  CHECK_FALSE((*h)->observesReplies());

  auto arg = stanzasOf(". {\n  whoami extra\n}\n", "whoami");
  ctx.stanzas = arg.stanzas;
  auto e1 = setupWhoami(ctx);
  REQUIRE_FALSE(e1.ok());
  CHECK(e1.error().str() == "Corefile:2:10: whoami: 'whoami' takes no arguments, got 1");

  auto blk = stanzasOf(". {\n  whoami {\n  }\n}\n", "whoami");
  ctx.stanzas = blk.stanzas;
  auto e2 = setupWhoami(ctx);
  REQUIRE_FALSE(e2.ok());
  CHECK(e2.error().str() == "Corefile:2:3: whoami: 'whoami' takes no block");
}

}  // namespace
}  // namespace moat::plugins::whoami
