#include "plugins/cache/store.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace moat::plugins::cache {
namespace {

// A wire name "nN." so every key differs; the entry's wire holds a header and that name.
std::vector<uint8_t> nameFor(int n) {
  std::string label = "n" + std::to_string(n);
  std::vector<uint8_t> out{static_cast<uint8_t>(label.size())};
  out.insert(out.end(), label.begin(), label.end());
  out.push_back(0);
  return out;
}

void put(Store& s, const std::vector<uint8_t>& name, bool& evicted) {
  Key k = Key::make(name, 1, 1, 0);
  Entry& e = s.claim(k, evicted);
  e.wire.assign(12, 0);
  e.wire.insert(e.wire.end(), name.begin(), name.end());
  e.ttl = 60;
}

TEST_CASE("Store: keys differ by name, type, class and DO/CD bits") {
  Store s(16, 1);
  auto name = nameFor(1);
  bool evicted = false;
  put(s, name, evicted);
  CHECK(s.find(Key::make(name, 1, 1, 0)) != nullptr);
  CHECK(s.find(Key::make(name, 28, 1, 0)) == nullptr);
  CHECK(s.find(Key::make(name, 1, 3, 0)) == nullptr);
  CHECK(s.find(Key::make(name, 1, 1, Key::kDoBit)) == nullptr);
  CHECK(s.find(Key::make(name, 1, 1, Key::kCdBit)) == nullptr);
  CHECK(s.find(Key::make(nameFor(2), 1, 1, 0)) == nullptr);
}

TEST_CASE("Store: re-storing a key replaces it in place") {
  Store s(4, 1);
  bool evicted = false;
  auto name = nameFor(7);
  put(s, name, evicted);
  put(s, name, evicted);
  CHECK_FALSE(evicted);
  CHECK(s.size() == 1);
}

TEST_CASE("Store: a full store evicts one entry per insert and keeps every other findable") {
  constexpr int kCap = 64;
  Store s(kCap, 42);
  int evictions = 0;
  for (int i = 0; i < 1000; ++i) {
    bool evicted = false;
    put(s, nameFor(i), evicted);
    evictions += evicted;
    CHECK(s.size() == static_cast<size_t>(std::min(i + 1, kCap)));
    // The newest is always there (backward-shift deletion must not lose it).
    REQUIRE(s.find(Key::make(nameFor(i), 1, 1, 0)) != nullptr);
  }
  CHECK(evictions == 1000 - kCap);
  int present = 0;
  for (int i = 0; i < 1000; ++i) present += s.find(Key::make(nameFor(i), 1, 1, 0)) != nullptr;
  CHECK(present == kCap);  // nothing lost from the index, nothing duplicated
}

}  // namespace
}  // namespace moat::plugins::cache
