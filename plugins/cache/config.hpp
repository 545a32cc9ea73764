// The `cache` directive read into a typed value (coredns-semantics.md §8). Parsing is pure, so a
// Corefile can be checked without building the cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::cache {

// CoreDNS's defaults (plugin/cache/cache.go, plugin/pkg/dnsutil/ttl.go).
constexpr uint32_t kMaxSuccessTtl = 3600;
constexpr uint32_t kMaxDenialTtl = 1800;
constexpr uint32_t kMinTtl = 5;
constexpr uint32_t kDefaultCapacity = 9984;  // 256 shards of 39
constexpr uint32_t kShards = 256;            // CoreDNS rounds capacities to whole shards
constexpr uint32_t kMinShardSize = 4;        // so no cache holds fewer than 1024 entries
constexpr std::chrono::seconds kDefaultServfailTtl{5};
constexpr std::chrono::minutes kMaxServfailTtl{5};  // RFC 2308 §7.1
constexpr std::chrono::minutes kDefaultPrefetchWindow{1};
constexpr uint32_t kDefaultPrefetchPercentage = 10;
constexpr std::chrono::hours kDefaultStaleUpTo{1};

struct TtlBounds {
  uint32_t capacity = kDefaultCapacity;  // as written; see effectiveCapacity()
  uint32_t maxTtl = 0;
  uint32_t minTtl = kMinTtl;
};

// `prefetch AMOUNT [DURATION [PERCENTAGE%]]`: an entry hit AMOUNT times within DURATION is
// refreshed in the background once its TTL left is at most PERCENTAGE of the TTL it was stored
// with (and at most 1 s before it expires).
struct PrefetchConfig {
  uint32_t amount = 0;  // 0: no prefetching
  std::chrono::nanoseconds window = kDefaultPrefetchWindow;
  uint32_t percentage = kDefaultPrefetchPercentage;  // 10 to 90
};

// `serve_stale [DURATION [immediate|verify]]`: an entry expired less than DURATION ago is still
// served, with TTL 0. `immediate` answers with it at once and refreshes it in the background;
// `verify` asks the rest of the chain first and answers with it only when that fails.
struct StaleConfig {
  std::chrono::nanoseconds upTo{0};  // 0: expired entries are never served
  bool verify = false;
};

struct CacheConfig {
  std::vector<std::string> zones;  // normalised; the block's zones when none were given
  TtlBounds success{kDefaultCapacity, kMaxSuccessTtl, kMinTtl};
  TtlBounds denial{kDefaultCapacity, kMaxDenialTtl, kMinTtl};
  std::chrono::seconds servfailTtl = kDefaultServfailTtl;  // 0: SERVFAIL is not cached
  std::vector<std::string> disableSuccess;  // zones where successes are not stored
  std::vector<std::string> disableDenial;   // zones where denials (and SERVFAIL) are not stored
  bool keepTtl = false;                     // serve the stored TTL instead of aging it
  PrefetchConfig prefetch;
  StaleConfig stale;
};

// What shapes the stored entries (zones, capacities, TTL bounds, servfail, disable), as one
// string: a reload whose cache has the same identity keeps the running cache's entries.
// keepttl, prefetch and serve_stale only change how entries are served, so they are left out.
std::string storageIdentity(const CacheConfig& config);

// CoreDNS's pkg/cache: capacity / 256 per shard, at least 4 per shard, times 256.
uint32_t effectiveCapacity(uint32_t written);

conf::Result<CacheConfig> parseCache(const SetupContext& ctx);

}  // namespace moat::plugins::cache
