#include "plugins/cache/store.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace moat::plugins::cache {

namespace {
constexpr int32_t kEmpty = -1;

// FNV-1a: cheap, and the full key is compared on every hit, so collisions only cost a probe.
uint64_t fnv1a(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}
}  // namespace

Key Key::make(std::span<const uint8_t> lowerName, uint16_t qtype, uint16_t qclass, uint8_t bits) {
  const uint8_t tail[5] = {static_cast<uint8_t>(qtype >> 8), static_cast<uint8_t>(qtype),
                           static_cast<uint8_t>(qclass >> 8), static_cast<uint8_t>(qclass), bits};
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, lowerName.data(), lowerName.size());
  h = fnv1a(h, tail, sizeof tail);
  return Key{h, lowerName, qtype, qclass, bits};
}

bool Entry::matches(const Key& key) const {
  return hash == key.hash && qtype == key.qtype && qclass == key.qclass && bits == key.bits &&
         nameLen == key.lowerName.size() && wire.size() >= 12u + nameLen &&
         std::memcmp(wire.data() + 12, key.lowerName.data(), nameLen) == 0;
}

int64_t Entry::remaining(TimePoint now) const {
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - stored).count();
  return int64_t{ttl} - age;
}

Store::Store(uint32_t capacity, uint64_t seed) : rng_(seed | 1) {
  capacity = std::max<uint32_t>(capacity, 1);
  entries_.resize(capacity);
  free_.reserve(capacity);
  index_.assign(std::bit_ceil(size_t{capacity} * 2), kEmpty);
  mask_ = index_.size() - 1;
}

const Entry* Store::find(const Key& key) const {
  for (size_t s = key.hash & mask_;; s = (s + 1) & mask_) {
    int32_t e = index_[s];
    if (e == kEmpty) return nullptr;
    if (entries_[static_cast<size_t>(e)].matches(key)) return &entries_[static_cast<size_t>(e)];
  }
}

Entry* Store::find(const Key& key) {
  return const_cast<Entry*>(static_cast<const Store&>(*this).find(key));
}

void Store::erase(const Key& key) {
  for (size_t s = key.hash & mask_; index_[s] != kEmpty; s = (s + 1) & mask_) {
    const auto n = static_cast<uint32_t>(index_[s]);
    if (!entries_[n].matches(key)) continue;
    eraseSlot(s);
    entries_[n].wire.clear();  // keeps its capacity; an empty wire matches no key
    free_.push_back(n);        // never allocates: reserved for every entry
    return;
  }
}

Entry& Store::claim(const Key& key, bool& evicted) {
  evicted = false;
  size_t s = key.hash & mask_;
  for (; index_[s] != kEmpty; s = (s + 1) & mask_) {
    Entry& e = entries_[static_cast<size_t>(index_[s])];
    if (e.matches(key)) return e;  // refresh in place
  }
  uint32_t n;
  if (!free_.empty()) {
    n = free_.back();
    free_.pop_back();
  } else if (used_ < entries_.size()) {
    n = used_++;
  } else {
    n = static_cast<uint32_t>(nextRandom() % entries_.size());
    eraseSlot(slotOf(n));
    evicted = true;
    // The erase may have shifted entries back into the run; find the first free slot again.
    for (s = key.hash & mask_; index_[s] != kEmpty; s = (s + 1) & mask_) {
    }
  }
  index_[s] = static_cast<int32_t>(n);
  Entry& e = entries_[n];
  e.hash = key.hash;
  e.qtype = key.qtype;
  e.qclass = key.qclass;
  e.bits = key.bits;
  e.nameLen = static_cast<uint16_t>(key.lowerName.size());
  e.windowHits = 0;
  e.windowStart = {};
  e.refreshing = false;
  e.wire.clear();
  return e;
}

size_t Store::slotOf(uint32_t entry) const {
  for (size_t s = entries_[entry].hash & mask_;; s = (s + 1) & mask_) {
    if (index_[s] == static_cast<int32_t>(entry)) return s;
  }
}

// Backward-shift deletion keeps linear probing correct without tombstones: every later entry
// of the run whose home slot is not between the hole and itself moves into the hole.
void Store::eraseSlot(size_t hole) {
  for (size_t j = (hole + 1) & mask_; index_[j] != kEmpty; j = (j + 1) & mask_) {
    size_t home = entries_[static_cast<size_t>(index_[j])].hash & mask_;
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = kEmpty;
}

uint64_t Store::nextRandom() {  // xorshift64: eviction only needs to be unpredictable enough
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

}  // namespace moat::plugins::cache
