// Cluster DNS over the wire: the shipped cluster example served by the real binary and asked
// with dig; objects rewritten, broken and fixed while it runs; ExternalName chased to forward.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace kubernetes_test {

using namespace moat::testing;

namespace {

std::string readSource(const std::string& relative) {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The example Corefile on test ports (DNS, health, ready, metrics), with its objects copied
// into `dir` so tests can edit them, and `extra` lines added to the block.
std::string exampleCorefile(const TempDir& dir, const std::string& extra = "") {
  dir.write("cluster.objects.yaml", readSource("conf/examples/cluster.objects.yaml"));
  std::string conf = readSource("conf/examples/cluster.Corefile");
  auto swap = [&](const std::string& from, const std::string& to) {
    size_t at = conf.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    conf.replace(at, from.size(), to);
  };
  swap(".:1053", ".:@PORT@");
  swap("health {", "health 127.0.0.1:" + std::to_string(freePort()) + " {");
  swap("    ready\n", "    ready 127.0.0.1:" + std::to_string(freePort()) + "\n");
  swap("prometheus :9153", "prometheus 127.0.0.1:" + std::to_string(freePort()));
  swap("lameduck 5s", "lameduck 100ms");  // tests stop it often
  if (!extra.empty()) swap("    loadbalance", extra + "    loadbalance");
  return conf;
}

}  // namespace

TEST_CASE("the cluster example answers the Kubernetes DNS spec over the wire") {
  TempDir dir;
  ServerProcess s(dir, exampleCorefile(dir));
  CHECK(dig(s.port(), {"kubernetes.default.svc.cluster.local", "A", "+short"}) == "10.96.0.1\n");
  CHECK(dig(s.port(), {"_https._tcp.kubernetes.default.svc.cluster.local", "SRV", "+short"}) ==
        "0 100 443 kubernetes.default.svc.cluster.local.\n");
  std::string headless = dig(s.port(), {"db.shop.svc.cluster.local", "A", "+short"});
  CHECK(headless.find("10.244.1.10") != std::string::npos);
  CHECK(headless.find("10.244.2.11") != std::string::npos);
  CHECK(headless.find("10.244.3.12") == std::string::npos);  // not ready
  CHECK(dig(s.port(), {"db-0.db.shop.svc.cluster.local", "A", "+short"}) == "10.244.1.10\n");
  CHECK(dig(s.port(), {"-x", "10.96.0.10", "+short"}) == "kube-dns.kube-system.svc.cluster.local.\n");
  CHECK(dig(s.port(), {"dns-version.cluster.local", "TXT", "+short"}) == "\"1.1.0\"\n");
  CHECK(dig(s.port(), {"api.shop.svc.cluster.local", "AAAA", "+short"}) == "fd00:10:96::14\n");
  std::string nx = dig(s.port(), {"nope.shop.svc.cluster.local", "A"});
  CHECK(nx.find("status: NXDOMAIN") != std::string::npos);
  CHECK(nx.find("flags: qr aa rd") != std::string::npos);
  CHECK(nx.find("IN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local.") != std::string::npos);
}

TEST_CASE("the cluster example's start-up error names plugin/loop, the last plugin of its chain") {
  // Its forward is commented out, so loop's own HINFO probe finds no plugin to answer it and
  // the chain ends at loop. CoreDNS logs this line too; it never names the implicit `private`.
  TempDir dir;
  ServerProcess s(dir, exampleCorefile(dir));
  REQUIRE(s.waitForOutput("[ERROR] plugin/errors: 2 ", 1, std::chrono::seconds(10)));
  const std::string out = s.stdoutText();
  CAPTURE(out);
  std::regex line(R"(\[ERROR\] plugin/errors: 2 \d+\.\d+\. HINFO: plugin/loop: no next plugin found\n)");
  CHECK(std::regex_search(out, line));
  CHECK(out.find("plugin/private") == std::string::npos);
}

TEST_CASE("rewriting the objects changes answers without a restart, a broken file keeps the old ones") {
  TempDir dir;
  ServerProcess s(dir, exampleCorefile(dir));
  auto ask = [&] { return dig(s.port(), {"kubernetes.default.svc.cluster.local", "A", "+short"}); };
  REQUIRE(ask() == "10.96.0.1\n");

  std::string objects = readSource("conf/examples/cluster.objects.yaml");
  std::string moved = objects;
  moved.replace(moved.find("clusterIP: 10.96.0.1\n"), 21, "clusterIP: 10.96.0.2\n");
  moved.replace(moved.find("clusterIPs: [10.96.0.1]"), 23, "clusterIPs: [10.96.0.2]");
  dir.write("cluster.objects.yaml.tmp", moved);
  std::rename((dir.path() + "/cluster.objects.yaml.tmp").c_str(), (dir.path() + "/cluster.objects.yaml").c_str());
  CHECK(eventually([&] { return ask() == "10.96.0.2\n"; }));

  dir.write("cluster.objects.yaml.tmp", "apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata: {name: [broken\n");
  std::rename((dir.path() + "/cluster.objects.yaml.tmp").c_str(), (dir.path() + "/cluster.objects.yaml").c_str());
  std::regex where(R"(\[ERROR\] plugin/kubernetes: \S*cluster\.objects\.yaml:\d+:\d+: )");
  CHECK(eventually([&] { return std::regex_search(s.stdoutText(), where); }));
  CHECK(ask() == "10.96.0.2\n");  // the last good snapshot still answers
}

TEST_CASE("an ExternalName outside the cluster zone is chased through the server to forward") {
  TempDir upDir;
  ServerProcess upstream(upDir, ".:@PORT@ {\n  bind 127.0.0.1\n  hosts {\n    192.0.2.99 payments.example.test\n  }\n}\n");
  TempDir dir;
  ServerProcess s(dir, exampleCorefile(dir, "    forward . 127.0.0.1:" + std::to_string(upstream.port()) + "\n"));
  std::string out = dig(s.port(), {"payments.shop.svc.cluster.local", "A", "+short"});
  CHECK(out == "payments.example.test.\n192.0.2.99\n");
}

}  // namespace kubernetes_test
