#include "plugins/secondary/axfr.hpp"

#include <doctest/doctest.h>

#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "plugins/secondary/test_support.hpp"

using namespace moat;
using namespace moat::plugins::secondary;
using testing::message;
using testing::soa;
using Step = AxfrReader::Step;

namespace {

const dns::WireName kOrigin = *dns::nameFromText("example.org.");
constexpr uint16_t kId = 0x4242;

}  // namespace

TEST_CASE("axfr: one message from SOA to SOA is a zone, names land lowercased where lookups follow them") {
  AxfrReader reader(kOrigin, kId);
  const auto step = reader.add(message({.records = {soa(7), "example.org. 300 IN NS NS1.Example.ORG.",
                                                    "ns1.example.org. 300 IN A 192.0.2.1",
                                                    "WWW.example.org. 300 IN A 192.0.2.10", soa(7)}}));
  REQUIRE(step == Step::Done);
  auto zone = reader.take();
  REQUIRE(zone);
  CHECK(zone->serial() == 7);
  CHECK(zone->recordCount() == 4);  // the closing SOA is not stored twice
  CHECK(zone->find(*dns::nameFromText("www.example.org.")) != nullptr);
  const auto* ns = zone->rrset(zone->apex(), dns::rrtype::NS);
  REQUIRE(ns != nullptr);
  CHECK(dns::nameToText(zone->firstRdata(*ns)) == "ns1.example.org.");
}

TEST_CASE("axfr: a transfer over several messages") {
  AxfrReader reader(kOrigin, kId);
  CHECK(reader.add(message({.records = {soa(9), "a.example.org. 60 IN A 192.0.2.1"}})) == Step::More);
  CHECK(reader.add(message({.records = {"b.example.org. 60 IN AAAA 2001:db8::1"}})) == Step::More);
  CHECK(reader.take() == nullptr);  // not before the closing SOA
  CHECK(reader.add(message({.records = {"c.example.org. 60 IN TXT \"x\"", soa(9)}})) == Step::Done);
  auto zone = reader.take();
  REQUIRE(zone);
  CHECK(zone->recordCount() == 4);
  CHECK(reader.messages() == 3);
}

TEST_CASE("axfr: every malformed transfer fails and yields no zone") {
  struct Case {
    const char* what;
    std::vector<std::vector<uint8_t>> messages;
    const char* error;  // a part of the reason
  };
  const std::vector<Case> cases = {
      {"first record is not the SOA", {message({.records = {"a.example.org. 60 IN A 192.0.2.1", soa(1)}})},
       "first record is not the zone's SOA"},
      {"first SOA is another zone's",
       {message({.records = {"example.com. 300 IN SOA ns. h. 1 3600 600 86400 300", soa(1)}})},
       "first record is not the zone's SOA"},
      {"closing SOA with another serial", {message({.records = {soa(1), soa(2)}})}, "closing SOA"},
      {"a record outside the zone",
       {message({.records = {soa(1), "www.example.com. 60 IN A 192.0.2.1", soa(1)}})}, "outside the zone"},
      {"records after the closing SOA",
       {message({.records = {soa(1), soa(1), "a.example.org. 60 IN A 192.0.2.1"}})}, "after the closing SOA"},
      {"a message after the closing SOA",
       {message({.records = {soa(1), soa(1)}}), message({.records = {"a.example.org. 60 IN A 192.0.2.1"}})},
       "after the closing SOA"},
      {"the primary refuses", {message({.rcode = LDNS_RCODE_REFUSED})}, "REFUSED"},
      {"another message ID", {message({.id = 1, .records = {soa(1), soa(1)}})}, "another message ID"},
      {"truncated flag", {message({.records = {soa(1), soa(1)}, .truncated = true})}, "truncated"},
      {"not a response", {message({.records = {soa(1), soa(1)}, .response = false})}, "not a reply"},
      {"an empty message", {message({})}, "no records"},
      {"NSEC3", {message({.records = {soa(1), "example.org. 0 IN NSEC3PARAM 1 0 0 -", soa(1)}})}, "NSEC3"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    AxfrReader reader(kOrigin, kId);
    Step last = Step::More;
    for (const auto& m : c.messages) last = reader.add(m);
    CHECK(last == Step::Failed);
    CHECK(reader.error().find(c.error) != std::string::npos);
    CHECK(reader.take() == nullptr);
  }
}

TEST_CASE("axfr: bytes cut anywhere inside a message do not parse, and no prefix is a zone") {
  const auto whole = message({.records = {soa(3), "a.example.org. 60 IN A 192.0.2.1", soa(3)}});
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    CAPTURE(cut);
    AxfrReader reader(kOrigin, kId);
    CHECK(reader.add(std::span(whole).first(cut)) != Step::Done);
    CHECK(reader.take() == nullptr);
  }
}

TEST_CASE("axfr: a stream that stops before the closing SOA is not a zone") {
  AxfrReader reader(kOrigin, kId);
  CHECK(reader.add(message({.records = {soa(4), "a.example.org. 60 IN A 192.0.2.1"}})) == Step::More);
  CHECK(reader.take() == nullptr);
}

TEST_CASE("soa reply: the serial of the zone's SOA, or why not") {
  std::string error;
  CHECK(soaSerialFromReply(message({.records = {soa(42)}}), kOrigin, kId, error) == 42u);
  CHECK_FALSE(soaSerialFromReply(message({.records = {"example.org. 60 IN A 192.0.2.1"}}), kOrigin, kId, error));
  CHECK(error.find("no SOA") != std::string::npos);
  CHECK_FALSE(soaSerialFromReply(message({.rcode = LDNS_RCODE_SERVFAIL}), kOrigin, kId, error));
  CHECK(error.find("SERVFAIL") != std::string::npos);
  CHECK_FALSE(soaSerialFromReply(message({.id = 7, .records = {soa(42)}}), kOrigin, kId, error));
}

TEST_CASE("requests: an SOA query and an AXFR request for the origin, no RD") {
  const auto request = buildRequest(kOrigin, dns::rrtype::AXFR, 0x1234);
  const auto h = dns::Header::read(request.data());
  CHECK(h.id == 0x1234);
  CHECK(h.flags == 0);
  CHECK(h.qdcount == 1);
  CHECK(request.size() == dns::kHeaderSize + kOrigin.size() + 4);
  CHECK(dns::get16(request.data() + dns::kHeaderSize + kOrigin.size()) == dns::rrtype::AXFR);
}
