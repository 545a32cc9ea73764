// Shared by the kubernetes handler/records tests: a fixture cluster with one of every kind of
// object the DNS spec names, a handler built from Corefile text over it, and a one-call "ask"
// that decodes the reply.
#pragma once

#include "tests/support/plugin_test_util.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "dns/query.hpp"
#include "plugins/kubernetes/config.hpp"
#include "plugins/kubernetes/kubernetes.hpp"
#include "plugins/kubernetes/ip_test_util.hpp"
#include "plugins/kubernetes/model.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::kubernetes::testing {

using Strings = std::vector<std::string>;
constexpr int kNoError = 0, kServFail = 2, kNxDomain = 3, kRefused = 5;
constexpr uint32_t kSerial = 1499347823;

inline EndpointAddress addr(std::string_view text, std::string hostname = {}, bool ready = true,
                            std::string pod = {}) {
  return EndpointAddress{ip(text), std::move(hostname), std::move(pod), ready};
}

inline Port port(std::string name, std::string protocol, uint16_t number) {
  return Port{std::move(name), std::move(protocol), number};
}

inline Service service(std::string name, std::string ns, ServiceKind kind,
                       std::vector<Ip> clusterIPs, std::vector<Port> ports,
                       std::string externalName = {}) {
  Service s;
  s.name = std::move(name);
  s.ns = std::move(ns);
  s.kind = kind;
  s.clusterIPs = std::move(clusterIPs);
  s.ports = std::move(ports);
  s.externalName = std::move(externalName);
  return s;
}

// Namespaces testns, other, kube-system and the object-less `empty`; services of every kind.
inline ClusterPtr fixtureCluster() {
  using K = ServiceKind;
  Cluster::Builder b;
  b.addNamespace("testns");
  b.addNamespace("other");
  b.addNamespace("kube-system");
  b.addNamespace("empty");
  b.addService(service("svc1", "testns", K::ClusterIP, {ip("10.0.0.1")}, {port("http", "tcp", 80)}));
  b.addEndpoints("testns", "svc1", {{addr("172.0.0.10", "", true, "svc1-pod")}, {port("http", "tcp", 80)}});
  b.addService(service("svc-dual", "testns", K::ClusterIP, {ip("10.0.0.3"), ip("fd00::3")},
                       {port("http", "tcp", 80)}));
  b.addService(service("svc-v6", "testns", K::ClusterIP, {ip("fd00::6")}, {port("http", "tcp", 80)}));
  b.addService(service("svc-multi", "testns", K::ClusterIP, {ip("10.0.0.4")},
                       {port("http", "tcp", 80), port("https", "tcp", 443), port("", "udp", 53)}));
  b.addService(service("svc-noports", "testns", K::ClusterIP, {ip("10.0.0.5")}, {}));
  b.addService(service("svc-empty", "testns", K::ClusterIP, {ip("10.0.0.9")}, {port("http", "tcp", 80)}));
  b.addService(service("MixedCase", "testns", K::ClusterIP, {ip("10.0.0.7")}, {port("http", "tcp", 80)}));
  // Headless: two addresses share a hostname, one has only a pod name, one is not ready, one
  // is IPv6 without hostname; a second slice repeats an address.
  b.addService(service("hdls1", "testns", K::Headless, {}, {port("http", "tcp", 80)}));
  b.addEndpoints("testns", "hdls1",
                 {{addr("172.0.0.2", "dup-name"), addr("172.0.0.3", "dup-name"),
                   addr("172.0.0.4", "", true, "pod-4"), addr("172.0.0.5", "notready", false),
                   addr("fd00::5")},
                  {port("http", "tcp", 80)}});
  b.addEndpoints("testns", "hdls1", {{addr("172.0.0.2", "dup-name")}, {port("http", "tcp", 80)}});
  b.addService(service("hdls-empty", "testns", K::Headless, {}, {}));
  b.addEndpoints("testns", "hdls-empty", {{addr("172.0.2.1", "", false)}, {}});
  b.addService(service("hdls-noports", "testns", K::Headless, {}, {}));
  b.addEndpoints("testns", "hdls-noports", {{addr("172.0.1.1", "np")}, {}});
  b.addService(service("external", "testns", K::ExternalName, {}, {}, "ext.interwebs.test"));
  b.addService(service("ext-in", "testns", K::ExternalName, {}, {}, "svc1.testns.svc.cluster.local"));
  b.addService(service("ext-chain", "testns", K::ExternalName, {}, {}, "Ext-In.testns.svc.cluster.local."));
  b.addService(service("ext-ip", "testns", K::ExternalName, {}, {}, "1.2.3.4"));
  b.addService(service("ext-loop", "testns", K::ExternalName, {}, {}, "ext-loop.testns.svc.cluster.local"));
  b.addService(service("ext-missing", "testns", K::ExternalName, {}, {}, "nope.testns.svc.cluster.local"));
  b.addService(service("svc2", "other", K::ClusterIP, {ip("10.0.1.1")}, {port("http", "tcp", 80)}));
  b.addService(service("hdls2", "other", K::Headless, {}, {port("http", "tcp", 80)}));
  b.addEndpoints("other", "hdls2", {{addr("172.0.3.1", "h2")}, {port("http", "tcp", 80)}});
  b.addService(service("kube-dns", "kube-system", K::ClusterIP, {ip("10.96.0.10")},
                       {port("dns", "udp", 53)}));
  b.addEndpoints("kube-system", "kube-dns", {{addr("10.244.0.53")}, {port("dns", "udp", 53)}});
  b.addPod(Pod{"pod-a", "testns", {ip("10.244.1.1"), ip("fd00::244:1:1")}});
  return b.build(kSerial);
}

// A handler for `kubernetes <head> { objects x <lines> }` in a `cluster.local` block.
inline std::shared_ptr<Kubernetes> makeHandler(
    std::string_view head, std::initializer_list<std::string_view> lines = {},
    ClusterPtr cluster = fixtureCluster(), std::vector<Ip> localIps = {ip("192.0.2.53")}) {
  std::string text = "cluster.local {\n  kubernetes " + std::string(head) + " {\n    objects x\n";
  for (std::string_view l : lines) text += "    " + std::string(l) + "\n";
  text += "  }\n}\n";
  auto corefile = conf::parseCorefile(text, "Corefile");
  REQUIRE_MESSAGE(corefile.ok(), (corefile.ok() ? "" : corefile.error().str()));
  SetupContext ctx;
  ctx.zones = {"cluster.local."};
  ctx.stanzas = {&corefile->blocks.at(0).directives.at(0)};
  auto config = parseKubernetes(ctx);
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().str()));
  return std::make_shared<Kubernetes>(*config, std::make_shared<FixedSource>(std::move(cluster)),
                                      1, std::move(localIps));
}

using moat::testing::Outcome;

// The shared probe, plus this plugin's rule: a handler that does not answer leaves no reply.
inline Outcome ask(Handler& h, const std::string& name, uint16_t type) {
  Outcome out = moat::testing::ask(h, name, type);
  if (out.verdict != Verdict::Answered) CHECK(out.wire.empty());
  return out;
}

// The SOA every denial carries, for `zone` as asked (default ttl 5).
inline std::string soa(const std::string& zone = "cluster.local.", uint32_t ttl = 5) {
  return zone + " " + std::to_string(ttl < 300 ? ttl : 300) + " IN SOA ns.dns." + zone +
         " hostmaster." + zone + " " + std::to_string(kSerial) + " 7200 1800 86400 " +
         std::to_string(ttl);
}

}  // namespace moat::plugins::kubernetes::testing
