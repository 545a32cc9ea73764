// One worker's caches (success and denial), and the process-wide list through which a cache
// built by a reload takes over the running one's entries when its configuration did not change.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plugins/cache/store.hpp"

namespace moat::plugins::cache {

// Only the owning worker's thread touches the stores, whichever handler (the running
// configuration's or the one a reload just built) the query came through; the entry counts are
// read by scrapes.
struct alignas(64) Shard {
  Shard(uint32_t successCapacity, uint32_t denialCapacity, uint64_t seed)
      : success(successCapacity, seed), denial(denialCapacity, ~seed) {}

  Store success;
  Store denial;
  std::atomic<uint64_t> successEntries{0}, denialEntries{0};  // coredns_cache_entries{type}
};
using ShardPtr = std::shared_ptr<Shard>;

// The shards of a cache still alive whose identity is `identity` and that has `workers`
// shards; otherwise `workers` new ones from `make(i)`, remembered under `identity` for the next
// configuration. The list holds weak references only, so a cache no configuration uses any more
// is freed with its handlers. Thread-safe; called at setup, never on the query path.
std::vector<ShardPtr> adoptShards(const std::string& identity, size_t workers,
                                  const std::function<ShardPtr(size_t)>& make);

}  // namespace moat::plugins::cache
