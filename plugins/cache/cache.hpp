// The `cache` plugin (coredns-semantics.md §8) with dnsdist's technique: replies are stored as
// wire bytes and served by patching ID, flags, question case and TTLs in place. Each worker
// owns its caches, so the query path takes no lock and, once warm, allocates nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/zone_set.hpp"
#include "plugins/cache/config.hpp"
#include "plugins/cache/shards.hpp"
#include "plugins/cache/store.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"

namespace moat::plugins {
struct Chain;
}

namespace moat::plugins::cache {

// Where the cache reads the time; tests substitute a clock they move by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};
using ClockPtr = std::shared_ptr<const Clock>;
ClockPtr steadyClock();

// Totals over all workers (what coredns_cache_* report).
struct CacheStats {
  uint64_t successHits = 0, denialHits = 0, misses = 0;
  uint64_t successEntries = 0, denialEntries = 0;
  uint64_t successEvictions = 0, denialEvictions = 0;
  uint64_t drops = 0;        // replies whose question did not match the query
  uint64_t prefetches = 0;   // background refreshes started (prefetch and serve_stale immediate)
  uint64_t servedStale = 0;  // replies built from an expired entry
};

class Cache final : public Handler,
                    public MetricSource,
                    public std::enable_shared_from_this<Cache> {
 public:
  // With an `identity` (setupCache passes the block's server label and the storage identity
  // of `config`), the cache takes over the entries of a live cache with the same identity and
  // worker count: a reload that did not change this cache keeps it warm (shards.hpp).
  Cache(const CacheConfig& config, size_t workers, ClockPtr clock = steadyClock(),
        const std::string& identity = {});
  ~Cache() override;

  Verdict onQuery(dns::Query& q) override;
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "cache"; }

  CacheStats stats() const;

  // coredns_cache_{entries,hits_total,misses_total,requests_total,evictions_total,drops_total,
  // prefetch_total,served_stale_total} labelled server, type (success|denial, where CoreDNS has
  // it), view ("") and zones (the cache's zones joined by ","). Counters appear once non-zero,
  // entries once anything was stored, as CoreDNS's do.
  void collect(std::vector<MetricSample>& out) const override;
  void setServerLabel(std::string server) { server_ = std::move(server); }

 private:
  struct Worker;
  struct Refresh;
  struct RefreshPool;
  class RefreshHead;
  static RefreshPool& refreshPool(size_t worker);

  struct Found {
    Entry* entry = nullptr;
    bool success = false;  // from the success store (else denial)
  };

  bool servable(const Entry& e, TimePoint now) const;
  Found lookup(Shard& shard, const Key& key, TimePoint now) const;
  bool hit(dns::Query& q, const Entry& entry, uint32_t ttl) const;
  bool shouldPrefetch(Entry& e, TimePoint now) const;
  bool serveStaleInstead(dns::Query& q, Worker& w) const;
  Entry* store(dns::Query& q, Worker& w);

  // Background refresh: the query runs through the handlers after this cache only (CoreDNS's
  // doRefresh: NextOrFailure from the cache), and its reply is stored, not sent.
  void startRefresh(const dns::Query& q, Worker& w, Entry& e, TimePoint now);
  const Chain* refreshChain(Worker& w, const void* route) const;
  void refreshed(Refresh& r, bool replied);
  int indexIn(const Chain& chain) const;

  dns::ZoneSet zones_;
  dns::ZoneSet disableSuccess_;
  dns::ZoneSet disableDenial_;
  CacheConfig config_;
  int64_t staleSeconds_ = 0;  // serve_stale DURATION in whole seconds, as CoreDNS compares it
  ClockPtr clock_;
  std::shared_ptr<Handler> head_;  // first handler of every refresh chain (a placeholder)
  std::vector<std::unique_ptr<Worker>> workers_;
  std::string server_;       // the `server` label
  std::string zonesLabel_;   // the `zones` label
};

// PluginSpec::setup for "cache".
conf::Result<HandlerPtr> setupCache(const SetupContext& ctx);

}  // namespace moat::plugins::cache
