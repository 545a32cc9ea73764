// k8s_external: setup errors at their places, CoreDNS's answers for external addresses,
// headless endpoints, SRV, PTR, the apex and its `dns` subdomain, fallthrough, no allocation.
#include <doctest/doctest.h>

#include "tests/support/alloc_counter.hpp"

#include <memory>
#include <string>
#include <vector>

#include "plugins/k8s_external/k8s_external.hpp"
#include "plugins/kubernetes/records_fixture.hpp"
#include "tests/support/plugin_test_util.hpp"

namespace moat::plugins::k8s_external {
namespace {

using kubernetes::Cluster;
using kubernetes::ClusterPtr;
using kubernetes::ExternalAddress;
using kubernetes::ServiceKind;
using kubernetes::testing::addr;
using kubernetes::testing::ip;
using kubernetes::testing::kNoError;
using kubernetes::testing::kNxDomain;
using kubernetes::testing::kSerial;
using kubernetes::testing::port;
using kubernetes::testing::service;
using Strings = std::vector<std::string>;
namespace rr = dns::rrtype;

ExternalAddress extIp(std::string_view text) { return ExternalAddress{ip(text), {}}; }
ExternalAddress extHost(std::string host) { return ExternalAddress{{}, std::move(host)}; }

// The services of CoreDNS's external_test.go, plus a two-port one and one without external
// addresses. The host 192.0.2.53 is an endpoint of kube-dns, which has an external IP.
ClusterPtr externalCluster() {
  using K = ServiceKind;
  Cluster::Builder b;
  b.addNamespace("testns");
  b.addNamespace("kube-system");
  auto svc = [&](std::string name, K kind, std::vector<ExternalAddress> ext,
                 std::vector<kubernetes::Port> ports, std::string ns = "testns") {
    auto s = service(std::move(name), std::move(ns), kind,
                     kind == K::ClusterIP ? std::vector<kubernetes::Ip>{ip("10.0.0.1")}
                                          : std::vector<kubernetes::Ip>{},
                     std::move(ports));
    s.external = std::move(ext);
    b.addService(std::move(s));
  };
  svc("svc1", K::ClusterIP, {extIp("1.2.3.4")}, {port("http", "tcp", 80)});
  svc("svc6", K::ClusterIP, {extIp("1:2::5")}, {port("http", "tcp", 80)});
  svc("svc11", K::ClusterIP, {extIp("2.3.4.5")}, {port("http", "tcp", 80)});
  svc("svc12", K::ClusterIP, {extHost("dummy.hostname")}, {port("http", "tcp", 80)});
  svc("svc-multi", K::ClusterIP, {extIp("1.2.3.6"), extIp("1.2.3.6")},
      {port("http", "tcp", 80), port("dns", "udp", 53)});
  svc("svc-internal", K::ClusterIP, {}, {port("http", "tcp", 80)});
  svc("svc-headless", K::Headless, {}, {port("http", "tcp", 80)});
  b.addEndpoints("testns", "svc-headless",
                 {{addr("1.2.3.4", "endpoint-svc-0"), addr("1.2.3.5", "endpoint-svc-1"),
                   addr("1.2.3.9", "not-ready", false)},
                  {port("http", "tcp", 80)}});
  svc("kube-dns", K::ClusterIP, {extIp("203.0.113.53")}, {port("dns", "udp", 53)}, "kube-system");
  b.addEndpoints("kube-system", "kube-dns", {{addr("192.0.2.53")}, {port("dns", "udp", 53)}});
  return b.build(kSerial);
}

struct Fixture {
  moat::testing::Parsed parsed;
  std::shared_ptr<kubernetes::Kubernetes> k8s;
  std::shared_ptr<K8sExternal> handler;
};

// `k8s_external <head> { <lines> }` beside `kubernetes cluster.local` in one block.
Fixture makeExternal(std::string_view head, std::initializer_list<std::string_view> lines = {},
                     std::vector<kubernetes::Ip> localIps = {ip("192.0.2.53")}) {
  std::string text = "cluster.local example.com {\n  kubernetes cluster.local\n  k8s_external " +
                     std::string(head) + " {\n";
  for (std::string_view l : lines) text += "    " + std::string(l) + "\n";
  text += "  }\n}\n";
  Fixture f{moat::testing::stanzasOf(text, "k8s_external"), nullptr, nullptr};
  SetupContext ctx;
  ctx.block = &f.parsed.file.blocks.at(0);
  ctx.zones = {"cluster.local.", "example.com."};
  ctx.stanzas = f.parsed.stanzas;
  auto config = parseConfig(ctx);
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().str()));
  f.k8s = kubernetes::testing::makeHandler("cluster.local", {}, externalCluster(), std::move(localIps));
  f.handler = std::make_shared<K8sExternal>(std::move(*config), 1);
  std::vector<HandlerPtr> chain{f.handler, f.k8s};
  f.handler->peersReady(chain);
  return f;
}

std::string soa(const std::string& zone = "example.com.", uint32_t ttl = 5, const std::string& apex = "dns") {
  return zone + " " + std::to_string(ttl) + " IN SOA ns1." + apex + "." + zone + " hostmaster." + apex + "." +
         zone + " " + std::to_string(kSerial) + " 7200 1800 86400 " + std::to_string(ttl);
}

conf::Diag setupError(std::string_view corefile) {
  auto parsed = moat::testing::stanzasOf(corefile, "k8s_external");
  SetupContext ctx;
  ctx.block = &parsed.file.blocks.at(0);
  ctx.zones = {"example.com."};
  ctx.stanzas = parsed.stanzas;
  auto config = parseConfig(ctx);
  REQUIRE_FALSE(config.ok());
  return config.error();
}

TEST_CASE("k8s_external: setup reads zones and options, defaults as CoreDNS's") {
  auto f = makeExternal("example.com in-addr.arpa", {"apex ext", "ttl 30", "headless", "fallthrough"});
  const Config& c = f.handler->config();
  CHECK(c.zones == Strings{"example.com.", "in-addr.arpa."});
  CHECK(c.apex == "ext");
  CHECK(c.ttl == 30);
  CHECK(c.headless);
  CHECK(c.fall.enabled());
  auto plain = makeExternal("");
  CHECK(plain.handler->config().zones == Strings{"cluster.local.", "example.com."});  // the block's
  CHECK(plain.handler->config().apex == "dns");
  CHECK(plain.handler->config().ttl == 5);
  CHECK_FALSE(plain.handler->config().headless);
  CHECK_FALSE(plain.handler->config().fall.enabled());
}

TEST_CASE("k8s_external: setup errors name their place") {
  struct Case {
    const char* corefile;
    int line, col;
    const char* says;
  };
  const Case cases[] = {
      {"example.com {\n  k8s_external example.com\n  forward . 192.0.2.1\n}\n", 2, 3, "kubernetes plugin"},
      {". {\n  kubernetes\n  k8s_external example.com {\n    ttll 3\n  }\n}\n", 4, 5, "did you mean 'ttl'"},
      {". {\n  kubernetes\n  k8s_external example.com {\n    headles\n  }\n}\n", 4, 5, "did you mean 'headless'"},
      {". {\n  kubernetes\n  k8s_external example.com {\n    ttl 3601\n  }\n}\n", 4, 9, "ttl"},
      {". {\n  kubernetes\n  k8s_external example.com {\n    ttl\n  }\n}\n", 4, 5, "ttl"},
      {". {\n  kubernetes\n  k8s_external example.com {\n    apex a..b\n  }\n}\n", 4, 10, "apex"},
      {". {\n  kubernetes\n  k8s_external example.com {\n    headless yes\n  }\n}\n", 4, 14, "headless"},
      {". {\n  kubernetes\n  k8s_external example.com\n  k8s_external example.net\n}\n", 4, 3, "once"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    conf::Diag d = setupError(c.corefile);
    CAPTURE(d.str());
    CHECK(d.pos.line == c.line);
    CHECK(d.pos.col == c.col);
    CHECK(d.message.find(c.says) != std::string::npos);
  }
}

struct Expect {
  std::string name;
  uint16_t type;
  int rcode;
  Strings answer;
  Strings additional = {};
  bool soa = false;  // the zone's SOA in authority
};

void check(Handler& h, const Expect& e, const std::string& soaText = soa()) {
  CAPTURE(e.name);
  CAPTURE(e.type);
  auto r = moat::testing::ask(h, e.name, e.type);
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.aa);
  CHECK(r.reply.rcode == e.rcode);
  CHECK(r.reply.answer == e.answer);
  CHECK(r.reply.additional == e.additional);
  CHECK(r.reply.authority == (e.soa ? Strings{soaText} : Strings{}));
}

TEST_CASE("k8s_external: CoreDNS's external_test cases") {
  auto f = makeExternal("example.com in-addr.arpa", {"headless"});
  const std::string s1 = "svc1.testns.example.com.";
  const std::string hl = "svc-headless.testns.example.com.";
  const std::string ep0 = "endpoint-svc-0." + hl, ep1 = "endpoint-svc-1." + hl;
  const Expect cases[] = {
      {"4.3.2.1.in-addr.arpa.", rr::PTR, kNoError, {"4.3.2.1.in-addr.arpa. 5 IN PTR svc1.testns.example.com."}},
      {"svc1.testns.example.com.", rr::PTR, kNoError, {}, {}, true},
      {"not-existing.testns.example.com.", rr::PTR, kNxDomain, {}, {}, true},
      {"svc1.testns.example.com.", rr::A, kNoError, {s1 + " 5 IN A 1.2.3.4"}},
      {"SVC1.TestNS.example.com.", rr::A, kNoError, {"SVC1.TestNS.example.com. 5 IN A 1.2.3.4"}},
      {"svc1.testns.example.com.", rr::SRV, kNoError, {s1 + " 5 IN SRV 0 100 80 " + s1}, {s1 + " 5 IN A 1.2.3.4"}},
      {"*._not-udp-or-tcp.svc1.testns.example.com.", rr::SRV, kNxDomain, {}, {}, true},
      {"_http._tcp.svc1.testns.example.com.", rr::SRV, kNoError,
       {"_http._tcp." + s1 + " 5 IN SRV 0 100 80 " + s1}, {s1 + " 5 IN A 1.2.3.4"}},
      {"svc1.testns.example.com.", rr::AAAA, kNoError, {}, {}, true},
      {"svc0.testns.example.com.", rr::AAAA, kNxDomain, {}, {}, true},
      {"svc0.svc-nons.example.com.", rr::A, kNxDomain, {}, {}, true},
      {"svc6.testns.example.com.", rr::AAAA, kNoError, {"svc6.testns.example.com. 5 IN AAAA 1:2::5"}},
      {"_http._tcp.svc6.testns.example.com.", rr::SRV, kNoError,
       {"_http._tcp.svc6.testns.example.com. 5 IN SRV 0 100 80 svc6.testns.example.com."},
       {"svc6.testns.example.com. 5 IN AAAA 1:2::5"}},
      {"testns.example.com.", rr::A, kNoError, {}, {}, true},
      {"testns.example.com.", rr::SOA, kNoError, {}, {}, true},
      {"svc11.testns.example.com.", rr::A, kNoError, {"svc11.testns.example.com. 5 IN A 2.3.4.5"}},
      {"svc12.testns.example.com.", rr::A, kNoError, {"svc12.testns.example.com. 5 IN CNAME dummy.hostname."}},
      {"_http._tcp.svc12.testns.example.com.", rr::SRV, kNoError,
       {"_http._tcp.svc12.testns.example.com. 5 IN SRV 0 100 80 dummy.hostname."}},
      {hl, rr::A, kNoError, {hl + " 5 IN A 1.2.3.4", hl + " 5 IN A 1.2.3.5"}},
      {hl, rr::SRV, kNoError, {hl + " 5 IN SRV 0 50 80 " + ep0, hl + " 5 IN SRV 0 50 80 " + ep1},
       {ep0 + " 5 IN A 1.2.3.4", ep1 + " 5 IN A 1.2.3.5"}},
      {"_http._tcp." + hl, rr::SRV, kNoError,
       {"_http._tcp." + hl + " 5 IN SRV 0 50 80 " + ep0, "_http._tcp." + hl + " 5 IN SRV 0 50 80 " + ep1},
       {ep0 + " 5 IN A 1.2.3.4", ep1 + " 5 IN A 1.2.3.5"}},
      {ep0, rr::SRV, kNoError, {ep0 + " 5 IN SRV 0 100 80 " + ep0}, {ep0 + " 5 IN A 1.2.3.4"}},
      {ep1, rr::A, kNoError, {ep1 + " 5 IN A 1.2.3.5"}},
      {"not-ready." + hl, rr::A, kNxDomain, {}, {}, true},
      // Beyond CoreDNS's table: no external address is NXDOMAIN, too many labels too; MX NODATA.
      {"svc-internal.testns.example.com.", rr::A, kNxDomain, {}, {}, true},
      {"a.b.c.svc1.testns.example.com.", rr::A, kNxDomain, {}, {}, true},
      {"svc1.testns.example.com.", rr::MX, kNoError, {}, {}, true},
      // Two ports, one address listed twice: one A, SRV weight shared by four candidates.
      {"svc-multi.testns.example.com.", rr::A, kNoError, {"svc-multi.testns.example.com. 5 IN A 1.2.3.6"}},
      {"svc-multi.testns.example.com.", rr::SRV, kNoError,
       {"svc-multi.testns.example.com. 5 IN SRV 0 25 80 svc-multi.testns.example.com.",
        "svc-multi.testns.example.com. 5 IN SRV 0 25 53 svc-multi.testns.example.com."},
       {"svc-multi.testns.example.com. 5 IN A 1.2.3.6"}},
      {"_dns._udp.svc-multi.testns.example.com.", rr::SRV, kNoError,
       {"_dns._udp.svc-multi.testns.example.com. 5 IN SRV 0 50 53 svc-multi.testns.example.com."},
       {"svc-multi.testns.example.com. 5 IN A 1.2.3.6"}},
  };
  for (const Expect& e : cases) check(*f.handler, e);
  // A reverse name outside every service: NXDOMAIN with the reverse zone's SOA.
  check(*f.handler, {"9.9.9.9.in-addr.arpa.", rr::PTR, kNxDomain, {}, {}, true}, soa("in-addr.arpa."));
  // Names outside the zones go on.
  CHECK(moat::testing::ask(*f.handler, "svc1.testns.svc.cluster.local.", rr::A).verdict == Verdict::Next);
}

TEST_CASE("k8s_external: without headless, a headless service has no external name") {
  auto f = makeExternal("example.com");
  check(*f.handler, {"svc-headless.testns.example.com.", rr::A, kNxDomain, {}, {}, true});
  check(*f.handler, {"endpoint-svc-0.svc-headless.testns.example.com.", rr::A, kNxDomain, {}, {}, true});
  // An endpoint name of a service with external addresses answers those (CoreDNS's quirk).
  check(*f.handler, {"x.svc1.testns.example.com.", rr::A, kNoError, {"x.svc1.testns.example.com. 5 IN A 1.2.3.4"}});
}

TEST_CASE("k8s_external: the apex and its dns subdomain") {
  auto f = makeExternal("example.com");
  const std::string ns1 = "ns1.dns.example.com.";
  // This host (192.0.2.53) is an endpoint of kube-dns: its external IP is the name server's.
  check(*f.handler, {"example.com.", rr::SOA, kNoError, {soa()}});
  check(*f.handler, {"Example.COM.", rr::NS, kNoError, {"example.com. 5 IN NS " + ns1},
                     {"ns1.dns.Example.COM. 5 IN A 203.0.113.53"}});
  check(*f.handler, {"example.com.", rr::A, kNoError, {}, {}, true});
  check(*f.handler, {ns1, rr::A, kNoError, {ns1 + " 5 IN A 203.0.113.53"}});
  check(*f.handler, {ns1, rr::AAAA, kNoError, {}, {}, true});
  check(*f.handler, {ns1, rr::MX, kNoError, {}, {}, true});
  check(*f.handler, {"dns.example.com.", rr::A, kNoError, {}, {}, true});
  check(*f.handler, {"ns2.dns.example.com.", rr::A, kNxDomain, {}, {}, true});
  check(*f.handler, {"a.ns1.dns.example.com.", rr::A, kNxDomain, {}, {}, true});

  // Not an endpoint of any service: the host's own addresses; a custom apex and TTL.
  auto g = makeExternal("example.com", {"apex ext", "ttl 60"}, {ip("198.51.100.1"), ip("2001:db8::1")});
  const std::string gns = "ns1.ext.example.com.";
  const std::string gsoa = soa("example.com.", 60, "ext");
  check(*g.handler, {"example.com.", rr::NS, kNoError, {"example.com. 60 IN NS " + gns},
                     {gns + " 60 IN A 198.51.100.1", gns + " 60 IN AAAA 2001:db8::1"}}, gsoa);
  check(*g.handler, {gns, rr::AAAA, kNoError, {gns + " 60 IN AAAA 2001:db8::1"}}, gsoa);
  check(*g.handler, {"ns1.dns.example.com.", rr::A, kNxDomain, {}, {}, true}, gsoa);
  // TTL: A from k8s_external's, SRV from kubernetes' (as CoreDNS builds it from the service).
  check(*g.handler, {"svc1.testns.example.com.", rr::SRV, kNoError,
                     {"svc1.testns.example.com. 5 IN SRV 0 100 80 svc1.testns.example.com."},
                     {"svc1.testns.example.com. 60 IN A 1.2.3.4"}}, gsoa);
}

TEST_CASE("k8s_external: fallthrough only for names that do not exist") {
  auto f = makeExternal("example.com", {"fallthrough"});
  CHECK(moat::testing::ask(*f.handler, "nope.testns.example.com.", rr::A).verdict == Verdict::Next);
  CHECK(moat::testing::ask(*f.handler, "svc1.nons.example.com.", rr::A).verdict == Verdict::Next);
  check(*f.handler, {"svc1.testns.example.com.", rr::AAAA, kNoError, {}, {}, true});
  check(*f.handler, {"testns.example.com.", rr::A, kNoError, {}, {}, true});
  auto g = makeExternal("example.com", {"fallthrough other.org"});
  check(*g.handler, {"nope.testns.example.com.", rr::A, kNxDomain, {}, {}, true});
}

// The types of the RRsets at `name` in `zone`, empty when it has none.
std::vector<uint16_t> typesAt(const file::Zone& zone, const std::string& name) {
  std::vector<uint16_t> out;
  auto wire = dns::nameFromText(name);
  REQUIRE(wire);
  const file::Node* node = zone.find(dns::lowercased(*wire));
  if (node == nullptr) return out;
  for (const file::RRset& set : zone.sets(*node)) out.push_back(set.type);
  return out;
}

TEST_CASE("k8s_external: the zone transfer offers every name the queries answer") {
  auto f = makeExternal("example.com", {"headless"});
  auto origin = dns::nameFromText("example.com.");
  REQUIRE(origin);
  const file::ZonePtr zone = f.handler->servedZone(*origin);
  REQUIRE(zone);
  CHECK(zone->serial() == kSerial);
  CHECK(f.handler->servedOrigins() == Strings{"example.com."});
  CHECK(f.handler->servedZone(*dns::nameFromText("example.net.")) == nullptr);
  using T = std::vector<uint16_t>;
  CHECK(typesAt(*zone, "example.com.") == T{rr::NS, rr::SOA});
  CHECK(typesAt(*zone, "ns1.dns.example.com.") == T{rr::A});
  CHECK(typesAt(*zone, "svc1.testns.example.com.") == T{rr::A, rr::SRV});
  CHECK(typesAt(*zone, "_http._tcp.svc1.testns.example.com.") == T{rr::SRV});
  CHECK(typesAt(*zone, "svc6.testns.example.com.") == T{rr::AAAA, rr::SRV});
  CHECK(typesAt(*zone, "svc12.testns.example.com.") == T{rr::CNAME});
  CHECK(typesAt(*zone, "_http._tcp.svc12.testns.example.com.") == T{rr::SRV});
  CHECK(typesAt(*zone, "svc-headless.testns.example.com.") == T{rr::A, rr::SRV});
  CHECK(typesAt(*zone, "endpoint-svc-1.svc-headless.testns.example.com.") == T{rr::A, rr::SRV});
  CHECK(typesAt(*zone, "not-ready.svc-headless.testns.example.com.").empty());
  CHECK(typesAt(*zone, "svc-internal.testns.example.com.").empty());
  // Without headless, a headless service has no names in it.
  auto g = makeExternal("example.com");
  const file::ZonePtr plain = g.handler->servedZone(*origin);
  REQUIRE(plain);
  CHECK(typesAt(*plain, "svc-headless.testns.example.com.").empty());
}

TEST_CASE("k8s_external: explain says what it answered") {
  auto f = makeExternal("example.com");
  moat::testing::TraceNotes notes;
  dns::Query q;
  moat::testing::QuerySpec spec;
  spec.name = "svc1.testns.example.com.";
  spec.type = rr::A;
  moat::testing::loadQuery(q, moat::testing::makeQuery(spec));
  q.trace = &notes;
  CHECK(f.handler->onQuery(q) == Verdict::Answered);
  REQUIRE(notes.lines.size() == 1);
  CHECK(notes.lines[0] == "k8s_external: example.com.: the service's external addresses");
}

TEST_CASE("k8s_external: onQuery does not allocate once warm") {
  using moat::testing::allocations;
  using moat::testing::counting;
  auto f = makeExternal("example.com in-addr.arpa", {"headless", "fallthrough in-addr.arpa"});
  struct Case {
    const char* name;
    uint16_t type;
    Verdict verdict;
  };
  const Case cases[] = {
      {"svc1.testns.example.com.", rr::A, Verdict::Answered},
      {"svc6.testns.example.com.", rr::AAAA, Verdict::Answered},
      {"svc12.testns.example.com.", rr::A, Verdict::Answered},
      {"svc-multi.testns.example.com.", rr::SRV, Verdict::Answered},
      {"_http._tcp.svc-headless.testns.example.com.", rr::SRV, Verdict::Answered},
      {"endpoint-svc-0.svc-headless.testns.example.com.", rr::A, Verdict::Answered},
      {"4.3.2.1.in-addr.arpa.", rr::PTR, Verdict::Answered},
      {"9.9.9.9.in-addr.arpa.", rr::PTR, Verdict::Next},
      {"example.com.", rr::NS, Verdict::Answered},
      {"example.com.", rr::SOA, Verdict::Answered},
      {"ns1.dns.example.com.", rr::A, Verdict::Answered},
      {"nope.testns.example.com.", rr::A, Verdict::Answered},
      {"svc1.testns.example.com.", rr::MX, Verdict::Answered},
      {"example.org.", rr::A, Verdict::Next},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    dns::Query q;
    moat::testing::QuerySpec spec;
    spec.name = c.name;
    spec.type = c.type;
    moat::testing::loadQuery(q, moat::testing::makeQuery(spec));
    q.reply.reserve(1024);
    CHECK(f.handler->onQuery(q) == c.verdict);  // warms the worker's scratch
    allocations = 0;
    counting = true;
    const Verdict v = f.handler->onQuery(q);
    counting = false;
    CHECK(v == c.verdict);
    CHECK(allocations == 0);
  }
}

}  // namespace
}  // namespace moat::plugins::k8s_external
