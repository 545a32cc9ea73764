#include "dns/message.hpp"

#include <doctest/doctest.h>

#include "dns/name.hpp"
#include "dns/reply_fit.hpp"
#include "tests/support/dns_test_util.hpp"

using namespace moat;
using moat::testing::decode;
using moat::testing::makeQuery;

TEST_CASE("startReply keeps ID, question spelling, RD, sets QR, AA, rcode") {
  auto pkt = makeQuery({.name = "WWW.example.org.", .id = 4242});
  dns::QueryView v;
  REQUIRE(dns::parseQuery(pkt, v) == dns::ParseStatus::Ok);
  std::vector<uint8_t> out;
  dns::MessageWriter w(out);
  w.startReply(pkt, v, dns::RCode::NoError, true);
  const uint8_t addr[4] = {192, 0, 2, 1};
  w.addRR(dns::Section::Answer, v.question.lowerName(), dns::rrtype::A, dns::rrclass::IN, 3600, addr);
  auto r = decode(out);
  REQUIRE(r.ok);
  CHECK(r.id == 4242);
  CHECK(r.qr);
  CHECK(r.aa);
  CHECK(r.rd);
  CHECK_FALSE(r.ra);
  CHECK(r.rcode == 0);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0] == "www.example.org. 3600 IN A 192.0.2.1");
  CHECK(out[13] == 'W');  // question as the client wrote it
  // Uncompressed: 12 + question(17+4) + owner 17 + 10 + 4.
  CHECK(out.size() == 12 + 21 + 17 + 10 + 4);
}

TEST_CASE("error replies: with a question, and from a bare header") {
  auto pkt = makeQuery({.name = "example.org.", .id = 9});
  dns::QueryView v;
  REQUIRE(dns::parseQuery(pkt, v) == dns::ParseStatus::Ok);
  std::vector<uint8_t> out;
  dns::writeErrorReply(out, pkt, &v, dns::RCode::Refused);
  auto r = decode(out);
  CHECK(r.rcode == 5);
  CHECK(r.id == 9);
  CHECK_FALSE(r.aa);
  CHECK(out.size() == pkt.size());

  dns::writeErrorReply(out, pkt, nullptr, dns::RCode::FormErr);
  CHECK(out.size() == 12);
  CHECK(dns::get16(out.data()) == 9);
  CHECK((out[3] & 0x0F) == 1);
}

TEST_CASE("appendOpt adds one OPT and hasOpt sees it") {
  auto pkt = makeQuery({.name = "example.org."});
  dns::QueryView v;
  REQUIRE(dns::parseQuery(pkt, v) == dns::ParseStatus::Ok);
  std::vector<uint8_t> out;
  dns::MessageWriter(out).startReply(pkt, v, dns::RCode::NoError, false);
  CHECK_FALSE(dns::hasOpt(out));
  dns::appendOpt(out, 1232, true);
  CHECK(dns::hasOpt(out));
  auto r = decode(out);
  CHECK(r.hasOpt);
  CHECK(r.optUdpSize == 1232);
}

TEST_CASE("answers move between messages with their compressed names expanded") {
  // A forwarded-style reply: CNAME + A, compressed by ldns.
  auto pkt = makeQuery({.name = "www.example.org."});
  dns::QueryView v;
  REQUIRE(dns::parseQuery(pkt, v) == dns::ParseStatus::Ok);
  std::vector<uint8_t> src;
  dns::MessageWriter w(src);
  w.startReply(pkt, v, dns::RCode::NoError, false);
  auto target = *dns::nameFromText("web.example.org.");
  w.addRR(dns::Section::Answer, v.question.lowerName(), dns::rrtype::CNAME, dns::rrclass::IN, 300, target);
  const uint8_t addr[4] = {192, 0, 2, 80};
  w.addRR(dns::Section::Answer, target, dns::rrtype::A, dns::rrclass::IN, 60, addr);
  REQUIRE(dns::compressMessage(src));
  REQUIRE(src.size() < 12 + 21 + (17 + 10 + 17) + (17 + 10 + 4));  // pointers in use

  auto other = makeQuery({.name = "svc.cluster.local.", .type = dns::rrtype::A});
  dns::QueryView ov;
  REQUIRE(dns::parseQuery(other, ov) == dns::ParseStatus::Ok);
  std::vector<uint8_t> dst;
  dns::MessageWriter out(dst);
  out.startReply(other, ov, dns::RCode::NoError, true);
  CHECK(dns::appendAnswersExpanded(out, src, dns::Section::Answer) == 2);
  auto r = decode(dst);
  REQUIRE(r.answer.size() == 2);
  CHECK(r.answer[0] == "www.example.org. 300 IN CNAME web.example.org.");
  CHECK(r.answer[1] == "web.example.org. 60 IN A 192.0.2.80");

  std::vector<uint8_t> broken = src;
  broken.resize(broken.size() - 3);
  size_t before = dst.size();
  CHECK(dns::appendAnswersExpanded(out, broken, dns::Section::Answer) == -1);
  CHECK(dst.size() == before);
}

TEST_CASE("readName follows pointers and rejects loops") {
  std::vector<uint8_t> msg = {3, 'f', 'o', 'o', 0, 3, 'b', 'a', 'r', 0xC0, 0};
  std::vector<uint8_t> out;
  CHECK(dns::readName(msg, 5, out) == 11);
  CHECK(dns::nameToText(out) == "bar.foo.");
  std::vector<uint8_t> loop = {0xC0, 0};
  CHECK(dns::readName(loop, 0, out) == 0);
}
