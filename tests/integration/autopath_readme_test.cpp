// The Corefile examples of the autopath README, read from the README and run by the real binary,
// asked with dig (`-b 127.0.0.x` plays a pod of that address), forward's upstream a recording
// FakeUpstream. Then the point of the plugin, measured: the round trips a glibc-style stub
// resolver (ndots:5, search list in order, then the absolute name, stopping at the first reply
// that is not NXDOMAIN) makes for an external name and for a service name, with and without
// autopath. Last, a private zone on the search path: its names stop at the egress check.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "plugins/resolv_search.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace autopath_readme_test {

using namespace moat::testing;

namespace {

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return text.replace(at, from.size(), to);
}

// dig's columns are tabs, more or fewer by the name's length: compared with single spaces.
bool has(const std::string& out, const std::string& text) {
  const std::string flat = std::regex_replace(out, std::regex("[ \t]+"), " ");
  return flat.find(text) != std::string::npos;
}

// The host's search domains, which kubernetes appends to every pod's path (CoreDNS too).
std::vector<std::string> hostSearch() {
  std::vector<std::string> out;
  for (const auto& wire : moat::plugins::hostSearchDomains()) out.push_back(moat::dns::nameToText(wire));
  return out;
}

const char* kCluster = R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop}
  spec:
    clusterIP: 10.96.0.20
    ports: [{name: http, port: 80, protocol: TCP}]
- apiVersion: v1
  kind: Pod
  metadata: {name: client, namespace: default}
  status: {podIP: 127.0.0.2}
- apiVersion: v1
  kind: Pod
  metadata: {name: shopper, namespace: shop}
  status: {podIP: 127.0.0.3}
)";

// A stub resolver with ndots:5 resolving NAME from SOURCE: each search domain in order, then
// the absolute name, until a reply is not NXDOMAIN. Returns the round trips it made.
struct Walked {
  int roundTrips = 0;
  Reply last;
};
Walked glibcWalk(uint16_t port, const std::string& source, const std::string& name,
                 const std::vector<std::string>& search) {
  Walked w;
  std::vector<std::string> tries;
  for (const std::string& domain : search) tries.push_back(name + "." + domain);
  tries.push_back(name + ".");
  for (const std::string& t : tries) {
    QuerySpec spec;
    spec.name = t;
    const auto reply = exchangeUdpFrom(source, port, makeQuery(spec));
    ++w.roundTrips;
    w.last = decode(reply);
    if (!w.last.ok || w.last.rcode != 3) break;
  }
  return w;
}

}  // namespace

TEST_CASE("autopath README: a file's search list, the found name answers with a CNAME") {
  const auto examples = pluginCorefiles("autopath");
  REQUIRE(examples.size() == 2);
  FakeUpstream upstream;  // NXDOMAIN for names with an "nx" label, an A record for the rest
  TempDir dir;
  dir.write("my-resolv.conf", "nameserver 192.0.2.53\nsearch nx.example.org example.com\noptions ndots:5\n");
  std::string corefile = replaced(joined(examples[0]), ". {", ".:@PORT@ {");
  corefile = replaced(corefile, "192.0.2.53", upstream.address());
  ServerProcess s(dir, corefile);
  const std::string found = dig(s.port(), {"www.nx.example.org", "A"});
  CHECK_MESSAGE(has(found, "status: NOERROR"), found);
  CHECK_MESSAGE(has(found, "www.nx.example.org. 300 IN CNAME www.example.com."), found);
  CHECK_MESSAGE(has(found, "www.example.com. 300 IN A 192.0.2.1"), found);
  CHECK(upstream.names() == std::vector<std::string>{"www.nx.example.org.", "www.example.com."});
  // Not below the first search domain: passed on, one upstream question.
  upstream.clear();
  CHECK(has(dig(s.port(), {"www.example.com", "A"}), "www.example.com. 300 IN A 192.0.2.1"));
  CHECK(upstream.names() == std::vector<std::string>{"www.example.com."});
  // Nothing found anywhere: the NXDOMAIN of the asked name, after the bare name was tried.
  upstream.clear();
  const std::string none = dig(s.port(), {"x.nx.nx.example.org", "A"});
  CHECK_MESSAGE(has(none, "status: NXDOMAIN"), none);
  CHECK(upstream.names() ==
        std::vector<std::string>{"x.nx.nx.example.org.", "x.nx.example.com.", "x.nx."});
}

TEST_CASE("autopath README: @kubernetes by the pod's address, round trips per resolution measured") {
  const auto examples = pluginCorefiles("autopath");
  REQUIRE(examples.size() == 2);
  FakeUpstream upstream;
  TempDir dir, plainDir;
  dir.write("cluster.yaml", kCluster);
  plainDir.write("cluster.yaml", kCluster);
  std::string corefile = replaced(joined(examples[1]), ".:53 {", ".:@PORT@ {");
  corefile = replaced(corefile, "/etc/resolv.conf", upstream.address());
  ServerProcess s(dir, corefile);
  // The same server without autopath, for the comparison.
  ServerProcess plain(plainDir, replaced(corefile, "    autopath @kubernetes\n", ""));

  const std::vector<std::string> host = hostSearch();
  const std::string bare = host.empty() ? "example.net." : "example.net." + host.front();
  // The pod of `default` (127.0.0.2), first try of its resolver for example.net.
  const std::string ext = dig(s.port(), {"-b", "127.0.0.2", "example.net.default.svc.cluster.local", "A"});
  CHECK_MESSAGE(has(ext, "status: NOERROR"), ext);
  CHECK_MESSAGE(has(ext, "example.net.default.svc.cluster.local. 300 IN CNAME " + bare), ext);
  CHECK_MESSAGE(has(ext, bare + " 300 IN A 192.0.2.1"), ext);
  // A service of another namespace, short name web.shop: found at the second try.
  const std::string svc = dig(s.port(), {"-b", "127.0.0.2", "web.shop.default.svc.cluster.local", "A"});
  CHECK_MESSAGE(has(svc, "web.shop.default.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local."), svc);
  CHECK_MESSAGE(has(svc, "web.shop.svc.cluster.local. 5 IN A 10.96.0.20"), svc);
  // The pod of `shop` has its own path: web.shop.svc.cluster.local directly.
  const std::string own = dig(s.port(), {"-b", "127.0.0.3", "web.shop.svc.cluster.local", "A"});
  CHECK_MESSAGE(has(own, "web.shop.svc.cluster.local. 5 IN A 10.96.0.20"), own);
  CHECK_MESSAGE(!has(own, "CNAME"), own);
  // An address that is no pod's: no search path, kubernetes answers the name as asked.
  const std::string stranger = dig(s.port(), {"-b", "127.0.0.9", "example.net.default.svc.cluster.local", "A"});
  CHECK_MESSAGE(has(stranger, "status: NXDOMAIN"), stranger);

  // Round trips of a stub resolver in the pod of `default`.
  std::vector<std::string> search = {"default.svc.cluster.local", "svc.cluster.local", "cluster.local"};
  for (const std::string& h : host) search.push_back(h.substr(0, h.size() - 1));
  const int cluster = 3;
  const Walked extWith = glibcWalk(s.port(), "127.0.0.2", "example.net", search);
  const Walked extWithout = glibcWalk(plain.port(), "127.0.0.2", "example.net", search);
  const Walked svcWith = glibcWalk(s.port(), "127.0.0.2", "web.shop", search);
  const Walked svcWithout = glibcWalk(plain.port(), "127.0.0.2", "web.shop", search);
  MESSAGE("round trips per resolution from a pod (ndots:5, " << search.size()
          << " search domains): external name example.net: " << extWith.roundTrips << " with autopath, "
          << extWithout.roundTrips << " without; service web.shop: " << svcWith.roundTrips << " with, "
          << svcWithout.roundTrips << " without");
  CHECK(extWith.roundTrips == 1);
  // Without it: an NXDOMAIN per cluster domain, then the FakeUpstream answers the next try (the
  // host's first search domain if it has one, else the bare name).
  CHECK(extWithout.roundTrips == cluster + 1);
  CHECK(svcWith.roundTrips == 1);
  CHECK(svcWithout.roundTrips == 2);
  for (const Walked* w : {&extWith, &extWithout, &svcWith, &svcWithout}) {
    CHECK(w->last.ok);
    CHECK(w->last.rcode == 0);
    CHECK(!w->last.answer.empty());
  }
}

TEST_CASE("autopath and a private zone on the search path: its names never reach the upstream") {
  FakeUpstream upstream;
  TempDir dir;
  dir.write("search.conf", "search svc.corp.example corp.example\n");
  ServerProcess s(dir, ".:@PORT@ {\n"
                       "    private corp.example\n"
                       "    autopath search.conf\n"
                       "    forward . " + upstream.address() + "\n"
                       "}\n");
  const std::string out = dig(s.port(), {"api.svc.corp.example", "A"});
  // Both private tries got the private NXDOMAIN; the bare name went out and answered.
  CHECK_MESSAGE(has(out, "api.svc.corp.example. 300 IN CNAME api."), out);
  CHECK_MESSAGE(has(out, "api. 300 IN A 192.0.2.1"), out);
  std::vector<std::string> seen;
  for (const auto& r : upstream.received()) {
    if (r.name != ".") seen.push_back(r.name);
  }
  CHECK(seen == std::vector<std::string>{"api."});
}

}  // namespace autopath_readme_test
