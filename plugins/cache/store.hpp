// One worker's cache of replies (success or denial): a fixed number of entries holding wire
// bytes, found through an open-addressing index. Only the owning worker touches it, so there
// are no locks; a full store evicts a random entry, as CoreDNS does.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

namespace moat::plugins::cache {

using TimePoint = std::chrono::steady_clock::time_point;

// CoreDNS's key: lowercased qname, qtype, DO and CD (plus the class, which CoreDNS leaves out
// because it only serves IN; Moat may serve CH blocks).
struct Key {
  uint64_t hash = 0;
  std::span<const uint8_t> lowerName;  // uncompressed wire name
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint8_t bits = 0;  // kDoBit | kCdBit

  static constexpr uint8_t kDoBit = 1, kCdBit = 2;
  static Key make(std::span<const uint8_t> lowerName, uint16_t qtype, uint16_t qclass,
                  uint8_t bits);
};

struct Entry {
  uint64_t hash = 0;
  TimePoint stored{};
  uint32_t ttl = 0;        // seconds the entry is fresh for; every RR was stored with this TTL
  uint16_t qtype = 0, qclass = 0;
  uint8_t bits = 0;
  uint16_t nameLen = 0;
  // `prefetch`: hits counted since `windowStart` (CoreDNS's freq.Freq; 0 until the first hit).
  uint32_t windowHits = 0;
  TimePoint windowStart{};
  bool refreshing = false;  // a background refresh of this entry is in flight
  std::vector<uint8_t> wire;  // the reply without OPT; question name lowercased at offset 12

  bool matches(const Key& key) const;
  // Seconds left at `now` (negative once expired), counted as CoreDNS does: whole seconds of age.
  int64_t remaining(TimePoint now) const;
  bool servfail() const { return wire.size() > 3 && (wire[3] & 0x0f) == 2; }
};

class Store {
 public:
  Store(uint32_t capacity, uint64_t seed);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const Entry* find(const Key& key) const;
  Entry* find(const Key& key);
  // The entry to overwrite for `key`: its existing one, a free one, or a random victim (then
  // `evicted` is set). The caller fills wire/ttl/stored; hash and key fields are set here, and a
  // new entry starts with no prefetch hits and no refresh in flight.
  // Allocation happens only when the victim's buffer is smaller than the new reply.
  Entry& claim(const Key& key, bool& evicted);
  // Forgets `key`'s entry, if there is one; its buffer is kept for the next claim.
  void erase(const Key& key);

  size_t size() const { return used_ - free_.size(); }
  size_t capacity() const { return entries_.size(); }

 private:
  size_t slotOf(uint32_t entry) const;
  void eraseSlot(size_t slot);
  uint64_t nextRandom();

  std::vector<Entry> entries_;
  std::vector<int32_t> index_;  // entry number per slot, -1 when empty; load <= 1/2
  std::vector<uint32_t> free_;  // erased entries below used_, reused first (capacity reserved)
  size_t mask_ = 0;
  uint32_t used_ = 0;
  uint64_t rng_;
};

}  // namespace moat::plugins::cache
