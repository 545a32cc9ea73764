// Counters written by one thread and read by others (metrics): a relaxed load+store instead of
// a locked read-modify-write, since no other core ever writes the same counter.
#pragma once

#include <atomic>
#include <cstdint>

namespace moat::dns {

inline void bump(std::atomic<uint64_t>& c, uint64_t by = 1) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace moat::dns
