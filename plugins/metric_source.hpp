// Counters that plugins other than `prometheus` own (moat_private_blocked_total,
// coredns_forward_*, coredns_proxy_*, coredns_cache_*, coredns_hosts_*...) and those of the
// process (cmd/). A plugin registers a source when it is built; a scrape asks every source still
// alive for its samples, and `prometheus` serializes them with its own series. Nothing here is
// on the data path: sources read their per-worker counters only when asked.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace moat::plugins {

struct MetricSample {
  std::string family;  // "moat_private_blocked_total"
  std::string help;
  bool gauge = false;  // counter otherwise (or a histogram, see below)
  std::vector<std::pair<std::string, std::string>> labels;  // in the order they are printed
  double value = 0;    // a histogram's sum of observations
  // Histograms only (then `gauge` is false): the bucket upper bounds in ascending order (the
  // +Inf bucket is implied) and, for each bound, how many observations were <= it (cumulative).
  // `count` is every observation, i.e. the +Inf bucket.
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  uint64_t count = 0;
  // Gauges only: when several sources report the same series, keep the largest value rather
  // than the newest source's (coredns_hosts_reload_timestamp_seconds over several files).
  bool keepMax = false;

  bool histogram() const { return !bounds.empty(); }
};

class MetricSource {
 public:
  virtual ~MetricSource() = default;
  virtual void collect(std::vector<MetricSample>& out) const = 0;
};

// Process-wide list of sources; a source that expired (its handler was replaced by a reload
// and finished its queries) is dropped at the next collection. Thread-safe.
void registerMetricSource(std::weak_ptr<const MetricSource> source);

// Every live source's samples, one per series. When two sources report the same series (an old
// and a new handler while a reload overlaps them, or two blocks sharing an upstream), counters
// and histograms add up; a gauge takes the value of the source registered last (the newest
// handler describes what is loaded now), or the largest with `keepMax`.
std::vector<MetricSample> collectMetricSources();

}  // namespace moat::plugins
