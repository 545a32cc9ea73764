#include "plugins/forward/inflight.hpp"

#include <algorithm>
#include <random>

namespace moat::plugins::forward {
namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

void IdRng::reseed() {
  std::random_device rd;
  for (auto& word : s_) word = (uint64_t{rd()} << 32) ^ rd();
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // the all-zero state is a fixed point
  draws_ = 0;
}

uint64_t IdRng::next() {
  if (++draws_ == (1u << 16)) reseed();
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::optional<uint16_t> SlotTable::acquire() {
  uint16_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else if (slots_.size() < kMaxSlots) {
    index = static_cast<uint16_t>(slots_.size());
    slots_.emplace_back();
  } else {
    return std::nullopt;
  }
  ++inUse_;
  slots_[index].inUse = true;
  return index;
}

void SlotTable::release(uint16_t index) {
  Slot& s = slots_[index];
  s.inUse = false;
  s.query = nullptr;
  s.tcp.reset();
  ++s.generation;
  --inUse_;
  free_.push_back(index);
}

std::optional<uint16_t> IdTable::take(uint16_t slot, IdRng& rng) {
  if (!map_) {
    map_ = std::make_unique<uint16_t[]>(65536);
    std::fill_n(map_.get(), 65536, kNoSlot);
  }
  // The table is sparse (at most a few thousand in flight), so a few random draws nearly always
  // hit a free ID; a linear probe from a random start bounds the rare unlucky case.
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint16_t id = rng.id();
    if (map_[id] == kNoSlot) {
      map_[id] = slot;
      return id;
    }
  }
  uint16_t start = rng.id();
  for (uint32_t k = 0; k < 65536; ++k) {
    auto id = static_cast<uint16_t>(start + k);
    if (map_[id] == kNoSlot) {
      map_[id] = slot;
      return id;
    }
  }
  return std::nullopt;
}

}  // namespace moat::plugins::forward
