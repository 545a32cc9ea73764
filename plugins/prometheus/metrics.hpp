// The counters behind `coredns_dns_*` (CoreDNS plugin/metrics/vars): every label combination a
// block can produce is a small dense index, so each worker owns fixed arrays of counters that
// only it writes (relaxed load+store, dns/counter.hpp). A scrape sums the workers' arrays and
// the blocks that share a label set, and hands prometheus-cpp plain MetricFamilies.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace moat::plugins::prometheus {

// The qtypes CoreDNS labels by name (plugin/metrics/vars monitorType); the rest are "other".
inline constexpr std::array<std::string_view, 20> kTypeNames = {
    "A",    "AAAA",  "CNAME", "DNSKEY", "DS",   "MX",   "NSEC", "NSEC3", "NS",   "PTR",
    "RRSIG", "SOA",  "SRV",   "TXT",    "HTTPS", "SVCB", "IXFR", "AXFR", "ANY", "other"};
size_t typeIndex(uint16_t qtype);

// The header's 4-bit rcode as CoreDNS's rcode.ToString prints it (miekg names, else "RCODEn").
inline constexpr size_t kRcodes = 16;
std::string_view rcodeName(unsigned rcode);

// plugin.TimeBuckets: ExponentialBuckets(0.00025, 2, 16), 0.25 ms to 8.192 s.
inline constexpr size_t kDurationBuckets = 16;
double durationBound(size_t i);
// request/response size buckets of vars.go.
inline constexpr std::array<double, 14> kSizeBounds = {0,    100,  200,  300,  400,  511,  1023,
                                                       2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3};

// The labels a block's series carry.
struct BlockLabels {
  std::string server;                // "dns://:53", "dns://127.0.0.1:1053"
  std::vector<std::string> zones;    // the block's zones ("." when none); zone label = longest match
  std::vector<std::string> plugins;  // plugin names for coredns_plugin_enabled and the plugin label
  std::string view;                  // the block's `view` name, "" without one
};

// What one answered query contributes.
struct Observation {
  size_t zone = 0;       // index into BlockLabels::zones
  bool tcp = false;
  bool ipv6 = false;
  size_t type = 0;       // typeIndex()
  bool dnssecOk = false;
  uint64_t requestSize = 0;
  uint64_t responseSize = 0;
  unsigned rcode = 0;    // 0..15
  size_t plugin = 0;     // 0 = unknown/none, i+1 = BlockLabels::plugins[i]
  uint64_t durationNs = 0;
};

class BlockMetrics {
 public:
  BlockMetrics(BlockLabels labels, unsigned workers);

  const BlockLabels& labels() const { return labels_; }
  // When setup last handed these counters to a block (Collector's sequence): the newest block
  // for a server+zone says which plugins are enabled now.
  uint64_t lastSetup() const { return lastSetup_.load(std::memory_order_relaxed); }
  void markSetup(uint64_t seq) { lastSetup_.store(seq, std::memory_order_relaxed); }
  unsigned workers() const { return static_cast<unsigned>(workers_.size()); }

  // The longest block zone the lowercased wire name is in (0 when none: the block's first zone,
  // which is what reached this chain anyway).
  size_t zoneIndex(std::span<const uint8_t> lowerWireName) const;
  // The plugin label slot of a handler name (0 when it is not one of the block's plugins).
  size_t pluginIndex(std::string_view name) const;

  // Data path: called only by worker `worker`'s thread. Never allocates, never locks.
  void record(unsigned worker, const Observation& o);

  // Scrape side: a counter summed over workers.
  uint64_t sum(size_t index) const;

  // Offsets into the flat per-worker counter array.
  size_t requestsAt(size_t zone, bool tcp, bool ipv6, size_t type) const;
  size_t doAt(size_t zone) const { return doBase_ + zone; }
  size_t durationAt(size_t zone, size_t bucket) const {  // bucket kDurationBuckets = +Inf
    return durationBase_ + zone * (kDurationBuckets + 1) + bucket;
  }
  size_t durationSumAt(size_t zone) const { return durationSumBase_ + zone; }  // nanoseconds
  size_t requestSizeAt(size_t zone, bool tcp, size_t bucket) const {
    return requestSizeBase_ + (zone * 2 + tcp) * (kSizeBounds.size() + 1) + bucket;
  }
  size_t requestSizeSumAt(size_t zone, bool tcp) const { return requestSizeSumBase_ + zone * 2 + tcp; }
  size_t responseSizeAt(size_t zone, bool tcp, size_t bucket) const {
    return responseSizeBase_ + (zone * 2 + tcp) * (kSizeBounds.size() + 1) + bucket;
  }
  size_t responseSizeSumAt(size_t zone, bool tcp) const { return responseSizeSumBase_ + zone * 2 + tcp; }
  size_t responsesAt(size_t zone, unsigned rcode, size_t plugin) const {
    return responsesBase_ + (zone * kRcodes + rcode) * (labels_.plugins.size() + 1) + plugin;
  }

 private:
  // A cache line of counters: per-worker arrays are made of these so two workers never write
  // the same line.
  struct alignas(64) Line {
    std::array<std::atomic<uint64_t>, 8> c{};
  };
  std::atomic<uint64_t>& at(unsigned worker, size_t index) {
    return workers_[worker][index / 8].c[index % 8];
  }

  BlockLabels labels_;
  std::vector<std::vector<uint8_t>> zoneWire_;  // lowercased wire form of labels_.zones
  size_t doBase_ = 0, durationBase_ = 0, durationSumBase_ = 0, requestSizeBase_ = 0,
         requestSizeSumBase_ = 0, responseSizeBase_ = 0, responseSizeSumBase_ = 0,
         responsesBase_ = 0, total_ = 0;
  std::vector<std::unique_ptr<Line[]>> workers_;
  std::atomic<uint64_t> lastSetup_{0};
};

// Every block's counters, summed at scrape time (prometheus::Collectable).
class Collector final : public ::prometheus::Collectable {
 public:
  // The counters for these labels: an existing set when a reload rebuilds an unchanged block
  // (its series keep counting, as CoreDNS's do across reloads), else a new one.
  std::shared_ptr<BlockMetrics> block(const BlockLabels& labels, unsigned workers);

  std::vector<::prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mu_;  // setup (reload thread) vs scrape (HTTP thread); never the data path
  std::vector<std::shared_ptr<BlockMetrics>> blocks_;
  uint64_t setups_ = 0;
};

// The process-wide metrics: one registry (build_info), one collector (every block), so one
// /metrics shows all blocks whichever block's route the HTTP server kept.
class Metrics {
 public:
  static Metrics& instance();
  Metrics();

  Collector& collector() { return *collector_; }
  // The exposition text of everything (text format 0.0.4).
  std::string scrape() const;

 private:
  std::shared_ptr<::prometheus::Registry> registry_;
  std::shared_ptr<Collector> collector_;
};

}  // namespace moat::plugins::prometheus
