// The search path kubernetes gives `autopath @kubernetes` (CoreDNS's Kubernetes.AutoPath).
#include <doctest/doctest.h>

#include "tests/support/alloc_counter.hpp"

#include "plugins/kubernetes/records_fixture.hpp"

namespace moat::plugins::kubernetes {
namespace {

using namespace testing;

// The path for NAME asked by CLIENT, as text; {"none"} when there is none.
std::vector<std::string> pathFor(Kubernetes& h, const std::string& name, const char* client) {
  dns::Query q;
  moat::testing::QuerySpec spec;
  spec.name = name;
  moat::testing::loadQuery(q, moat::testing::makeQuery(spec), dns::Proto::Udp, client);
  SearchPath path;
  if (!h.searchPath(q, path)) return {"none"};
  std::vector<std::string> out;
  for (size_t i = 0; i < path.size(); ++i) out.push_back(dns::nameToText(path.at(i)));
  return out;
}

TEST_CASE("autopath: a pod's namespace, svc, the zone, then the host's search domains") {
  auto h = makeHandler("cluster.local in-addr.arpa", {"pods verified"});
  h->setHostSearch({dns::lowercased(*dns::nameFromText("corp.example."))});
  CHECK(h->searchPathName() == "kubernetes");
  // pod-a of the fixture lives in testns at 10.244.1.1 and fd00::244:1:1.
  const std::vector<std::string> testns = {"testns.svc.cluster.local.", "svc.cluster.local.", "cluster.local.",
                                           "corp.example."};
  CHECK(pathFor(*h, "x.testns.svc.cluster.local.", "10.244.1.1") == testns);
  CHECK(pathFor(*h, "X.TestNS.svc.Cluster.Local.", "fd00::244:1:1") == testns);
  // Not a pod, or a name outside the plugin's zones: no search path (CoreDNS's nil).
  CHECK(pathFor(*h, "x.testns.svc.cluster.local.", "10.244.9.9") == std::vector<std::string>{"none"});
  CHECK(pathFor(*h, "example.org.", "10.244.1.1") == std::vector<std::string>{"none"});
}

TEST_CASE("autopath: without pods verified no client has a search path") {
  auto h = makeHandler("cluster.local", {"pods insecure"});
  CHECK(pathFor(*h, "x.testns.svc.cluster.local.", "10.244.1.1") == std::vector<std::string>{"none"});
}

TEST_CASE("autopath: the zone . gives NS.svc., svc., .") {
  auto h = makeHandler(".", {"pods verified"});
  CHECK(pathFor(*h, "x.testns.svc.", "10.244.1.1") == std::vector<std::string>{"testns.svc.", "svc.", "."});
}

TEST_CASE("autopath: the search path is built without allocating") {
  auto h = makeHandler("cluster.local", {"pods verified"});
  dns::Query q;
  moat::testing::QuerySpec spec;
  spec.name = "x.testns.svc.cluster.local.";
  moat::testing::loadQuery(q, moat::testing::makeQuery(spec), dns::Proto::Udp, "10.244.1.1");
  auto path = std::make_unique<SearchPath>();
  moat::testing::allocations = 0;
  moat::testing::counting = true;
  const bool found = h->searchPath(q, *path);
  moat::testing::counting = false;
  CHECK(found);
  CHECK(moat::testing::allocations == 0);
}

}  // namespace
}  // namespace moat::plugins::kubernetes
