// The matchers acl builds at load: CIDR text read as CoreDNS reads a `net` token, address sets
// merged into ranges, query types in a bitset, and the client address of a query.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <string>

#include "plugins/acl/net_set.hpp"
#include "plugins/acl/qtype_set.hpp"

namespace moat::plugins::acl {
namespace {

IpKey v4(const char* text) {
  in_addr a;
  REQUIRE(inet_pton(AF_INET, text, &a) == 1);
  return IpKey{true, ntohl(a.s_addr)};
}

IpKey v6(const char* text) {
  in6_addr a;
  REQUIRE(inet_pton(AF_INET6, text, &a) == 1);
  Uint128 v = 0;
  for (uint8_t b : a.s6_addr) v = v << 8 | b;
  return IpKey{false, v};
}

NetSet setOf(std::initializer_list<const char*> cidrs) {
  NetSet set;
  for (const char* text : cidrs) {
    auto cidr = parseCidr(text);
    REQUIRE_MESSAGE(cidr.has_value(), text);
    set.add(*cidr);
  }
  set.seal();
  return set;
}

TEST_CASE("parseCidr: CIDRs and bare addresses of both families") {
  auto net = parseCidr("192.168.0.0/16");
  REQUIRE(net);
  CHECK(net->v4);
  CHECK(net->first == v4("192.168.0.0").value);
  CHECK(net->last == v4("192.168.255.255").value);

  auto host = parseCidr("10.0.0.1");  // CoreDNS appends /32
  REQUIRE(host);
  CHECK(host->first == host->last);
  CHECK(host->first == v4("10.0.0.1").value);

  auto masked = parseCidr("10.1.2.3/8");  // host bits set: masked off, as Go's ParseCIDR
  REQUIRE(masked);
  CHECK(masked->first == v4("10.0.0.0").value);
  CHECK(masked->last == v4("10.255.255.255").value);

  auto six = parseCidr("2001:db8::/32");
  REQUIRE(six);
  CHECK_FALSE(six->v4);
  CHECK(six->first == v6("2001:db8::").value);
  CHECK(six->last == v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff").value);

  auto loop6 = parseCidr("::1");  // CoreDNS appends /128
  REQUIRE(loop6);
  CHECK(loop6->first == v6("::1").value);
  CHECK(loop6->last == v6("::1").value);

  auto all4 = parseCidr("0.0.0.0/0");
  REQUIRE(all4);
  CHECK(all4->first == 0);
  CHECK(all4->last == 0xFFFFFFFFu);
  auto all6 = parseCidr("::/0");
  REQUIRE(all6);
  CHECK(all6->last == ~Uint128{0});

  CHECK(parseCidr("10.0.0.0/08"));  // Go's dtoi takes leading zeros in the length
  auto mapped = parseCidr("::ffff:10.0.0.1/128");  // stays an IPv6 network, as in Go
  REQUIRE(mapped);
  CHECK_FALSE(mapped->v4);
}

TEST_CASE("parseCidr: what is not a network") {
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/a", "10.0.0.0/-1",
                          "10.0.0.0/+8", "10.0.0", "010.0.0.1", "256.0.0.1", "10.0.0.1/8/8",
                          "fe80::1%eth0", "fe80::1%eth0/64", "example.org", "*", "2001:db8::g/32",
                          "10.0.0.0 /8"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseCidr(bad).has_value());
  }
}

TEST_CASE("NetSet: nested, adjacent and disjoint networks, both families") {
  NetSet set = setOf({"192.168.1.0/24", "192.168.0.0/16", "10.0.0.1", "10.0.0.2", "172.16.0.0/12",
                      "2001:db8::/48", "::1"});
  CHECK(set.contains(v4("192.168.1.7")));
  CHECK(set.contains(v4("192.168.200.1")));
  CHECK(set.contains(v4("192.168.0.0")));
  CHECK(set.contains(v4("192.168.255.255")));
  CHECK_FALSE(set.contains(v4("192.169.0.0")));
  CHECK_FALSE(set.contains(v4("192.167.255.255")));
  CHECK(set.contains(v4("10.0.0.1")));
  CHECK(set.contains(v4("10.0.0.2")));  // adjacent hosts merge into one range
  CHECK_FALSE(set.contains(v4("10.0.0.0")));
  CHECK_FALSE(set.contains(v4("10.0.0.3")));
  CHECK(set.contains(v4("172.31.255.255")));
  CHECK_FALSE(set.contains(v4("172.32.0.0")));
  CHECK(set.contains(v6("2001:db8::53")));
  CHECK(set.contains(v6("2001:db8:0:ffff::1")));
  CHECK_FALSE(set.contains(v6("2001:db8:1::1")));
  CHECK(set.contains(v6("::1")));
  CHECK_FALSE(set.contains(v6("::2")));
  // The families never mix: 10.0.0.1 as an IPv6 number is ::a00:1, which is not in the set.
  CHECK_FALSE(set.contains(IpKey{false, v4("10.0.0.1").value}));
  CHECK_FALSE(set.contains(IpKey{true, v6("::1").value}));
}

TEST_CASE("NetSet: `*` holds every address of both families, an empty set none") {
  NetSet all;
  all.addEverything();
  all.seal();
  CHECK(all.contains(v4("0.0.0.0")));
  CHECK(all.contains(v4("255.255.255.255")));
  CHECK(all.contains(v6("::")));
  CHECK(all.contains(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  NetSet none;
  none.seal();
  CHECK_FALSE(none.contains(v4("127.0.0.1")));
  CHECK_FALSE(none.contains(v6("::1")));
}

TEST_CASE("clientKey: IPv4, IPv6, and an IPv4-mapped client counted as IPv4") {
  dns::Endpoint e;
  auto& a4 = reinterpret_cast<sockaddr_in&>(e.addr);
  a4.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &a4.sin_addr);
  auto k = clientKey(e);
  REQUIRE(k);
  CHECK(k->v4);
  CHECK(k->value == v4("127.0.0.2").value);

  dns::Endpoint e6;
  auto& a6 = reinterpret_cast<sockaddr_in6&>(e6.addr);
  a6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.168.1.9", &a6.sin6_addr);
  k = clientKey(e6);
  REQUIRE(k);
  CHECK(k->v4);
  CHECK(k->value == v4("192.168.1.9").value);
  inet_pton(AF_INET6, "2001:db8::9", &a6.sin6_addr);
  k = clientKey(e6);
  REQUIRE(k);
  CHECK_FALSE(k->v4);
  CHECK(k->value == v6("2001:db8::9").value);

  CHECK_FALSE(clientKey(dns::Endpoint{}).has_value());  // no address at all
}

TEST_CASE("QtypeSet: small and large types, `*`, and type 0 meaning every type") {
  QtypeSet set;
  set.add(1);      // A
  set.add(28);     // AAAA
  set.add(257);    // CAA
  set.add(32769);  // DLV
  set.add(257);
  set.seal();
  CHECK(set.contains(1));
  CHECK(set.contains(28));
  CHECK(set.contains(257));
  CHECK(set.contains(32769));
  CHECK_FALSE(set.contains(0));
  CHECK_FALSE(set.contains(5));
  CHECK_FALSE(set.contains(256));
  CHECK_FALSE(set.contains(65535));
  CHECK_FALSE(set.everything());

  QtypeSet none;
  none.add(0);  // how CoreDNS stores `*`: `type None` therefore matches everything there too
  none.seal();
  CHECK(none.everything());
  CHECK(none.contains(65535));
}

}  // namespace
}  // namespace moat::plugins::acl
