#include "conf/zone.hpp"

#include <doctest/doctest.h>

namespace moat::conf {
namespace {

Token key(std::string text) { return Token{std::move(text), Pos{"Corefile", 4, 2}, false}; }

std::vector<std::string> zonesOf(const std::vector<ServerKey>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.zone);
  return out;
}

TEST_CASE("cidrToReverseZones gives one zone on an octet or nibble boundary") {
  struct Case {
    const char* cidr;
    const char* zone;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.in-addr.arpa."},
      {"172.16.0.0/16", "16.172.in-addr.arpa."},
      {"192.168.1.0/24", "1.168.192.in-addr.arpa."},
      {"192.168.1.7/32", "7.1.168.192.in-addr.arpa."},
      {"10.1.2.3/8", "10.in-addr.arpa."},  // host bits are cleared first
      {"0.0.0.0/0", "in-addr.arpa."},
      {"2001:db8::/32", "8.b.d.0.1.0.0.2.ip6.arpa."},
      {"2001:db8::/36", "0.8.b.d.0.1.0.0.2.ip6.arpa."},
      {"fd00::/8", "d.f.ip6.arpa."},
      {"::1/128", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."},
      {"::/0", "ip6.arpa."},
  };
  for (const Case& c : cases) {
    CAPTURE(c.cidr);
    CHECK(cidrToReverseZones(c.cidr) == std::vector<std::string>{c.zone});
  }
}

TEST_CASE("cidrToReverseZones splits a prefix off the boundary into the next boundary") {
  CHECK(cidrToReverseZones("10.0.0.0/15") ==
        std::vector<std::string>{"0.10.in-addr.arpa.", "1.10.in-addr.arpa."});
  CHECK(cidrToReverseZones("10.0.0.0/7") ==
        std::vector<std::string>{"10.in-addr.arpa.", "11.in-addr.arpa."});
  CHECK(cidrToReverseZones("fd00::/7") ==
        std::vector<std::string>{"c.f.ip6.arpa.", "d.f.ip6.arpa."});
  CHECK(cidrToReverseZones("fe80::/10") ==
        std::vector<std::string>{"8.e.f.ip6.arpa.", "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.",
                                 "b.e.f.ip6.arpa."});

  auto private172 = cidrToReverseZones("172.16.0.0/12");
  REQUIRE(private172.size() == 16);
  CHECK(private172.front() == "16.172.in-addr.arpa.");
  CHECK(private172.back() == "31.172.in-addr.arpa.");

  auto forwardExample = cidrToReverseZones("10.9.3.0/18");  // semantics §6's forward example
  REQUIRE(forwardExample.size() == 64);
  CHECK(forwardExample.front() == "0.9.10.in-addr.arpa.");
  CHECK(forwardExample.back() == "63.9.10.in-addr.arpa.");
}

TEST_CASE("cidrToReverseZones turns a /25 into 128 /32 zones") {
  auto zones = cidrToReverseZones("192.168.1.0/25");
  REQUIRE(zones.size() == 128);
  for (size_t i = 0; i < zones.size(); ++i) {
    CAPTURE(i);
    CHECK(zones[i] == std::to_string(i) + ".1.168.192.in-addr.arpa.");
  }
  auto top = cidrToReverseZones("255.255.255.128/25");
  REQUIRE(top.size() == 128);
  CHECK(top.front() == "128.255.255.255.in-addr.arpa.");
  CHECK(top.back() == "255.255.255.255.in-addr.arpa.");  // no wrap past the last address
}

TEST_CASE("cidrToReverseZones splits IPv6 on nibbles across a byte") {
  // /125 -> /128: the last nibble takes 8 values and the carry stays inside the byte.
  auto zones = cidrToReverseZones("2001:db8::8/125");
  REQUIRE(zones.size() == 8);
  CHECK(zones.front().substr(0, 4) == "8.0.");
  CHECK(zones.back().substr(0, 4) == "f.0.");
  // /3 -> /4 from 0x20: 2000::/4 is "2.ip6.arpa." and 3000::/4 is "3.ip6.arpa.".
  CHECK(cidrToReverseZones("2000::/3") == std::vector<std::string>{"2.ip6.arpa.", "3.ip6.arpa."});
}

TEST_CASE("cidrToReverseZones returns nothing for text that is not a CIDR") {
  const char* notCidr[] = {"example.org", "10.0.0.0",     "10.0.0.0/33", "300.0.0.0/8",
                           "010.0.0.0/8", "10.0.0/8",     "fe80::1%eth0/64", "10.0.0.0/",
                           "10.0.0.0/x",  "2001:db8::/129", "", "/8"};
  for (const char* text : notCidr) {
    CAPTURE(text);
    CHECK(cidrToReverseZones(text).empty());
  }
}

TEST_CASE("parseServerKey normalises zone, scheme and port") {
  struct Case {
    const char* text;
    uint16_t defaultPort;
    const char* zone;
    uint16_t port;
  };
  const Case cases[] = {
      {"example.org", 53, "example.org.", 53},
      {"EXAMPLE.ORG.", 53, "example.org.", 53},
      {"example.org.", 53, "example.org.", 53},
      {"example.org:1053", 53, "example.org.", 1053},
      {"dns://example.org:1053", 53, "example.org.", 1053},
      {"DNS://Example.org", 53, "example.org.", 53},
      {".", 53, ".", 53},
      {".:53", 1053, ".", 53},
      {"dns://.", 1053, ".", 1053},
      {"example.org", 1053, "example.org.", 1053},  // -dns.port
      {".:0", 53, ".", 0},                          // tests bind port 0
      {"10.0.0.0/8", 53, "10.in-addr.arpa.", 53},
      {"10.0.0.0/8:1053", 53, "10.in-addr.arpa.", 1053},
      {"2001:db8::/32", 53, "8.b.d.0.1.0.0.2.ip6.arpa.", 53},
      {"2001:db8::/32:5353", 53, "8.b.d.0.1.0.0.2.ip6.arpa.", 5353},
      {"a.org,b.org:53", 1053, "a.org,b.org.", 53},  // no space: one odd zone, as CoreDNS
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parseServerKey(key(c.text), c.defaultPort);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].scheme == "dns");
    CHECK((*r)[0].zone == c.zone);
    CHECK((*r)[0].port == c.port);
    CHECK((*r)[0].pos.str() == "Corefile:4:2");
  }
}

TEST_CASE("parseServerKey expands a CIDR key into several keys sharing the port") {
  auto r = parseServerKey(key("10.0.0.0/15:1053"), 53);
  REQUIRE(r.ok());
  CHECK(zonesOf(*r) == std::vector<std::string>{"0.10.in-addr.arpa.", "1.10.in-addr.arpa."});
  for (const auto& k : *r) CHECK(k.port == 1053);

  auto slash25 = parseServerKey(key("192.168.1.0/25"), 53);
  REQUIRE(slash25.ok());
  CHECK(slash25->size() == 128);
}

TEST_CASE("parseServerKey: tls:// is DNS over TLS, on port 853 unless the key names one") {
  auto r = parseServerKey(key("TLS://example.org"), 1053);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK(r->front().scheme == "tls");
  CHECK(r->front().zone == "example.org.");
  CHECK(r->front().port == 853);
  auto withPort = parseServerKey(key("tls://.:8853"), 53);
  REQUIRE(withPort.ok());
  CHECK(withPort->front().port == 8853);
  CHECK(parseServerKey(key("example.org"), 1053)->front().scheme == "dns");
}

TEST_CASE("parseServerKey rejects transports Moat does not serve") {
  const char* schemes[] = {"quic", "grpc", "https", "https3"};
  for (const char* s : schemes) {
    CAPTURE(s);
    auto r = parseServerKey(key(std::string(s) + "://example.org"), 53);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == std::string("transport ") + s + ":// is not implemented by Moat");
    CHECK(r.error().pos.str() == "Corefile:4:2");
  }
}

TEST_CASE("parseServerKey reports malformed keys") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"foo://example.org",
       "unknown transport 'foo://' in server key 'foo://example.org': expected dns://, tls:// or no scheme"},
      {"example.org:", "expected a port after the last ':' in 'example.org:'"},
      {"example.org:70000", "port must be from 0 to 65535 in 'example.org:70000'"},
      {"example.org:123456", "port must be from 0 to 65535 in 'example.org:123456'"},
      {":53", "':53' is not a valid zone: the zone is empty"},
      {"dns://", "'dns://' is not a valid zone: the zone is empty"},
      {"a..org", "'a..org' is not a valid zone: it has an empty label"},
      {"::1/128", "invalid CIDR '::1/128' in '::1/128'"},
      {"0::/0:53", "invalid CIDR '0::/0' in '0::/0:53'"},
      {"2001:db8::1", "'2001:db8::1' is not a valid zone: ':' may only appear in an IPv6 CIDR or "
                      "before the port"},
      {"[2001:db8::]/32", "'[2001:db8::]/32' is not a valid zone: ':' may only appear in an "
                          "IPv6 CIDR or before the port"},  // no brackets, as in CoreDNS
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parseServerKey(key(c.text), 53);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
    CHECK(r.error().pos.line == 4);
    CHECK(r.error().pos.col == 2);
  }
}

TEST_CASE("parseServerKey enforces label and name length") {
  std::string label63(63, 'a');
  CHECK(parseServerKey(key(label63 + ".org"), 53).ok());
  auto longLabel = parseServerKey(key(std::string(64, 'a') + ".org"), 53);
  REQUIRE_FALSE(longLabel.ok());
  CHECK(longLabel.error().message.find("longer than 63") != std::string::npos);

  std::string name;  // 4 labels of 63 = 256 octets on the wire with the root
  for (int i = 0; i < 4; ++i) name += label63 + ".";
  auto tooLong = parseServerKey(key(name), 53);
  REQUIRE_FALSE(tooLong.ok());
  CHECK(tooLong.error().message.find("longer than 255") != std::string::npos);
}

TEST_CASE("normalizeZone lowercases, qualifies and expands CIDRs") {
  struct Case {
    const char* text;
    std::vector<std::string> zones;
  };
  const Case cases[] = {
      {"Example.ORG", {"example.org."}},
      {"example.org.", {"example.org."}},
      {".", {"."}},
      {"dns://example.org:53", {"example.org."}},  // CoreDNS strips scheme and port
      {"tls://example.org", {"example.org."}},
      {"10.0.0.0/8", {"10.in-addr.arpa."}},
      {"10.0.0.0/15", {"0.10.in-addr.arpa.", "1.10.in-addr.arpa."}},
      {"2001:db8::/32", {"8.b.d.0.1.0.0.2.ip6.arpa."}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = normalizeZone(key(c.text));
    REQUIRE(r.ok());
    CHECK(*r == c.zones);
  }
}

TEST_CASE("normalizeZone reports invalid zones at the token") {
  const char* bad[] = {"a..b", "foo://x", "", "example.org:"};
  for (const char* text : bad) {
    CAPTURE(text);
    auto r = normalizeZone(key(text));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().pos.str() == "Corefile:4:2");
  }
}

TEST_CASE("isSubzone is true for the zone itself and names below it only") {
  struct Case {
    const char* name;
    const char* zone;
    bool want;
  };
  const Case cases[] = {
      {"example.org.", "example.org.", true},
      {"a.example.org.", "example.org.", true},
      {"a.b.example.org.", "example.org.", true},
      {"badexample.org.", "example.org.", false},
      {"org.", "example.org.", false},
      {"example.org.", ".", true},
      {".", ".", true},
      {".", "org.", false},
      {"A.Example.ORG.", "example.org.", true},
      {"a.example.org", "example.org.", true},  // tolerant of a missing final dot
      {"example.com.", "example.org.", false},
      {"10.in-addr.arpa.", "in-addr.arpa.", true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.zone);
    CHECK(isSubzone(c.name, c.zone) == c.want);
  }
}

}  // namespace
}  // namespace moat::conf
