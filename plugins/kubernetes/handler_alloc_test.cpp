// The query path must not allocate (handler.hpp). Counting operator new around onQuery proves
// it for every kind of answer once the worker's buffers are warm: the reply vector (kept by the
// query pool) and the per-worker scratch, which grow to the largest answer seen and stay.
// This file replaces the global operator new for the whole test_kubernetes binary; counting is
// off except around onQuery below.
#include <doctest/doctest.h>

#include "tests/support/alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "plugins/kubernetes/records_fixture.hpp"


namespace moat::plugins::kubernetes {
namespace {

using moat::testing::allocations;
using moat::testing::counting;
using namespace testing;
namespace rr = dns::rrtype;

TEST_CASE("handler: onQuery does not allocate once warm") {
  auto h = makeHandler("cluster.local in-addr.arpa ip6.arpa",
                       {"pods insecure", "fallthrough ip6.arpa"});
  struct Case {
    const char* name;
    uint16_t type;
    Verdict verdict;
  };
  const Case cases[] = {
      {"svc1.testns.svc.cluster.local.", rr::A, Verdict::Answered},
      {"SVC-DUAL.testns.svc.cluster.local.", rr::AAAA, Verdict::Answered},
      {"hdls1.testns.svc.cluster.local.", rr::A, Verdict::Answered},
      {"_http._tcp.hdls1.testns.svc.cluster.local.", rr::SRV, Verdict::Answered},
      {"_http._tcp.svc-dual.testns.svc.cluster.local.", rr::SRV, Verdict::Answered},
      {"2.0.0.172.in-addr.arpa.", rr::PTR, Verdict::Answered},
      {"1.0.0.10.in-addr.arpa.", rr::PTR, Verdict::Answered},
      {"ext-chain.testns.svc.cluster.local.", rr::A, Verdict::Answered},
      {"external.testns.svc.cluster.local.", rr::A, Verdict::Answered},
      {"10-244-1-1.testns.pod.cluster.local.", rr::A, Verdict::Answered},
      {"dns-version.cluster.local.", rr::TXT, Verdict::Answered},
      {"cluster.local.", rr::NS, Verdict::Answered},
      {"cluster.local.", rr::SOA, Verdict::Answered},
      {"svc1.testns.svc.cluster.local.", rr::MX, Verdict::Answered},     // NODATA
      {"nope.testns.svc.cluster.local.", rr::A, Verdict::Answered},      // NXDOMAIN
      {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", rr::PTR,
       Verdict::Next},                                                    // fallthrough
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
    CHECK(h->onQuery(q) == c.verdict);  // warms the worker's scratch
    allocations = 0;
    counting = true;
    Verdict v = h->onQuery(q);
    counting = false;
    CHECK(v == c.verdict);
    CHECK(allocations == 0);
  }
}

}  // namespace
}  // namespace moat::plugins::kubernetes
