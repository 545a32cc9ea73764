#include "plugins/cache/store.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace moat::plugins::cache {
namespace {

// A wire name "nN." so every key differs; the entry's wire holds a header and that name.
std::vector<uint8_t> nameFor(int n) {
  const std::string label = "n" + std::to_string(n);
  std::vector<uint8_t> out(label.size() + 2, 0);
  out[0] = static_cast<uint8_t>(label.size());
  std::copy(label.begin(), label.end(), out.begin() + 1);
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

TEST_CASE("Store: erase forgets one key and its place is taken before anything is evicted") {
  constexpr int kCap = 8;
  Store s(kCap, 3);
  bool evicted = false;
  for (int i = 0; i < kCap; ++i) put(s, nameFor(i), evicted);
  s.erase(Key::make(nameFor(3), 1, 1, 0));
  s.erase(Key::make(nameFor(99), 1, 1, 0));  // not there: nothing happens
  CHECK(s.size() == kCap - 1);
  CHECK(s.find(Key::make(nameFor(3), 1, 1, 0)) == nullptr);
  put(s, nameFor(100), evicted);
  CHECK_FALSE(evicted);
  CHECK(s.size() == kCap);
  for (int i = 0; i < kCap; ++i) CHECK((s.find(Key::make(nameFor(i), 1, 1, 0)) != nullptr) == (i != 3));
  CHECK(s.find(Key::make(nameFor(100), 1, 1, 0)) != nullptr);
  put(s, nameFor(101), evicted);
  CHECK(evicted);
}

}  // namespace
}  // namespace moat::plugins::cache
