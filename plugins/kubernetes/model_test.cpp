#include "plugins/kubernetes/model.hpp"

#include <doctest/doctest.h>

#include "plugins/kubernetes/ip_test_util.hpp"

namespace moat::plugins::kubernetes {
namespace {

using testing::ip;

EndpointAddress addr(std::string_view text, std::string hostname = {}, bool ready = true,
                     std::string pod = {}) {
  return EndpointAddress{ip(text), std::move(hostname), std::move(pod), ready};
}

TEST_CASE("model: Ip parses and prints both families") {
  CHECK(ip("10.0.0.1").family == 4);
  CHECK(ip("10.0.0.1").wire().size() == 4);
  CHECK(ip("10.0.0.1").str() == "10.0.0.1");
  CHECK(ip("FD00:0::1").family == 6);
  CHECK(ip("FD00:0::1").wire().size() == 16);
  CHECK(ip("FD00:0::1").str() == "fd00::1");
  CHECK_FALSE(Ip::parse(""));
  CHECK_FALSE(Ip::parse("10.0.0"));
  CHECK_FALSE(Ip::parse("10.0.0.256"));
  CHECK_FALSE(Ip::parse("None"));
  CHECK_FALSE(Ip::parse("fd00::1::2"));
  CHECK_FALSE(Ip::parse(std::string(100, '1')));
  CHECK(IpHash{}(ip("10.0.0.1")) == IpHash{}(ip("10.0.0.1")));
  CHECK(ip("10.0.0.1") < ip("10.0.0.2"));
  CHECK(ip("255.0.0.1") < ip("::1"));  // v4 before v6
}

TEST_CASE("model: endpoint labels follow CoreDNS") {
  CHECK(addr("10.0.0.1", "web-0").label(false) == "web-0");
  CHECK(addr("10.0.0.1", "web-0", true, "pod-a").label(true) == "web-0");
  CHECK(addr("10.0.0.1", "", true, "pod-a").label(true) == "pod-a");
  CHECK(addr("10.0.0.1", "", true, "pod-a").label(false) == "10-0-0-1");
  CHECK(addr("10.0.0.1", "", true, std::string(64, 'p')).label(true) == "10-0-0-1");
  CHECK(addr("10.0.0.1", "", true, std::string(63, 'p')).label(true) == std::string(63, 'p'));
  CHECK(addr("fd00::1").label(false) == "fd00--1");
  CHECK(addr("fd00::").label(false) == "fd00--0");
}

Cluster::Builder fixture() {
  Cluster::Builder b;
  b.addEndpoints(
      "Default", "Web",
      {{addr("10.1.0.1", "web-0"), addr("10.1.0.2", "", false)}, {Port{"http", "tcp", 80}}});
  b.addService(Service{"Web",
                       "Default",
                       ServiceKind::ClusterIP,
                       {ip("10.96.0.10"), ip("fd00::10")},
                       {},
                       {Port{"http", "tcp", 80}},
                       {}});
  b.addService(Service{"db", "prod", ServiceKind::Headless, {}, {}, {}, {}});
  b.addEndpoints("prod", "db", {{addr("10.1.0.1"), addr("10.1.0.9", "", false)}, {}});
  b.addEndpoints("prod", "gone", {{addr("10.1.0.7")}, {}});
  b.addPod(Pod{"p1", "Kube-System", {ip("10.2.0.1"), ip("fd00::2:1")}});
  b.addNamespace("Empty");
  b.countSkipped();
  return b;
}

TEST_CASE("model: builder indexes services, endpoints, reverse, pods and namespaces") {
  auto b = fixture();
  ClusterPtr c = b.build(1234);
  CHECK(c->serial() == 1234);

  const Service* web = c->findService("default", "web");
  REQUIRE(web);
  CHECK(web->name == "Web");  // stored spelling kept
  REQUIRE(web->endpoints.size() == 1);
  CHECK(web->endpoints[0].addresses.size() == 2);
  CHECK(c->findService("default", "Web") == nullptr);  // keys are lowercase
  CHECK(c->findService("prod", "gone") == nullptr);
  CHECK(c->findService(std::string(100, 'a'), std::string(100, 'b')) == nullptr);
  REQUIRE(c->services().size() == 2);
  CHECK(c->services()[0]->name == "Web");  // "default" < "prod"

  for (auto ns : {"default", "prod", "kube-system", "empty"}) CHECK(c->hasNamespace(ns));
  CHECK_FALSE(c->hasNamespace("other"));

  auto cip = c->reverse(ip("fd00::10"));
  REQUIRE(cip.size() == 1);
  CHECK(cip[0].service == web);
  CHECK(cip[0].hostname.empty());
  CHECK(cip[0].address == nullptr);

  // 10.1.0.1 is a ready endpoint of two services.
  auto shared = c->reverse(ip("10.1.0.1"));
  REQUIRE(shared.size() == 2);
  CHECK(shared[0].service == web);
  CHECK(shared[0].hostname == "web-0");
  CHECK(shared[1].service->name == "db");
  CHECK(shared[1].hostname == "10-1-0-1");
  REQUIRE(shared[1].address);
  CHECK(shared[1].address->ip == ip("10.1.0.1"));
  CHECK(c->reverse(ip("10.1.0.2")).empty());  // not ready
  CHECK(c->reverse(ip("10.1.0.7")).empty());  // service unknown

  CHECK(c->hasPod("kube-system", ip("10.2.0.1")));
  CHECK(c->hasPod("kube-system", ip("fd00::2:1")));
  CHECK_FALSE(c->hasPod("default", ip("10.2.0.1")));
  CHECK_FALSE(c->hasPod("kube-system", ip("10.2.0.2")));

  const LoadStats& s = c->stats();
  CHECK(s.services == 2);
  CHECK(s.endpointSlices == 2);
  CHECK(s.endpoints == 4);
  CHECK(s.pods == 1);
  CHECK(s.namespaces == 4);
  CHECK(s.skipped == 1);
}

TEST_CASE("model: cluster IPs come first in the reverse map, a later service replaces") {
  Cluster::Builder b;
  b.addService(Service{"a", "ns", ServiceKind::Headless, {}, {}, {}, {}});
  b.addEndpoints("ns", "a", {{addr("10.0.0.5", "x")}, {}});
  b.addService(Service{"z", "ns", ServiceKind::ClusterIP, {ip("10.0.0.5")}, {}, {}, {}});
  b.addService(Service{"z", "ns", ServiceKind::ClusterIP, {ip("10.0.0.6")}, {}, {}, {}});
  auto c = b.build(1);
  CHECK(c->services().size() == 2);
  CHECK(c->reverse(ip("10.0.0.5")).size() == 1);
  CHECK(c->reverse(ip("10.0.0.5"))[0].service->name == "a");
  REQUIRE(c->reverse(ip("10.0.0.6")).size() == 1);
  CHECK(c->reverse(ip("10.0.0.6"))[0].hostname.empty());
}

TEST_CASE("model: publishNotReadyAddresses makes every address ready") {
  Cluster::Builder b;
  Service s{"a", "ns", ServiceKind::Headless, {}, {}, {}, {}};
  s.publishNotReadyAddresses = true;
  b.addService(std::move(s));
  b.addEndpoints("ns", "a", {{addr("10.0.0.5", "x", false)}, {}});
  auto c = b.build(1);
  CHECK(c->findService("ns", "a")->endpoints[0].addresses[0].ready);
  CHECK(c->reverse(ip("10.0.0.5")).size() == 1);
}

TEST_CASE("model: an empty builder gives an empty cluster") {
  Cluster::Builder b;
  auto c = b.build(0);
  CHECK(c->services().empty());
  CHECK_FALSE(c->hasNamespace("default"));
  CHECK(c->reverse(ip("10.0.0.1")).empty());
}

}  // namespace
}  // namespace moat::plugins::kubernetes
