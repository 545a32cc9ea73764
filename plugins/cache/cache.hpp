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
#include "plugins/cache/store.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"

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
  uint64_t drops = 0;  // replies whose question did not match the query
};

class Cache final : public Handler, public MetricSource {
 public:
  Cache(const CacheConfig& config, size_t workers, ClockPtr clock = steadyClock());
  ~Cache() override;

  Verdict onQuery(dns::Query& q) override;
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "cache"; }

  CacheStats stats() const;

  // coredns_cache_{entries,hits_total,misses_total,requests_total,evictions_total,drops_total}
  // labelled server, type (success|denial, where CoreDNS has it), view ("") and zones (the
  // cache's zones joined by ","). Counters appear once non-zero, entries once anything was
  // stored, as CoreDNS's do.
  void collect(std::vector<MetricSample>& out) const override;
  void setServerLabel(std::string server) { server_ = std::move(server); }

 private:
  struct Worker;

  bool hit(dns::Query& q, const Entry& entry, TimePoint now) const;
  void store(dns::Query& q, Worker& w);

  dns::ZoneSet zones_;
  dns::ZoneSet disableSuccess_;
  dns::ZoneSet disableDenial_;
  CacheConfig config_;
  ClockPtr clock_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::string server_;       // the `server` label
  std::string zonesLabel_;   // the `zones` label
};

// PluginSpec::setup for "cache".
conf::Result<HandlerPtr> setupCache(const SetupContext& ctx);

}  // namespace moat::plugins::cache
