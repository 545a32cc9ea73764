// The `prometheus` plugin, as CoreDNS's `metrics`: `prometheus [ADDR]` (default
// localhost:9153) serves /metrics with CoreDNS's names, labels and buckets so dashboards keep
// working. Every block feeds one process-wide collector, so whichever block's route the HTTP
// server keeps for a shared address, one scrape shows them all. On the query path it only
// observes replies: per-worker counters, summed at scrape time (metrics.hpp).
#pragma once

#include <memory>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"
#include "plugins/prometheus/metrics.hpp"

namespace moat::plugins::prometheus {

inline constexpr std::string_view kDefaultAddress = "localhost:9153";
inline constexpr std::string_view kPath = "/metrics";

class PrometheusHandler final : public Handler {
 public:
  explicit PrometheusHandler(std::shared_ptr<BlockMetrics> metrics) : metrics_(std::move(metrics)) {}

  Verdict onQuery(dns::Query& q) override;
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "prometheus"; }

  const BlockMetrics& metrics() const { return *metrics_; }

 private:
  std::shared_ptr<BlockMetrics> metrics_;
};

// The labels of a block: `server` from its first key's port and first `bind` address (as
// CoreDNS prints a listener, "dns://:53"), its zones, and its plugins' names.
BlockLabels blockLabels(const SetupContext& ctx);

// Appends the /metrics route to ctx.http and returns the handler that counts for this block.
conf::Result<HandlerPtr> setupPrometheus(const SetupContext& ctx);

}  // namespace moat::plugins::prometheus
