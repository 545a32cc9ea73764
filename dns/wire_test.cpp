#include "dns/wire.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "tests/support/dns_test_util.hpp"

using namespace moat;
using moat::testing::makeQuery;

namespace {
dns::ParseStatus parse(const std::vector<uint8_t>& pkt, dns::QueryView& v) {
  return dns::parseQuery(pkt, v);
}
}  // namespace

TEST_CASE("parseQuery reads header, question and lowercases the name") {
  auto pkt = makeQuery({.name = "WWW.Example.ORG.", .type = dns::rrtype::AAAA, .id = 777});
  dns::QueryView v;
  REQUIRE(parse(pkt, v) == dns::ParseStatus::Ok);
  CHECK(v.header.id == 777);
  CHECK(v.question.qtype == dns::rrtype::AAAA);
  CHECK(v.question.qclass == dns::rrclass::IN);
  CHECK(v.question.labels == 3);
  CHECK(dns::nameToText(v.question.lowerName()) == "www.example.org.");
  CHECK(v.question.end == pkt.size());
  CHECK_FALSE(v.edns.present);
  CHECK(v.udpLimit() == 512);
  // The packet itself keeps the client's spelling.
  CHECK(pkt[13] == 'W');
}

TEST_CASE("parseQuery finds the OPT record: size, DO bit, version") {
  auto pkt = makeQuery({.name = "example.org.", .edns = 1232, .dnssecOk = true});
  dns::QueryView v;
  REQUIRE(parse(pkt, v) == dns::ParseStatus::Ok);
  CHECK(v.edns.present);
  CHECK(v.edns.udpSize == 1232);
  CHECK(v.edns.dnssecOk);
  CHECK(v.edns.version == 0);
  CHECK(v.edns.length == 11);
  CHECK(v.udpLimit() == 1232);
}

TEST_CASE("an EDNS size below 512 still allows 512") {
  auto pkt = makeQuery({.name = "example.org.", .edns = 100});
  dns::QueryView v;
  REQUIRE(parse(pkt, v) == dns::ParseStatus::Ok);
  CHECK(v.udpLimit() == 512);
}

TEST_CASE("root query parses") {
  auto pkt = makeQuery({.name = ".", .type = dns::rrtype::NS});
  dns::QueryView v;
  REQUIRE(parse(pkt, v) == dns::ParseStatus::Ok);
  CHECK(v.question.nameLen == 1);
  CHECK(v.question.labels == 0);
}

TEST_CASE("malformed packets: drop when the header is unreadable, FORMERR otherwise") {
  auto good = makeQuery({.name = "example.org."});
  struct Case {
    const char* what;
    std::vector<uint8_t> pkt;
    dns::ParseStatus want;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", {}, dns::ParseStatus::Drop});
  cases.push_back({"short header", {1, 2, 3, 4, 5}, dns::ParseStatus::Drop});
  {
    auto p = good;
    p[2] |= 0x80;  // QR: a response
    cases.push_back({"response", p, dns::ParseStatus::Drop});
  }
  {
    auto p = good;
    p.resize(12);
    cases.push_back({"header only", p, dns::ParseStatus::FormErr});
  }
  {
    auto p = good;
    p.resize(p.size() - 2);
    cases.push_back({"question cut", p, dns::ParseStatus::FormErr});
  }
  {
    auto p = good;
    p[5] = 2;  // QDCOUNT 2
    cases.push_back({"two questions", p, dns::ParseStatus::FormErr});
  }
  {
    auto p = good;
    p[5] = 0;
    cases.push_back({"no question", p, dns::ParseStatus::FormErr});
  }
  {
    auto p = good;
    p[12] = 0xC0;  // pointer in the question name
    cases.push_back({"pointer", p, dns::ParseStatus::FormErr});
  }
  {
    auto p = good;
    p[12] = 64;  // label too long
    cases.push_back({"label 64", p, dns::ParseStatus::FormErr});
  }
  {
    auto p = good;
    p[11] = 1;  // ARCOUNT 1 with nothing there
    cases.push_back({"missing additional", p, dns::ParseStatus::FormErr});
  }
  {
    auto p = makeQuery({.name = "example.org.", .edns = 1232});
    dns::appendOpt(p, 1232, false);
    cases.push_back({"two OPT", p, dns::ParseStatus::FormErr});
  }
  {
    std::vector<uint8_t> p(12, 0);
    p[5] = 1;
    for (int i = 0; i < 5; ++i) {  // 5 x 63-byte labels = 320 bytes > 255
      p.push_back(63);
      p.insert(p.end(), 63, 'a');
    }
    p.push_back(0);
    p.insert(p.end(), {0, 1, 0, 1});
    cases.push_back({"name too long", p, dns::ParseStatus::FormErr});
  }
  for (const auto& c : cases) {
    CAPTURE(c.what);
    dns::QueryView v;
    CHECK(dns::parseQuery(c.pkt, v) == c.want);
  }
}

TEST_CASE("skipName follows neither pointers nor overruns") {
  std::vector<uint8_t> msg = {3, 'f', 'o', 'o', 0xC0, 0};
  CHECK(dns::skipName(msg, 0) == 6);
  std::vector<uint8_t> cut = {3, 'f', 'o'};
  CHECK(dns::skipName(cut, 0) == 0);
  std::vector<uint8_t> badLabel = {0x40, 0};
  CHECK(dns::skipName(badLabel, 0) == 0);
}

TEST_CASE("a query with a record whose owner name loops is FORMERR") {
  auto p = makeQuery({.name = "example.org."});
  p[11] = 1;  // ARCOUNT
  const auto at = static_cast<uint8_t>(p.size());
  p.insert(p.end(), {0xC0, at, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0});  // points at itself
  dns::QueryView v;
  CHECK(dns::parseQuery(p, v) == dns::ParseStatus::FormErr);
  p[at + 1] = dns::kHeaderSize;  // at the question's name instead
  CHECK(dns::parseQuery(p, v) == dns::ParseStatus::Ok);
}
