// The query path must not allocate (handler.hpp). Counting operator new around onQuery proves
// it for every kind of answer; the reply buffer is warmed first, as the worker's pool keeps it.
#include <doctest/doctest.h>

#include "tests/support/alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "plugins/hosts/hosts.hpp"
#include "plugins/hosts/test_support.hpp"


namespace moat::plugins::hosts {
namespace {

using moat::testing::allocations;
using moat::testing::counting;
using testing::directive;
using testing::Setup;
using testing::TempDir;
namespace rr = dns::rrtype;

TEST_CASE("hosts: onQuery does not allocate") {
  TempDir dir;
  dir.write("hosts.txt",
            "10.0.0.1 www.example.org\n2001:db8::1 www.example.org\n10.0.0.5 *.w.example.org\n");
  Setup s(directive("hosts hosts.txt example.org", {"reload 0", "fallthrough sub.example.org"}),
          {"."}, dir.path());
  auto h = setupHosts(s.ctx);
  REQUIRE(h.ok());

  struct Case {
    const char* name;
    uint16_t type;
    Verdict verdict;
  };
  const Case cases[] = {
      {"www.example.org.", rr::A, Verdict::Answered},
      {"WWW.example.org.", rr::AAAA, Verdict::Answered},
      {"x.w.example.org.", rr::A, Verdict::Answered},
      {"www.example.org.", rr::MX, Verdict::Answered},     // NODATA
      {"missing.example.org.", rr::A, Verdict::Answered},  // SERVFAIL
      {"a.sub.example.org.", rr::A, Verdict::Next},        // fallthrough
      {"1.0.0.10.in-addr.arpa.", rr::PTR, Verdict::Answered},
      {"2.0.0.10.in-addr.arpa.", rr::PTR, Verdict::Next},
      {"other.example.net.", rr::A, Verdict::Next},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    dns::Query q;
    moat::testing::QuerySpec spec;
    spec.name = c.name;
    spec.type = c.type;
    moat::testing::loadQuery(q, moat::testing::makeQuery(spec));
    q.reply.reserve(512);
    allocations = 0;
    counting = true;
    Verdict v = (*h)->onQuery(q);
    counting = false;
    CHECK(v == c.verdict);
    CHECK(allocations == 0);
  }
}

}  // namespace
}  // namespace moat::plugins::hosts
