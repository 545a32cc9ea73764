// The fields k8s_external answers from: spec.externalIPs and status.loadBalancer.ingress, in
// YAML and JSON, their errors, and the reverse index of external IPs.
#include <doctest/doctest.h>

#include "plugins/kubernetes/objects.hpp"
#include "plugins/kubernetes/objects_test_util.hpp"

namespace moat::plugins::kubernetes {
namespace {

const Service& externalService(const ClusterPtr& c, std::string_view ns, std::string_view name) {
  const Service* s = c->findService(ns, name);
  REQUIRE(s);
  return *s;
}

TEST_CASE("objects: external IPs, then load balancer IPs, then hostnames, in order") {
  const std::string yaml = R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec:
  clusterIP: 10.96.0.8
  externalIPs: [192.0.2.10, "2001:db8::10"]
  ports: [{name: http, port: 80}]
status:
  loadBalancer:
    ingress:
    - ip: 198.51.100.7
    - hostname: lb.example.net
    - {ip: "", hostname: other.example.net}
    - {}
---
kind: Service
metadata: {name: plain, namespace: prod}
spec: {clusterIP: 10.96.0.9}
status: {loadBalancer: {}}
)";
  const std::string json = R"({"kind": "Service", "metadata": {"name": "web", "namespace": "prod"},
  "spec": {"clusterIP": "10.96.0.8", "externalIPs": ["192.0.2.10", "2001:db8::10"]},
  "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}, {"hostname": "lb.example.net"},
                                           {"ip": "", "hostname": "other.example.net"}, {}]}}})";
  struct Source {
    std::string text, file;
  };
  for (const Source& source : {Source{yaml, "o.yaml"}, Source{json, "o.json"}}) {
    CAPTURE(source.file);
    auto c = testing::load(source.text, source.file);
    const Service& web = externalService(c, "prod", "web");
    REQUIRE(web.external.size() == 5);
    CHECK(web.external[0].ip == testing::ip("192.0.2.10"));
    CHECK(web.external[1].ip == testing::ip("2001:db8::10"));
    CHECK(web.external[2].ip == testing::ip("198.51.100.7"));
    CHECK(web.external[2].hostname.empty());
    CHECK(web.external[3].hostname == "lb.example.net");
    CHECK(web.external[4].hostname == "other.example.net");
    REQUIRE(c->externalReverse(testing::ip("198.51.100.7")).size() == 1);
    CHECK(c->externalReverse(testing::ip("198.51.100.7"))[0] == &web);
    CHECK(c->externalReverse(testing::ip("10.96.0.8")).empty());  // a cluster IP is not external
  }
  auto c = testing::load(yaml);
  CHECK(externalService(c, "prod", "plain").external.empty());
}

TEST_CASE("objects: an external IP that is not one is an error at its place") {
  CHECK(testing::loadError("kind: Service\nmetadata: {name: a}\nspec:\n  externalIPs: [lb.example.net]\n")
            .find("objects.yaml:4:17: Service default/a: spec.externalIPs[]: 'lb.example.net' is not an IP "
                  "address") != std::string::npos);
  CHECK(testing::loadError("kind: Service\nmetadata: {name: a}\nstatus:\n  loadBalancer:\n    ingress: [{ip: x}]\n")
            .find("status.loadBalancer.ingress[].ip: 'x' is not an IP address") != std::string::npos);
  CHECK(testing::loadError("kind: Service\nmetadata: {name: a}\nstatus:\n  loadBalancer: {ingress: x}\n")
            .find("status.loadBalancer.ingress: expected a list") != std::string::npos);
}

}  // namespace
}  // namespace moat::plugins::kubernetes
