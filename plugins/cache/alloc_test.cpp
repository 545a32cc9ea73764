// A cache hit must not allocate (handler.hpp): count operator new around onQuery and onReply
// on the hit path, with the reply buffer warm as the worker's pool keeps it.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "plugins/cache/test_support.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace moat::plugins::cache {
namespace {

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
    CHECK(allocations.load() == 0);
  }
}

}  // namespace
}  // namespace moat::plugins::cache
