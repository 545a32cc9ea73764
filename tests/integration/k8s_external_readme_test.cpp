// Every Corefile example of the k8s_external README, read from the README and run by the real
// binary with the README's Service (plus a load balancer, a two-port and a headless service) in
// the objects file the examples name; asked with dig. One Moat serves all examples, each block
// on its own port; a second one is the fallthrough example's upstream and shows which names
// reached it.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace k8s_external_readme_test {

using namespace moat::testing;

namespace {

struct Dug {
  std::string status;
  std::vector<std::string> answer, authority, additional;
};

// NAME TYPE asked of the server on `port`, each section's records with single spaces.
Dug ask(uint16_t port, const std::string& name, const std::string& type) {
  const std::string out = dig(port, {name, type, "+noall", "+comments", "+answer", "+authority",
                                     "+additional"});
  Dug d;
  const size_t at = out.find("status: ");
  if (at != std::string::npos) d.status = out.substr(at + 8, out.find(',', at) - at - 8);
  std::vector<std::string>* section = nullptr;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(";; ANSWER SECTION") == 0) section = &d.answer;
    if (line.find(";; AUTHORITY SECTION") == 0) section = &d.authority;
    if (line.find(";; ADDITIONAL SECTION") == 0) section = &d.additional;
    if (line.empty() || line[0] == ';' || section == nullptr) continue;
    section->push_back(squeeze(line));
  }
  return d;
}

// Beside the README's Service: a load balancer with an IP and a hostname and two ports, and a
// headless StatefulSet service with its EndpointSlice.
const char* kMoreObjects = R"(---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.20
  type: LoadBalancer
  ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: https, port: 443, protocol: TCP}
status:
  loadBalancer:
    ingress:
    - ip: 203.0.113.20
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: shop}
spec: {clusterIP: 10.96.0.21, type: LoadBalancer, ports: [{name: http, port: 80}]}
status:
  loadBalancer:
    ingress:
    - hostname: lb.example.net
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-x1
  namespace: shop
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- {addresses: [10.244.1.10], hostname: db-0, conditions: {ready: true}}
- {addresses: [10.244.2.11], hostname: db-1}
)";

// The block with "." given a port, and the upstream put in place of the README's 8.8.8.8.
std::string block(const ReadmeBlock& b, const std::string& port, uint16_t upstream) {
  std::string out = ".:" + port + " {\n";
  for (size_t i = 1; i < b.text.size(); ++i) {
    std::string line = b.text[i];
    const size_t at = line.find("8.8.8.8");
    if (at != std::string::npos) line.replace(at, 7, "127.0.0.1:" + std::to_string(upstream));
    out += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("k8s_external README: every example, through dig") {
  std::vector<ReadmeBlock> examples;
  std::string service;
  for (const ReadmeBlock& b : pluginReadme("k8s_external")) {
    if (b.lang == "corefile") examples.push_back(b);
    if (b.lang == "yaml")
      for (const std::string& line : b.text) service += line + "\n";
  }
  REQUIRE(examples.size() == 4);
  REQUIRE(service.find("192.168.200.123") != std::string::npos);
  CHECK(squeeze(examples[0].text[1]) == "k8s_external example.org");
  CHECK(squeeze(examples[1].text[1]) == "transfer example.org {");
  CHECK(squeeze(examples[2].text[2]) == "fallthrough");
  CHECK(squeeze(examples[3].text[4]) == "headless");

  TempDir upDir, dir;
  ServerProcess up(upDir, ".:@PORT@ {\n    log\n    hosts {\n        203.0.113.99 lb.example.net\n"
                          "        fallthrough\n    }\n    whoami\n}\n");
  dir.write("cluster.objects.yaml", service + kMoreObjects);
  std::vector<uint16_t> ports;
  std::string corefile = block(examples[0], "@PORT@", up.port());
  for (size_t i = 1; i < examples.size(); ++i) {
    ports.push_back(freePort());
    corefile += block(examples[i], std::to_string(ports.back()), up.port());
  }
  ServerProcess s(dir, corefile);
  for (uint16_t p : ports) REQUIRE(waitListening(p));
  const uint16_t plain = s.port(), transfer = ports[0], fall = ports[1], headless = ports[2];
  const std::string soa = "example.org. 5 IN SOA ns1.dns.example.org. hostmaster.dns.example.org.";

  // 1. The README's Service, and the other names of the zone.
  for (uint16_t p : {plain, transfer, fall}) {
    CAPTURE(p);
    auto a = ask(p, "test.default.example.org", "A");
    CHECK(a.status == "NOERROR");
    CHECK(a.answer == std::vector<std::string>{"test.default.example.org. 5 IN A 192.168.200.123"});
  }
  auto web = ask(plain, "web.shop.example.org", "A");
  CHECK(web.answer == std::vector<std::string>{"web.shop.example.org. 5 IN A 203.0.113.20"});
  auto srv = ask(plain, "_https._tcp.web.shop.example.org", "SRV");
  CHECK(srv.answer ==
        std::vector<std::string>{"_https._tcp.web.shop.example.org. 5 IN SRV 0 100 443 web.shop.example.org."});
  CHECK(srv.additional == std::vector<std::string>{"web.shop.example.org. 5 IN A 203.0.113.20"});
  CHECK(ask(plain, "web.shop.example.org", "SRV").answer.size() == 2);
  auto nodata = ask(plain, "web.shop.example.org", "AAAA");
  CHECK(nodata.status == "NOERROR");
  CHECK(nodata.answer.empty());
  REQUIRE(nodata.authority.size() == 1);
  CHECK(nodata.authority[0].find(soa) == 0);
  auto internal = ask(plain, "db.shop.example.org", "A");  // headless, without `headless`
  CHECK(internal.status == "NXDOMAIN");
  CHECK(ask(plain, "nope.shop.example.org", "A").status == "NXDOMAIN");
  auto apexSoa = ask(plain, "example.org", "SOA");
  REQUIRE(apexSoa.answer.size() == 1);
  CHECK(apexSoa.answer[0].find(soa) == 0);
  auto ns = ask(plain, "example.org", "NS");
  CHECK(ns.answer == std::vector<std::string>{"example.org. 5 IN NS ns1.dns.example.org."});
  CHECK(ask(plain, "ns1.dns.example.org", "A").status == "NOERROR");
  CHECK(ask(plain, "ns2.dns.example.org", "A").status == "NXDOMAIN");
  // The cluster zone is the kubernetes plugin's, as before.
  CHECK(ask(plain, "web.shop.svc.cluster.local", "A").answer ==
        std::vector<std::string>{"web.shop.svc.cluster.local. 5 IN A 10.96.0.20"});

  // 2. transfer: the whole zone, SOA first and last.
  const std::string axfr = dig(transfer, {"example.org", "AXFR", "+nocomments", "+nostats"});
  std::vector<std::string> records;
  std::istringstream axfrLines(axfr);
  for (std::string line; std::getline(axfrLines, line);)
    if (!line.empty() && line[0] != ';') records.push_back(squeeze(line));
  REQUIRE_MESSAGE(records.size() > 2, axfr);
  CHECK(records.front().find(soa) == 0);
  CHECK(records.back().find(soa) == 0);
  for (const std::string& rr : {std::string("test.default.example.org. 5 IN A 192.168.200.123"),
                                std::string("web.shop.example.org. 5 IN A 203.0.113.20"),
                                std::string("_https._tcp.web.shop.example.org. 5 IN SRV 0 100 443 web.shop.example.org."),
                                std::string("lb.shop.example.org. 5 IN CNAME lb.example.net."),
                                std::string("example.org. 5 IN NS ns1.dns.example.org.")}) {
    CHECK_MESSAGE(std::find(records.begin(), records.end(), rr) != records.end(), (rr + "\n" + axfr));
  }
  CHECK_MESSAGE(axfr.find("db.shop") == std::string::npos, axfr);  // headless, without `headless`

  // 3. fallthrough: a name the cluster does not have goes to forward; a load balancer hostname
  // is resolved through the server, so forward's upstream answers its address.
  auto passed = ask(fall, "nope.shop.example.org", "A");
  CHECK(passed.status == "NOERROR");  // whoami, upstream
  auto lb = ask(fall, "lb.shop.example.org", "A");
  CHECK(lb.answer == std::vector<std::string>{"lb.shop.example.org. 5 IN CNAME lb.example.net.",
                                              "lb.example.net. 3600 IN A 203.0.113.99"});
  CHECK(up.waitForOutput("\"A IN nope.shop.example.org. udp "));
  CHECK(up.waitForOutput("\"A IN lb.example.net. udp "));
  // Without fallthrough the same name stays here.
  CHECK(ask(plain, "nope.shop.example.org", "A").status == "NXDOMAIN");
  const std::string seen = up.stdoutText();
  CHECK_MESSAGE(seen.find("test.default.example.org") == std::string::npos, seen);

  // 4. headless, apex ext, ttl 60.
  auto db = ask(headless, "db.shop.example.org", "A");
  CHECK(db.answer == std::vector<std::string>{"db.shop.example.org. 60 IN A 10.244.1.10",
                                              "db.shop.example.org. 60 IN A 10.244.2.11"});
  CHECK(ask(headless, "db-1.db.shop.example.org", "A").answer ==
        std::vector<std::string>{"db-1.db.shop.example.org. 60 IN A 10.244.2.11"});
  auto dbSrv = ask(headless, "_pg._tcp.db.shop.example.org", "SRV");
  CHECK(dbSrv.answer == std::vector<std::string>{
                            "_pg._tcp.db.shop.example.org. 5 IN SRV 0 50 5432 db-0.db.shop.example.org.",
                            "_pg._tcp.db.shop.example.org. 5 IN SRV 0 50 5432 db-1.db.shop.example.org."});
  CHECK(ask(headless, "example.org", "NS").answer ==
        std::vector<std::string>{"example.org. 60 IN NS ns1.ext.example.org."});
  CHECK(ask(headless, "ns1.ext.example.org", "A").status == "NOERROR");
  CHECK(ask(headless, "ns1.dns.example.org", "A").status == "NXDOMAIN");
}

TEST_CASE("k8s_external README: moat explain says what k8s_external answered") {
  std::vector<ReadmeBlock> examples;
  std::string service;
  for (const ReadmeBlock& b : pluginReadme("k8s_external")) {
    if (b.lang == "corefile") examples.push_back(b);
    if (b.lang == "yaml")
      for (const std::string& line : b.text) service += line + "\n";
  }
  REQUIRE(!examples.empty());
  TempDir dir;
  dir.write("cluster.objects.yaml", service);
  std::string corefile;
  for (const std::string& line : examples[0].text) corefile += line + "\n";
  const std::string path = dir.write("Corefile", corefile);
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "explain", "-conf", path, "test.default.example.org", "A"}, out) == 0);
  CHECK_MESSAGE(out.find("k8s_external") != std::string::npos, out);
  CHECK_MESSAGE(out.find("the service's external addresses") != std::string::npos, out);
  CHECK_MESSAGE(out.find("192.168.200.123") != std::string::npos, out);
}

TEST_CASE("k8s_external: a block without kubernetes is refused at its line") {
  TempDir dir;
  const std::string path = dir.write("Corefile", ".:1053 {\n    k8s_external example.org\n    whoami\n}\n");
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "-conf", path}, out) == 1);
  CHECK_MESSAGE(out.find("Corefile:2:5: k8s_external: needs the kubernetes plugin") != std::string::npos, out);
}

}  // namespace k8s_external_readme_test
