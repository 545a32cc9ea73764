// The `forward` plugin: sends queries inside FROM (and outside `except`) to upstream resolvers
// and relays their replies (CoreDNS semantics, reference §6). One handler holds every forward
// stanza of a server block, in Corefile order: a query goes to the first stanza that matches.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/forward/config.hpp"
#include "plugins/forward/shared.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::forward {

struct Shared;
class Worker;

class Forward final : public Handler, public MetricSource {
 public:
  // Opens upstream sockets on every loop (one Worker per loop) and schedules their receive
  // loops there. Health checks run on loops[0]. With no loops the handler answers SERVFAIL.
  Forward(std::vector<Stanza> stanzas, std::span<boost::asio::io_context* const> loops,
          const EgressConfig& egress = {});
  // Closes the sockets: posted to each loop that still runs, done here for stopped ones.
  // Queries still pending on this handler are abandoned, never resumed.
  ~Forward() override;

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "forward"; }

  // coredns_forward_healthcheck_broken_total, coredns_forward_max_concurrent_rejects_total,
  // coredns_proxy_{request_duration_seconds,healthcheck_failures_total,conn_cache_*} with
  // proxy_name="forward", and moat_forward_egress_kept_total{server}: the workers' counters
  // summed (metrics.cpp). Series with labels appear once they count something, as CoreDNS's.
  void collect(std::vector<MetricSample>& out) const override;
  // The `server` label of moat_forward_egress_kept_total ("dns://:53").
  void setServerLabel(std::string server) { server_ = std::move(server); }

  // For tests.
  const Shared& shared() const { return *shared_; }
  const Worker& worker(unsigned index) const { return *workers_.at(index); }
  size_t workerCount() const { return workers_.size(); }

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<std::shared_ptr<Worker>> workers_;
  std::string server_;
};

// PluginSpec::setup for "forward" (several stanzas per block allowed).
conf::Result<HandlerPtr> setupForward(const SetupContext& ctx);

}  // namespace moat::plugins::forward
