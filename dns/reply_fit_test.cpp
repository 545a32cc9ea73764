#include "dns/reply_fit.hpp"

#include <doctest/doctest.h>

#include "dns/message.hpp"
#include "tests/support/dns_test_util.hpp"

using namespace moat;
using moat::testing::decode;
using moat::testing::makeQuery;

namespace {

// A reply with `n` A records for the question name, written uncompressed.
std::vector<uint8_t> bigReply(const std::vector<uint8_t>& pkt, dns::QueryView& v, int n) {
  REQUIRE(dns::parseQuery(pkt, v) == dns::ParseStatus::Ok);
  std::vector<uint8_t> out;
  dns::MessageWriter w(out);
  w.startReply(pkt, v, dns::RCode::NoError, true);
  for (int i = 0; i < n; ++i) {
    const uint8_t addr[4] = {10, 0, static_cast<uint8_t>(i / 256), static_cast<uint8_t>(i % 256)};
    w.addRR(dns::Section::Answer, v.question.lowerName(), dns::rrtype::A, dns::rrclass::IN, 60, addr);
  }
  return out;
}

}  // namespace

TEST_CASE("a reply that fits is left alone, EDNS is echoed") {
  auto pkt = makeQuery({.name = "svc.example.org.", .edns = 1232, .dnssecOk = true});
  dns::QueryView v;
  auto reply = bigReply(pkt, v, 2);
  size_t before = reply.size();
  dns::finalizeReply(reply, v, dns::Proto::Udp);
  CHECK(reply.size() == before + 11);
  auto r = decode(reply);
  CHECK(r.hasOpt);
  CHECK(r.optUdpSize == 1232);
  CHECK_FALSE(r.tc);
  CHECK(r.answer.size() == 2);
}

// Found by fuzz/wire_reply (fuzz/regressions/wire_reply/): the OPT was appended after bytes an
// upstream left past the last record, so a client read those bytes as a record.
TEST_CASE("the echoed OPT follows the last record, not bytes left after it") {
  auto pkt = makeQuery({.name = "svc.example.org.", .edns = 1232});
  dns::QueryView v;
  auto reply = bigReply(pkt, v, 2);
  const size_t end = reply.size();
  reply.insert(reply.end(), {0, 0, 0, 0, 0, 0, 0, 0, 0x26});
  dns::finalizeReply(reply, v, dns::Proto::Udp);
  CHECK(reply.size() == end + 11);
  CHECK(dns::hasOpt(reply));
  auto r = decode(reply);
  REQUIRE(r.ok);
  CHECK(r.answer.size() == 2);
  CHECK(r.hasOpt);
  CHECK(r.optUdpSize == 1232);

  SUBCASE("a reply whose records do not walk gets no OPT appended") {
    auto broken = bigReply(pkt, v, 2);
    broken.resize(broken.size() - 2);  // the last RDATA cut short
    const auto before = broken;
    dns::finalizeReply(broken, v, dns::Proto::Udp);
    CHECK(broken == before);
  }
}

TEST_CASE("compression alone can make a reply fit 512 bytes") {
  // 25 records x (18-byte owner + 14) = 800 bytes uncompressed, 25 x 16 = 400 compressed.
  auto pkt = makeQuery({.name = "service.example.org."});
  dns::QueryView v;
  auto reply = bigReply(pkt, v, 25);
  REQUIRE(reply.size() > 512);
  dns::finalizeReply(reply, v, dns::Proto::Udp);
  CHECK(reply.size() <= 512);
  auto r = decode(reply);
  CHECK_FALSE(r.tc);
  CHECK(r.answer.size() == 25);
}

TEST_CASE("a reply that does not fit is truncated at a record boundary with TC") {
  auto pkt = makeQuery({.name = "service.example.org."});
  dns::QueryView v;
  auto reply = bigReply(pkt, v, 100);
  dns::finalizeReply(reply, v, dns::Proto::Udp);
  CHECK(reply.size() <= 512);
  auto r = decode(reply);
  REQUIRE(r.ok);
  CHECK(r.tc);
  CHECK(r.answer.size() > 0);
  CHECK(r.answer.size() < 100);
}

TEST_CASE("truncation keeps the OPT record and honours the EDNS size") {
  auto pkt = makeQuery({.name = "service.example.org.", .edns = 1232});
  dns::QueryView v;
  auto reply = bigReply(pkt, v, 200);
  dns::finalizeReply(reply, v, dns::Proto::Udp);
  CHECK(reply.size() <= 1232);
  CHECK(reply.size() > 512);
  auto r = decode(reply);
  CHECK(r.tc);
  CHECK(r.hasOpt);
}

TEST_CASE("TCP replies are not truncated") {
  auto pkt = makeQuery({.name = "service.example.org."});
  dns::QueryView v;
  auto reply = bigReply(pkt, v, 100);
  size_t before = reply.size();
  dns::finalizeReply(reply, v, dns::Proto::Tcp);
  CHECK(reply.size() == before);
  CHECK_FALSE(decode(reply).tc);
}

TEST_CASE("an upstream OPT before other additional records: the cut counts them without it") {
  auto pkt = makeQuery({.name = "service.example.org.", .edns = 512});
  dns::QueryView v;
  REQUIRE(dns::parseQuery(pkt, v) == dns::ParseStatus::Ok);
  std::vector<uint8_t> reply;
  dns::MessageWriter w(reply);
  w.startReply(pkt, v, dns::RCode::NoError, false);
  const uint8_t toQuestion[] = {0xC0, 0x0C}, root[] = {0}, addr[] = {192, 0, 2, 1};
  w.addRR(dns::Section::Answer, toQuestion, dns::rrtype::A, dns::rrclass::IN, 60, addr);
  w.addRR(dns::Section::Additional, root, dns::rrtype::OPT, 1232, 0, {});
  for (int i = 0; i < 40; ++i) {
    w.addRR(dns::Section::Additional, toQuestion, dns::rrtype::A, dns::rrclass::IN, 60, addr);
  }
  // 16-byte records after 53 bytes of header, question and answer: 28 fit in 512 less the 11
  // bytes of OPT, and only 27 would if the OPT's bytes were still counted in front of them.
  REQUIRE(v.question.end + 16 == 53);
  dns::finalizeReply(reply, v, dns::Proto::Udp);
  CHECK(reply.size() == 53 + 28 * 16 + 11);
  auto r = decode(reply);
  REQUIRE(r.ok);
  CHECK(r.tc);
  CHECK(r.answer.size() == 1);
  CHECK(r.additional.size() == 28);
  CHECK(r.hasOpt);
  CHECK(r.optUdpSize == 512);
}

namespace {

// bigReply with an OPT carrying one NSID option of `nsidLen` bytes after its records.
std::vector<uint8_t> bigReplyWithNsid(const std::vector<uint8_t>& pkt, dns::QueryView& v, int n,
                                      size_t nsidLen) {
  auto reply = bigReply(pkt, v, n);
  dns::appendOpt(reply, 1232, false);
  std::vector<uint8_t> option = {0, 3, 0, 0};
  dns::put16(option.data() + 2, static_cast<uint16_t>(nsidLen));
  option.resize(4 + nsidLen, 'n');
  reply.insert(reply.end(), option.begin(), option.end());
  dns::put16(reply.data() + reply.size() - option.size() - 2, static_cast<uint16_t>(option.size()));
  return reply;
}

size_t nsidCount(const moat::testing::Reply& r) {
  size_t n = 0;
  for (const auto& option : r.ednsOptions) n += option.first == 3 ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("the OPT's options survive compression and a cut, when they fit beside the question") {
  auto pkt = makeQuery({.name = "service.example.org.", .edns = 512});
  dns::QueryView v;
  SUBCASE("compression alone makes it fit") {
    auto reply = bigReplyWithNsid(pkt, v, 20, 50);  // 20 uncompressed records: over 512
    REQUIRE(reply.size() > 512);
    dns::finalizeReply(reply, v, dns::Proto::Udp);
    auto r = decode(reply);
    CHECK(reply.size() <= 512);
    CHECK_FALSE(r.tc);
    CHECK(r.answer.size() == 20);
    CHECK(nsidCount(r) == 1);
  }
  SUBCASE("a cut keeps the option and counts its bytes") {
    auto reply = bigReplyWithNsid(pkt, v, 100, 50);
    dns::finalizeReply(reply, v, dns::Proto::Udp);
    auto r = decode(reply);
    CHECK(reply.size() <= 512);
    CHECK(r.tc);
    CHECK(nsidCount(r) == 1);
    CHECK(r.optUdpSize == 512);
  }
  SUBCASE("an option too large to fit beside the question goes: the OPT comes back bare") {
    // 37 bytes of header and question, 11 of OPT and 4 of option header: 461 bytes of data
    // leave no room in 512.
    auto reply = bigReplyWithNsid(pkt, v, 100, 461);
    dns::finalizeReply(reply, v, dns::Proto::Udp);
    auto r = decode(reply);
    CHECK(reply.size() <= 512);
    CHECK(r.tc);
    CHECK(r.hasOpt);
    CHECK(nsidCount(r) == 0);
  }
}
