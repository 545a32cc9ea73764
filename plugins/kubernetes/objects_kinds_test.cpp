// What each kind contributes: the fields DNS answers depend on, in YAML and JSON.
#include <doctest/doctest.h>

#include "plugins/kubernetes/objects.hpp"
#include "plugins/kubernetes/objects_test_util.hpp"

namespace moat::plugins::kubernetes {
namespace {

using testing::ip;
using testing::load;
using testing::loadError;
using Ips = std::vector<Ip>;

const Service& service(const ClusterPtr& c, std::string_view ns, std::string_view name) {
  const Service* s = c->findService(ns, name);
  REQUIRE(s);
  return *s;
}

TEST_CASE("kinds: Service types, cluster IPs and ports") {
  auto c = load(R"(kind: List
items:
- kind: Service
  metadata: {name: Dual, namespace: Prod}
  spec:
    type: ClusterIP
    clusterIP: 10.96.0.1
    clusterIPs: [10.96.0.1, "fd00::1"]
    ipFamilies: [IPv4, IPv6]
    ports:
    - {name: http, port: 80}
    - {port: 443, protocol: TCP}
    - {name: DNS, port: 53, protocol: UDP}
    - {name: assoc, port: 36412, protocol: SCTP}
- kind: Service
  metadata: {name: v6, namespace: prod}
  spec: {clusterIP: "fd00::2", ipFamilies: [IPv6]}
- kind: Service
  metadata: {name: headless, namespace: prod}
  spec: {clusterIP: None, clusterIPs: [None], ports: [{name: web, port: 80}]}
- kind: Service
  metadata: {name: headless2, namespace: prod}
  spec: {clusterIP: None}
- kind: Service
  metadata: {name: ext, namespace: prod}
  spec: {type: ExternalName, externalName: db.example.org}
- kind: Service
  metadata: {name: lb, namespace: prod}
  spec: {type: LoadBalancer, clusterIP: 10.96.0.9}
- kind: Service
  metadata: {name: pending, namespace: prod}
  spec: {clusterIP: ""}
- kind: Service
  metadata: {name: nospec}
)");
  const Service& dual = service(c, "prod", "dual");
  CHECK(dual.name == "Dual");
  CHECK(dual.ns == "Prod");
  CHECK(dual.kind == ServiceKind::ClusterIP);
  CHECK(dual.clusterIPs == Ips{ip("10.96.0.1"), ip("fd00::1")});
  REQUIRE(dual.ports.size() == 4);
  CHECK(dual.ports[0].name == "http");
  CHECK(dual.ports[0].protocol == "tcp");  // default
  CHECK(dual.ports[1].name.empty());       // unnamed
  CHECK(dual.ports[1].port == 443);
  CHECK(dual.ports[2].name == "DNS");  // stored spelling
  CHECK(dual.ports[2].protocol == "udp");
  CHECK(dual.ports[3].protocol == "sctp");

  CHECK(service(c, "prod", "v6").clusterIPs == Ips{ip("fd00::2")});
  CHECK(service(c, "prod", "headless").kind == ServiceKind::Headless);
  CHECK(service(c, "prod", "headless").clusterIPs.empty());
  CHECK(service(c, "prod", "headless").ports.size() == 1);
  CHECK(service(c, "prod", "headless2").kind == ServiceKind::Headless);
  CHECK(service(c, "prod", "ext").kind == ServiceKind::ExternalName);
  CHECK(service(c, "prod", "ext").externalName == "db.example.org");
  CHECK(service(c, "prod", "lb").kind == ServiceKind::ClusterIP);
  CHECK(service(c, "prod", "pending").clusterIPs.empty());
  CHECK(service(c, "default", "nospec").kind == ServiceKind::ClusterIP);
  CHECK(c->hasNamespace("prod"));
  CHECK(c->reverse(ip("fd00::1")).size() == 1);

  CHECK(loadError("kind: Service\nmetadata: {name: e}\nspec: {type: ExternalName}\n") ==
        "objects.yaml:3:7: Service default/e: spec.externalName: missing for type ExternalName");
  CHECK(loadError("kind: Service\nmetadata: {name: p}\nspec:\n  ports:\n  - {name: x}\n") ==
        "objects.yaml:5:5: Service default/p: port: missing");
}

TEST_CASE("kinds: EndpointSlice addresses, readiness, hostnames and pods") {
  auto c = load(R"(kind: List
items:
- kind: Service
  metadata: {name: db, namespace: prod}
  spec: {clusterIP: None}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: db-v4
    namespace: prod
    labels: {kubernetes.io/service-name: db}
  addressType: IPv4
  endpoints:
  - addresses: [10.1.0.1]
    hostname: db-0
    conditions: {ready: true}
    targetRef: {kind: Pod, name: db-0-pod, namespace: prod}
  - addresses: [10.1.0.2]
    conditions: {ready: false, serving: true}
    targetRef: {kind: Pod, name: db-1-pod}
  - addresses: [10.1.0.3]
    conditions: {}
    targetRef: {kind: Node, name: node-1}
  - addresses: [10.1.0.4]
    conditions: {ready: null}
  ports:
  - {name: sql, port: 5432, protocol: TCP}
  - {name: all, port: null}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: db-v6
    namespace: prod
    labels: {kubernetes.io/service-name: db}
  addressType: IPv6
  endpoints:
  - addresses: ["fd00::1:1"]
    hostname: db-0
  ports: null
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: db-fqdn, namespace: prod, labels: {kubernetes.io/service-name: db}}
  addressType: FQDN
  endpoints: [{addresses: [db.example.org]}]
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: orphan, namespace: prod}
  addressType: IPv4
  endpoints: [{addresses: [10.9.9.9]}]
)");
  const Service& db = service(c, "prod", "db");
  REQUIRE(db.endpoints.size() == 2);
  const auto& v4 = db.endpoints[0];
  REQUIRE(v4.addresses.size() == 4);
  CHECK(v4.addresses[0].hostname == "db-0");
  CHECK(v4.addresses[0].targetPodName == "db-0-pod");
  CHECK(v4.addresses[0].ready);
  CHECK_FALSE(v4.addresses[1].ready);
  CHECK(v4.addresses[1].targetPodName == "db-1-pod");
  CHECK(v4.addresses[2].ready);                      // no ready condition: ready
  CHECK(v4.addresses[2].targetPodName == "node-1");  // the kind is not checked, as in CoreDNS
  CHECK(v4.addresses[3].targetPodName.empty());
  CHECK(v4.addresses[3].ready);   // null: ready
  REQUIRE(v4.ports.size() == 1);  // a null port names nothing
  CHECK(v4.ports[0].port == 5432);
  CHECK(db.endpoints[1].addresses[0].ip == ip("fd00::1:1"));
  CHECK(db.endpoints[1].ports.empty());
  CHECK(c->stats().skipped == 2);  // FQDN, no service label
  CHECK(c->reverse(ip("10.1.0.2")).empty());
  REQUIRE(c->reverse(ip("fd00::1:1")).size() == 1);
  CHECK(c->reverse(ip("fd00::1:1"))[0].hostname == "db-0");
}

TEST_CASE("kinds: core/v1 Endpoints, used when a service has no slice") {
  const char* objects = R"({"kind": "List", "items": [
  {"kind": "Service", "metadata": {"name": "old", "namespace": "ns"}, "spec": {"clusterIP": "None"}},
  {"kind": "Endpoints", "metadata": {"name": "old", "namespace": "ns"},
   "subsets": [
     {"addresses": [{"ip": "10.2.0.1", "hostname": "a",
                     "targetRef": {"kind": "Pod", "name": "old-a"}}],
      "notReadyAddresses": [{"ip": "10.2.0.2"}],
      "ports": [{"name": "p", "port": 80, "protocol": "UDP"}, {"port": 81}]},
     {"addresses": [{"ip": "10.2.0.3"}], "ports": [{"port": 82}]}]},
  {"kind": "Service", "metadata": {"name": "new", "namespace": "ns"}, "spec": {"clusterIP": "None"}},
  {"kind": "Endpoints", "metadata": {"name": "new", "namespace": "ns"},
   "subsets": [{"addresses": [{"ip": "10.3.0.1"}]}]},
  {"kind": "EndpointSlice", "addressType": "IPv4",
   "metadata": {"name": "new-x", "namespace": "ns", "labels": {"kubernetes.io/service-name": "new"}},
   "endpoints": [{"addresses": ["10.3.0.1"]}]}]})";
  auto c = load(objects, "objects.json");
  const Service& old = service(c, "ns", "old");
  REQUIRE(old.endpoints.size() == 2);
  REQUIRE(old.endpoints[0].addresses.size() == 2);
  CHECK(old.endpoints[0].addresses[0].hostname == "a");
  CHECK(old.endpoints[0].addresses[0].targetPodName == "old-a");
  CHECK(old.endpoints[0].addresses[0].ready);
  CHECK(old.endpoints[0].addresses[1].ip == ip("10.2.0.2"));
  CHECK_FALSE(old.endpoints[0].addresses[1].ready);
  CHECK(old.endpoints[0].ports.size() == 2);
  CHECK(old.endpoints[0].ports[0].protocol == "udp");
  CHECK(old.endpoints[1].ports[0].port == 82);
  // Both kinds for "new": the slice alone counts, so the address is not listed twice.
  REQUIRE(service(c, "ns", "new").endpoints.size() == 1);
  CHECK(c->reverse(ip("10.3.0.1")).size() == 1);
}

TEST_CASE("kinds: Pods, Namespaces, publishNotReadyAddresses and skipped kinds") {
  auto c = load(R"(kind: List
items:
- kind: Pod
  metadata: {name: dual, namespace: apps}
  status:
    podIP: 10.4.0.1
    podIPs: [{ip: 10.4.0.1}, {ip: "fd00::4:1"}]
- kind: Pod
  metadata: {name: old, namespace: apps}
  status: {podIP: 10.4.0.2}
- kind: Pod
  metadata: {name: pending, namespace: waiting}
  status: {phase: Pending}
- kind: Namespace
  metadata: {name: Empty}
- kind: Service
  metadata: {name: s, namespace: apps}
  spec: {clusterIP: None, publishNotReadyAddresses: true}
- kind: EndpointSlice
  metadata: {name: s-1, namespace: apps, labels: {kubernetes.io/service-name: s}}
  addressType: IPv4
  endpoints: [{addresses: [10.4.0.2], conditions: {ready: false}}]
- {kind: Deployment, metadata: {name: d}}
- {kind: ConfigMap, metadata: {name: c}}
- {apiVersion: v1, kind: Secret, metadata: {name: s}}
)");
  CHECK(c->hasPod("apps", ip("10.4.0.1")));
  CHECK(c->hasPod("apps", ip("fd00::4:1")));
  CHECK(c->hasPod("apps", ip("10.4.0.2")));
  CHECK(c->hasNamespace("waiting"));
  CHECK(c->hasNamespace("empty"));
  CHECK(service(c, "apps", "s").endpoints[0].addresses[0].ready);
  CHECK(c->stats().pods == 3);
  CHECK(c->stats().skipped == 3);

  CHECK(loadError("kind: Pod\nmetadata: {name: p}\nstatus: {podIP: nope}\n") ==
        "objects.yaml:3:17: Pod default/p: status.podIP: 'nope' is not an IP address");
  CHECK(
      loadError("kind: Service\nmetadata: {name: s}\nspec: {publishNotReadyAddresses: maybe}\n") ==
      "objects.yaml:3:34: Service default/s: spec.publishNotReadyAddresses: expected true or "
      "false, got 'maybe'");
}

}  // namespace
}  // namespace moat::plugins::kubernetes
