#include "plugins/forward/inflight.hpp"

#include <algorithm>

namespace moat::plugins::forward {
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

std::optional<uint16_t> IdTable::take(uint16_t slot, dns::SecureRandom& random) {
  if (!map_) {
    map_ = std::make_unique<uint16_t[]>(65536);
    std::fill_n(map_.get(), 65536, kNoSlot);
  }
  // The table is sparse (at most a few thousand in flight), so a few random draws nearly always
  // hit a free ID; a linear probe from a random start bounds the rare unlucky case.
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint16_t id = random.u16();
    if (map_[id] == kNoSlot) {
      map_[id] = slot;
      return id;
    }
  }
  uint16_t start = random.u16();
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
