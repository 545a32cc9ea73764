#include "plugins/kubernetes/names.hpp"

#include <doctest/doctest.h>

#include <string>

#include "dns/name.hpp"

namespace moat::plugins::kubernetes {
namespace {

dns::WireName wire(std::string_view text) {
  auto w = dns::nameFromText(text);
  REQUIRE(w.has_value());
  return *w;
}

constexpr size_t kZoneLen = 15;  // wire length of cluster.local.

TEST_CASE("names: the grammar below the zone, as parse.go reads it") {
  struct Case {
    const char* name;
    bool ok;
    Area area;
    const char *ns, *service, *endpoint, *port, *protocol;
  };
  const Case cases[] = {
      {"cluster.local.", true, Area::None, "", "", "", "", ""},
      {"svc.cluster.local.", true, Area::None, "", "", "", "", ""},
      {"pod.cluster.local.", true, Area::None, "", "", "", "", ""},
      {"testns.svc.cluster.local.", true, Area::Svc, "testns", "", "", "", ""},
      {"testns.pod.cluster.local.", true, Area::Pod, "testns", "", "", "", ""},
      {"svc1.testns.svc.cluster.local.", true, Area::Svc, "testns", "svc1", "", "", ""},
      {"ep.svc1.testns.svc.cluster.local.", true, Area::Svc, "testns", "svc1", "ep", "", ""},
      {"_http._tcp.svc1.testns.svc.cluster.local.", true, Area::Svc, "testns", "svc1", "", "http",
       "tcp"},
      {"http.tcp.svc1.testns.svc.cluster.local.", true, Area::Svc, "testns", "svc1", "", "http",
       "tcp"},
      {"_._udp.svc1.testns.svc.cluster.local.", true, Area::Svc, "testns", "svc1", "", "", "udp"},
      {"1-2-3-4.testns.pod.cluster.local.", true, Area::Pod, "testns", "1-2-3-4", "", "", ""},
      {"x.1-2-3-4.testns.pod.cluster.local.", true, Area::Pod, "testns", "1-2-3-4", "x", "", ""},
      {"dns-version.cluster.local.", false, Area::None, "", "", "", "", ""},
      {"ns.dns.cluster.local.", false, Area::None, "", "", "", "", ""},
      {"foo.cluster.local.", false, Area::None, "", "", "", "", ""},
      {"svc1.testns.foo.cluster.local.", false, Area::None, "", "", "", "", ""},
      {"a.b.c.svc1.testns.svc.cluster.local.", false, Area::Svc, "", "", "", "", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto name = wire(c.name);
    Request r;
    REQUIRE(parseRequest(name, kZoneLen, false, false, r) == c.ok);
    if (!c.ok) continue;
    CHECK(r.area == c.area);
    CHECK(r.ns == c.ns);
    CHECK(r.service == c.service);
    CHECK(r.endpoint == c.endpoint);
    CHECK(r.port == c.port);
    CHECK(r.protocol == c.protocol);
    CHECK_FALSE(r.zoned);
  }
}

TEST_CASE("names: multicluster reads two plain labels as endpoint.cluster") {
  Request r;
  auto name = wire("ep.c1.svc1.testns.svc.cluster.local.");
  REQUIRE(parseRequest(name, kZoneLen, true, false, r));
  CHECK(r.endpoint == "ep");
  CHECK(r.cluster == "c1");
  CHECK(r.port.empty());
  auto srv = wire("_http.tcp.svc1.testns.svc.cluster.local.");
  REQUIRE(parseRequest(srv, kZoneLen, true, false, r));
  CHECK(r.port == "http");
  CHECK(r.protocol == "tcp");
}

TEST_CASE("names: zone-scoped names need `zonal` and a svc name") {
  Request r;
  auto pin = wire("eu-west-1a.pin._zone.hdls.testns.svc.cluster.local.");
  CHECK_FALSE(parseRequest(pin, kZoneLen, false, false, r));
  REQUIRE(parseRequest(pin, kZoneLen, false, true, r));
  CHECK(r.zoned);
  CHECK_FALSE(r.zonePrefer);
  CHECK(r.service == "hdls");
  auto prefer = wire("eu.west.prefer._zone.hdls.testns.svc.cluster.local.");
  REQUIRE(parseRequest(prefer, kZoneLen, false, true, r));
  CHECK(r.zoned);
  CHECK(r.zonePrefer);
  CHECK_FALSE(parseRequest(wire("a.keep._zone.hdls.testns.svc.cluster.local."), kZoneLen, false,
                           true, r));
  CHECK_FALSE(parseRequest(wire("a.pin._zone.p.testns.pod.cluster.local."), kZoneLen, false, true, r));
  CHECK_FALSE(parseRequest(pin, kZoneLen, true, true, r));  // not in multicluster zones
}

TEST_CASE("names: dns-version and ns.dns are exact") {
  CHECK(isDnsVersion(wire("dns-version.cluster.local."), kZoneLen));
  CHECK_FALSE(isDnsVersion(wire("x.dns-version.cluster.local."), kZoneLen));
  CHECK_FALSE(isDnsVersion(wire("cluster.local."), kZoneLen));
  CHECK(isDefaultNs(wire("ns.dns.cluster.local."), kZoneLen));
  CHECK_FALSE(isDefaultNs(wire("x.ns.dns.cluster.local."), kZoneLen));
  CHECK_FALSE(isDefaultNs(wire("dns.cluster.local."), kZoneLen));
}

TEST_CASE("names: reverse names") {
  CHECK(reverseKind(wire("1.0.0.10.in-addr.arpa.")) == 1);
  CHECK(reverseKind(wire("10.in-addr.arpa.")) == 1);
  CHECK(reverseKind(wire("in-addr.arpa.")) == 0);  // the zone itself is not "reverse"
  CHECK(reverseKind(wire("1.ip6.arpa.")) == 2);
  CHECK(reverseKind(wire("xin-addr.arpa.")) == 0);
  CHECK(reverseKind(wire("svc.cluster.local.")) == 0);

  auto v4 = addressFromReverse(wire("1.0.0.10.in-addr.arpa."));
  REQUIRE(v4);
  CHECK(v4->str() == "10.0.0.1");
  CHECK_FALSE(addressFromReverse(wire("0.0.10.in-addr.arpa.")));
  CHECK_FALSE(addressFromReverse(wire("5.1.0.0.10.in-addr.arpa.")));
  CHECK_FALSE(addressFromReverse(wire("01.0.0.10.in-addr.arpa.")));
  CHECK_FALSE(addressFromReverse(wire("256.0.0.10.in-addr.arpa.")));

  auto v6 = addressFromReverse(
      wire("3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa."));
  REQUIRE(v6);
  CHECK(v6->str() == "fd00::3");
  CHECK_FALSE(addressFromReverse(wire("3.0.0.d.f.ip6.arpa.")));
  CHECK_FALSE(addressFromReverse(wire("x.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.")));
  // An IPv4-mapped address stands for the IPv4 one, as Go prints it.
  auto mapped = addressFromReverse(
      wire("1.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."));
  REQUIRE(mapped);
  CHECK(mapped->str() == "10.0.0.1");
  CHECK_FALSE(addressFromReverse(wire("svc1.testns.svc.cluster.local.")));
}

TEST_CASE("names: pod labels spell addresses") {
  auto v4 = podAddress("10-244-1-1");
  REQUIRE(v4);
  CHECK(v4->str() == "10.244.1.1");
  auto v6 = podAddress("fd00--244-1-1");
  REQUIRE(v6);
  CHECK(v6->str() == "fd00::244:1:1");
  auto full = podAddress("fd00-0-0-0-0-0-0-1");
  REQUIRE(full);
  CHECK(full->str() == "fd00::1");
  CHECK(podAddress("--ffff-a00-1")->family == 4);  // IPv4-mapped answers A
  CHECK_FALSE(podAddress("1-2-3"));  // two dashes: read as IPv6, which it is not
  CHECK_FALSE(podAddress("a-b-c-d"));
  CHECK_FALSE(podAddress("1-2-3-256"));
  CHECK(podAddress("1--2-3")->str() == "1::2:3");  // "--" makes it IPv6
  CHECK_FALSE(podAddress(""));
}

TEST_CASE("names: labels and case folding") {
  auto name = wire("a.bc.cluster.local.");
  Labels labels(name, kZoneLen);
  REQUIRE(labels.size() == 2);
  CHECK(labels[0] == "a");
  CHECK(labels[1] == "bc");
  CHECK(Labels(wire("cluster.local."), kZoneLen).empty());
  CHECK(equalFold("HtTp", "http"));
  CHECK_FALSE(equalFold("http", "https"));
}

}  // namespace
}  // namespace moat::plugins::kubernetes
