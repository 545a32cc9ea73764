// The process's own series for /metrics. dns/ knows nothing of plugins, so the counters of the
// DNS server's workers (malformed packets, queries refused before any chain, TCP connections
// over the cap, failed sends) reach the metric-source list through this adapter.
#pragma once

#include <vector>

#include "dns/server/server.hpp"
#include "plugins/chain.hpp"
#include "plugins/metric_source.hpp"

namespace moat::app {

// moat_malformed_packets_total{action}, moat_refused_no_zone_total,
// moat_query_slots_exhausted_total, moat_tcp_connections_rejected_total and
// moat_udp_send_failures_total, always present (at 0 until something happens). Reads the
// workers' counters (single writer each) when asked; the server and runner must outlive the
// scrapes, i.e. the HTTP server must be stopped first.
class ServerMetrics final : public plugins::MetricSource {
 public:
  ServerMetrics(const dns::server::Server& server, const plugins::ChainRunner& runner)
      : server_(server), runner_(runner) {}

  void collect(std::vector<plugins::MetricSample>& out) const override;

 private:
  const dns::server::Server& server_;
  const plugins::ChainRunner& runner_;
};

}  // namespace moat::app
