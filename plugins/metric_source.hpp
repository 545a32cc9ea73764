// Counters that plugins other than `prometheus` own (moat_private_blocked_total, and later
// coredns_forward_*, coredns_cache_*...). A plugin registers a source when it is built; a
// scrape asks every source still alive for its samples, and `prometheus` serializes them with
// its own series. Nothing here is on the data path: sources read their per-worker counters
// only when asked.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace moat::plugins {

struct MetricSample {
  std::string family;  // "moat_private_blocked_total"
  std::string help;
  bool gauge = false;  // counter otherwise
  std::vector<std::pair<std::string, std::string>> labels;  // in the order they are printed
  double value = 0;
};

class MetricSource {
 public:
  virtual ~MetricSource() = default;
  virtual void collect(std::vector<MetricSample>& out) const = 0;
};

// Process-wide list of sources; a source that expired (its handler was replaced by a reload
// and finished its queries) is dropped at the next collection. Thread-safe.
void registerMetricSource(std::weak_ptr<const MetricSource> source);
std::vector<MetricSample> collectMetricSources();

}  // namespace moat::plugins
