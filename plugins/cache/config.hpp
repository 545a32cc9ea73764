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

struct TtlBounds {
  uint32_t capacity = kDefaultCapacity;  // as written; see effectiveCapacity()
  uint32_t maxTtl = 0;
  uint32_t minTtl = kMinTtl;
};

struct CacheConfig {
  std::vector<std::string> zones;  // normalised; the block's zones when none were given
  TtlBounds success{kDefaultCapacity, kMaxSuccessTtl, kMinTtl};
  TtlBounds denial{kDefaultCapacity, kMaxDenialTtl, kMinTtl};
  std::chrono::seconds servfailTtl = kDefaultServfailTtl;  // 0: SERVFAIL is not cached
  std::vector<std::string> disableSuccess;  // zones where successes are not stored
  std::vector<std::string> disableDenial;   // zones where denials (and SERVFAIL) are not stored
  bool keepTtl = false;                     // serve the stored TTL instead of aging it
};

// CoreDNS's pkg/cache: capacity / 256 per shard, at least 4 per shard, times 256.
uint32_t effectiveCapacity(uint32_t written);

conf::Result<CacheConfig> parseCache(const SetupContext& ctx);

}  // namespace moat::plugins::cache
