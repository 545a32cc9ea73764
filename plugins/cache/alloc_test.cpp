// A cache hit must not allocate (handler.hpp): count operator new around onQuery and onReply
// on the hit path, with the reply buffer warm as the worker's pool keeps it.
#include <doctest/doctest.h>

#include "tests/support/alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "plugins/cache/test_support.hpp"


namespace moat::plugins::cache {
namespace {

using moat::testing::allocations;
using moat::testing::counting;
using testing::Ask;
using testing::Harness;

TEST_CASE("cache: hits and misses do not allocate") {
  Harness h;
  h.ask({}, dns::RCode::NoError, {testing::a("www.example.org.", 300)});
  h.ask({.name = "nx.example.org."}, dns::RCode::NXDomain, {testing::soa("example.org.", 60)});
  const Ask cases[] = {
      {.name = "WWW.example.org."},
      {.name = "www.example.org.", .edns = 1232},
      {.name = "nx.example.org."},
      {.name = "miss.example.org."},  // a miss: Next, nothing written
  };
  for (const Ask& c : cases) {
    CAPTURE(c.name);
    auto q = testing::makeQuery(c);
    allocations = 0;
    counting = true;
    Verdict v = h.cache->onQuery(*q);
    if (v == Verdict::Answered) h.cache->onReply(*q);
    counting = false;
    CHECK(allocations == 0);
  }
}

}  // namespace
}  // namespace moat::plugins::cache
