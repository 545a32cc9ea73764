// The private-zone guarantee over a matrix of Corefiles (DESIGN.md §4, issue 4 "Tests"): hosts
// with fallthrough in front of `forward .`, `except`, cache on and off, plugin lines written in
// another order, force_tcp / prefer_udp with truncated answers, several server blocks and
// ports, scoped forwards (the escape hatch), the split-DNS idiom, kubernetes with bare
// fallthrough and ExternalName services, `refuse` and `negttl`. Each Corefile runs against
// recording upstreams on loopback; every private name is asked with every qtype over UDP and
// TCP, and the upstreams must never see one unless a forward scoped to its zone sent it.
#include <doctest/doctest.h>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/leak_probe.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace leak_matrix_test {

using namespace moat::testing;
using namespace moat::testing::leak;

namespace {

// Private names no Corefile below knows: each must get the private answer of its zone.
const std::vector<std::string> kMissing = {
    "missing.internal.company",   "a.b.c.deep.internal.company", "MiSsInG.InTeRnAl.CoMpAnY",
    "foo.local",                  "x.home.arpa",                 "y.internal",
    "z.invalid",                  reverseName("192.168.1.1"),    reverseName("10.9.9.9"),
    reverseName("172.16.0.1"),    reverseName("fd12::1"),        reverseName("fe80::1"),
    "api.internal.company.svc.cluster.local",
};

const std::vector<std::string> kPublic = {"www.example.com", "api.internal.company.example.org"};

std::string hostsFile(const TempDir& dir) {
  return dir.write("hosts", "10.0.0.5 api.internal.company\n10.0.0.6 db.internal.company\n");
}

}  // namespace

TEST_CASE("leak: hosts+fallthrough+forward ., cache on and off, any written order, force_tcp, prefer_udp") {
  struct Variant {
    bool cache;
    bool reversed;            // plugin lines written bottom-up: execution order must not change
    std::string forwardOpts;  // inside forward { }
    bool truncating;          // the upstream truncates UDP answers (prefer_udp retries over TCP)
  };
  const std::vector<Variant> variants = {
      {false, false, "", false},
      {true, false, "", false},
      {false, true, "force_tcp", false},
      {true, true, "prefer_udp", true},
  };
  for (const Variant& v : variants) {
    INFO("cache " << v.cache << ", reversed " << v.reversed << ", forward {" << v.forwardOpts << "}");
    FakeUpstream upstream;
    if (v.truncating) upstream.setMode(FakeUpstream::Mode::Truncate);
    TempDir dir;
    std::vector<std::string> lines = {
        "    hosts " + hostsFile(dir) + " {\n        fallthrough\n    }\n",
        v.cache ? "    cache 30\n" : "",
        "    forward . " + upstream.address() +
            (v.forwardOpts.empty() ? "" : " {\n        " + v.forwardOpts + "\n    }") + "\n",
        "    private internal.company\n",
    };
    std::string conf = ".:@PORT@ {\n    bind 127.0.0.1\n";
    for (size_t i = 0; i < lines.size(); ++i) conf += lines[v.reversed ? lines.size() - 1 - i : i];
    conf += "}\n";
    ServerProcess s(dir, conf);

    expectBlocked(s.port(), kMissing, {"internal.company"}, {&upstream});
    for (const Asked& a : askAll(s.port(), {"api.internal.company", "Db.Internal.Company"}, allTypes())) {
      std::string address = canonical(a.name) == "api.internal.company." ? "10.0.0.5" : "10.0.0.6";
      std::string why = check(a, a.type == "A" ? data(address) : nodata());
      CHECK_MESSAGE(why.empty(), why);
    }
    // A second round: with cache on, nothing cached may turn into an upstream query either.
    expectBlocked(s.port(), kMissing, {"internal.company"}, {&upstream});
    expectForwarded(s.port(), kPublic, upstream);
    if (!v.forwardOpts.empty()) {  // force_tcp: everything left over TCP; prefer_udp: UDP first
      CHECK(saw(upstream, "www.example.com", 1, v.forwardOpts == "force_tcp" ? 1 : 0));
    }
    CHECK(seenUnder(upstream, privateZones({"internal.company"})).empty());
  }
}

TEST_CASE("leak: `except` lists do not open or close the egress check") {
  FakeUpstream upstream;
  TempDir dir;
  ServerProcess s(dir,
                  ".:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    hosts " + hostsFile(dir) + " {\n        fallthrough\n    }\n"
                  "    forward . " + upstream.address() + " {\n"
                  "        except internal.company example.net local\n"
                  "    }\n"
                  "    private internal.company\n"
                  "}\n");
  // Excepted private names skip forward and still get the private answer; private names not
  // excepted are blocked by the check itself.
  expectBlocked(s.port(), kMissing, {"internal.company"}, {&upstream});
  expectForwarded(s.port(), kPublic, upstream);
  askAll(s.port(), {"www.example.net"}, {"A"});
  CHECK_FALSE(saw(upstream, "www.example.net"));  // except still works for public names
}

TEST_CASE("leak: several server blocks and ports, private zones hold for every block") {
  FakeUpstream upstream;
  TempDir dir;
  uint16_t other = freePort();
  std::string hosts = hostsFile(dir);
  ServerProcess s(dir,
                  "internal.company:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    hosts " + hosts + " {\n        fallthrough\n    }\n"
                  "}\n"
                  ".:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    forward . " + upstream.address() + "\n"
                  "}\n"
                  // Another port, declaring the zone for the whole configuration with a bare
                  // `private` in its own block.
                  "corp.example:" + std::to_string(other) + " {\n"
                  "    bind 127.0.0.1\n"
                  "    private\n"
                  "    hosts " + hosts + "\n"
                  "}\n"
                  ".:" + std::to_string(other) + " {\n"
                  "    bind 127.0.0.1\n"
                  "    forward . " + upstream.address() + "\n"
                  "    private internal.company\n"
                  "}\n");
  REQUIRE(waitListening(other));  // ServerProcess waited for the first port only
  const std::vector<std::string> declared = {"internal.company", "corp.example"};
  std::vector<std::string> names = kMissing;
  names.push_back("www.corp.example");
  names.push_back("a.b.Corp.Example");
  // On the first port internal.company names go to the hosts-only block, the rest to `.`.
  expectBlocked(s.port(), names, declared, {&upstream});
  // On the second, everything but corp.example reaches the `.` block with its forward.
  std::vector<std::string> viaRoot = kMissing;
  viaRoot.push_back("api.internal.company");
  viaRoot.push_back("db.internal.company");
  for (const Asked& a : askAll(other, viaRoot, allTypes())) {
    std::string zone = deepestZone(canonical(a.name), privateZones(declared));
    std::string why = check(a, miss(zone));
    CHECK_MESSAGE(why.empty(), why);
  }
  auto leaked = seenUnder(upstream, privateZones(declared));
  CHECK_MESSAGE(leaked.empty(), "LEAKED upstream:\n  " << join(leaked));
  expectForwarded(s.port(), kPublic, upstream);
  expectForwarded(other, {"www.example.org"}, upstream);
}

TEST_CASE("leak: scoped forwards are the escape hatch, and only for their own zone") {
  FakeUpstream site, world;
  TempDir dir;
  ServerProcess s(dir,
                  ".:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    hosts " + hostsFile(dir) + " {\n        fallthrough\n    }\n"
                  "    forward sub.internal.company " + site.address() + "\n"
                  "    forward company " + site.address() + "\n"  // above the private zone
                  "    forward corp.local " + site.address() + "\n"
                  "    forward 10.in-addr.arpa " + site.address() + "\n"
                  "    forward . " + world.address() + "\n"
                  "    private internal.company\n"
                  // Nested inside the hatch's scope: the deepest private zone decides.
                  "    private vault.sub.internal.company\n"
                  "}\n");
  // Allowed: names in the scoped zones reach the site resolver, every qtype, both transports.
  const std::vector<std::string> allowed = {"a.sub.internal.company", "X.Y.Sub.Internal.Company",
                                            "host.corp.local", reverseName("10.0.0.99"), "www.company"};
  for (const Asked& a : askAll(s.port(), allowed, allTypes())) {
    std::string why = check(a, forwarded());
    CHECK_MESSAGE(why.empty(), why);
    CHECK_MESSAGE(saw(site, a.name, typeCode(a.type), a.tcp ? 1 : 0),
                  a.what() << " did not reach the scoped forward; it saw:\n  " << everythingSeen(site));
  }
  // Not allowed: internal.company itself (`forward company` lies above it), other .local and
  // reverse zones; none of them to either upstream.
  std::vector<std::string> blocked;  // kMissing but its 10.x name, which the hatch lets out
  for (const auto& n : kMissing) {
    if (!atOrUnder(canonical(n), "10.in-addr.arpa.")) blocked.push_back(n);
  }
  blocked.push_back("sub2.internal.company");
  blocked.push_back("key.vault.sub.internal.company");
  blocked.push_back("Vault.Sub.Internal.Company");
  blocked.push_back("other.local");
  blocked.push_back(reverseName("192.168.0.10"));
  auto zones = privateZones({"internal.company", "vault.sub.internal.company"});
  for (const Asked& a : askAll(s.port(), blocked, allTypes())) {
    std::string zone = deepestZone(canonical(a.name), zones);
    std::string why = check(a, canonical(a.name) == zone ? (a.type == "ANY" ? local() : nodata(zone)) : miss(zone));
    CHECK_MESSAGE(why.empty(), why);
  }
  std::vector<std::string> siteLeaks;
  for (const auto& r : site.received()) {
    std::string n = canonical(r.name);
    bool scoped = (atOrUnder(n, "sub.internal.company.") && !atOrUnder(n, "vault.sub.internal.company.")) ||
                  atOrUnder(n, "corp.local.") ||
                  atOrUnder(n, "10.in-addr.arpa.") || (atOrUnder(n, "company.") && !atOrUnder(n, "internal.company."));
    if (!scoped) siteLeaks.push_back(r.name);
  }
  CHECK_MESSAGE(siteLeaks.empty(), "LEAKED to the site resolver:\n  " << join(siteLeaks));
  auto worldLeaks = seenUnder(world, zones);
  CHECK_MESSAGE(worldLeaks.empty(), "LEAKED to the `forward .` upstream:\n  " << join(worldLeaks));
  expectForwarded(s.port(), kPublic, world);
}

TEST_CASE("leak: the split-DNS idiom (a zone block with `forward .`) is scoped, `.` still blocks") {
  FakeUpstream site, home, world;
  TempDir dir;
  ServerProcess s(dir,
                  "internal.company:@PORT@ corp.local:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    forward . " + site.address() + "\n"
                  "}\n"
                  "lan.home.arpa:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    forward internal.company " + site.address() + "\n"  // disjoint: never matches
                  "    forward home.arpa " + home.address() + "\n"        // narrowed to lan.home.arpa
                  "}\n"
                  ".:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    forward . " + world.address() + "\n"
                  "    private internal.company\n"
                  "}\n");
  const std::vector<std::string> toSite = {"missing.internal.company", "A.B.Internal.Company", "internal.company",
                                           "nas.corp.local"};
  for (const Asked& a : askAll(s.port(), toSite, allTypes())) {
    CHECK_MESSAGE(check(a, forwarded()).empty(), a.what());
    CHECK_MESSAGE(saw(site, a.name, typeCode(a.type), a.tcp ? 1 : 0),
                  a.what() << " did not reach the split-DNS forward");
  }
  for (const Asked& a : askAll(s.port(), {"printer.lan.home.arpa"}, allTypes())) {
    CHECK_MESSAGE(check(a, forwarded()).empty(), a.what());
    CHECK_MESSAGE(saw(home, a.name, typeCode(a.type), a.tcp ? 1 : 0),
                  a.what() << " did not reach the narrowed forward");
  }
  std::vector<std::string> blocked = {"foo.local", "x.home.arpa", "y.internal", reverseName("10.1.1.1"),
                                      "svc.cluster.local"};
  expectBlocked(s.port(), blocked, {"internal.company"}, {&world});  // site, home: checked below
  for (const auto& r : site.received()) {
    std::string n = canonical(r.name);
    CHECK_MESSAGE((atOrUnder(n, "internal.company.") || atOrUnder(n, "corp.local.")),
                  "LEAKED to the site: " << r.name);
  }
  for (const auto& r : home.received()) {
    CHECK_MESSAGE(atOrUnder(canonical(r.name), "lan.home.arpa."), "LEAKED to home: " << r.name);
  }
  expectForwarded(s.port(), kPublic, world);
}

TEST_CASE("leak: kubernetes with bare fallthrough and ExternalName services") {
  FakeUpstream upstream;
  TempDir dir;
  std::string objects = dir.write("objects.yaml",
                                  "apiVersion: v1\n"
                                  "kind: List\n"
                                  "items:\n"
                                  "- {apiVersion: v1, kind: Namespace, metadata: {name: shop}}\n"
                                  "- apiVersion: v1\n"
                                  "  kind: Service\n"
                                  "  metadata: {name: web, namespace: shop}\n"
                                  "  spec: {type: ClusterIP, clusterIP: 10.96.0.20, clusterIPs: [10.96.0.20],\n"
                                  "         ports: [{name: http, port: 80, protocol: TCP}]}\n"
                                  "- apiVersion: v1\n"
                                  "  kind: Service\n"
                                  "  metadata: {name: db, namespace: shop}\n"
                                  "  spec: {type: ExternalName, externalName: db.internal.company}\n"
                                  "- apiVersion: v1\n"
                                  "  kind: Service\n"
                                  "  metadata: {name: printer, namespace: shop}\n"
                                  "  spec: {type: ExternalName, externalName: printer.office.local}\n"
                                  "- apiVersion: v1\n"
                                  "  kind: Service\n"
                                  "  metadata: {name: payments, namespace: shop}\n"
                                  "  spec: {type: ExternalName, externalName: payments.example.com}\n");
  ServerProcess s(dir,
                  ".:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
                  "        objects " + objects + "\n"
                  "        pods insecure\n"
                  "        fallthrough\n"
                  "    }\n"
                  "    cache 30\n"
                  "    forward . " + upstream.address() + "\n"
                  "    private internal.company\n"
                  "}\n");
  // Search-path forms and misses in cluster.local fall through to forward: blocked (local.).
  const std::vector<std::string> names = {"api.internal.company.default.svc.cluster.local",
                                          "api.internal.company.svc.cluster.local",
                                          "www.example.com.cluster.local", "nothere.shop.svc.cluster.local",
                                          "missing.internal.company", reverseName("10.244.9.9"),
                                          reverseName("fd00::1234")};
  for (const Asked& a : askAll(s.port(), names, allTypes())) {
    CHECK_MESSAGE((a.reply.ok && a.reply.aa && (a.reply.rcode == 0 || a.reply.rcode == 3) && a.reply.answer.empty()),
                  a.what());
  }
  // Services still answer; ExternalNames to private names are chased locally, never upstream.
  for (const Asked& a : askAll(s.port(), {"web.shop.svc.cluster.local"}, {"A"})) {
    CHECK_MESSAGE(check(a, data("10.96.0.20")).empty(), a.what());
  }
  for (const Asked& a : askAll(s.port(), {"db.shop.svc.cluster.local", "printer.shop.svc.cluster.local"},
                               {"A", "AAAA"})) {
    CHECK_MESSAGE((a.reply.ok && a.reply.rcode != 2), a.what());
    CHECK_MESSAGE((!a.reply.answer.empty() && a.reply.answer[0].find("CNAME") != std::string::npos), a.what());
  }
  auto leaked = seenUnder(upstream, privateZones({"internal.company"}));
  CHECK_MESSAGE(leaked.empty(), "LEAKED upstream:\n  " << join(leaked));
  // A public ExternalName is chased to the upstream: the chase (and the recording) works.
  for (const Asked& a : askAll(s.port(), {"payments.shop.svc.cluster.local"}, {"A"})) {
    CHECK_MESSAGE((a.reply.ok && a.reply.rcode == 0 && a.reply.answer.size() == 2), a.what());
  }
  CHECK_MESSAGE(saw(upstream, "payments.example.com", 1), everythingSeen(upstream));
  expectForwarded(s.port(), kPublic, upstream);
}

TEST_CASE("leak: NODATA for names hosts knows (fallthrough_unsupported), refuse, negttl") {
  FakeUpstream upstream;
  TempDir dir;
  ServerProcess s(dir,
                  ".:@PORT@ {\n"
                  "    bind 127.0.0.1\n"
                  "    hosts " + hostsFile(dir) + " {\n        fallthrough\n        fallthrough_unsupported\n    }\n"
                  "    forward . " + upstream.address() + "\n"
                  "    private internal.company {\n        negttl 60\n    }\n"
                  "    private corp.example {\n        refuse\n    }\n"
                  "}\n");
  // MX, TXT, ... of a name hosts knows are handed on, blocked, and answered NODATA with the SOA.
  for (const Asked& a : askAll(s.port(), {"api.internal.company"}, {"HTTPS", "MX", "TXT", "SRV", "ANY"})) {
    std::string why = check(a, nodata("internal.company."));
    CHECK_MESSAGE(why.empty(), why);
  }
  for (const Asked& a : askAll(s.port(), {"missing.internal.company"}, {"A", "MX"})) {
    REQUIRE_MESSAGE(check(a, miss("internal.company.")).empty(), a.what());
    CHECK_MESSAGE(a.reply.authority[0].find("internal.company. 60 IN SOA") == 0, a.what());
  }
  std::vector<std::string> names = kMissing;
  names.push_back("www.corp.example");
  names.push_back("Deep.Er.Corp.Example");
  expectBlocked(s.port(), names, {"internal.company", "corp.example"}, {&upstream}, "corp.example.");
  expectForwarded(s.port(), kPublic, upstream);
}

}  // namespace leak_matrix_test
