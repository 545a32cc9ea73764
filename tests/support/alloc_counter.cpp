#include "tests/support/alloc_counter.hpp"

#include <cstdlib>
#include <new>

// The replacements pair malloc with free; GCC cannot see that once it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::testing {
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace moat::testing

void* operator new(std::size_t size) {
  if (moat::testing::counting) ++moat::testing::allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's buffer comes from it): otherwise it would be the
// runtime's, and its memory would reach the free() above (ASan reports the mismatch).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (moat::testing::counting) ++moat::testing::allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

#include <doctest/doctest.h>

#include <memory>

// Registered in every binary this file is linked into: those that count allocations, and, in a
// GCC build, every test binary (its operator new is the first definition the linker meets
// there; clang's ASan runtime defines one before it). Proves the replacement is the operator
// new in use, so a zero count means something.
TEST_CASE("allocation counter sees an allocation on this thread") {
  using namespace moat::testing;
  allocations = 0;
  counting = true;
  auto p = std::make_unique<int>(7);
  counting = false;
  CHECK(allocations == 1);
  CHECK(*p == 7);
}
