// The `dnstap` plugin, as CoreDNS's: each client query and its response are logged as dnstap
// CLIENT_QUERY and CLIENT_RESPONSE messages (with the wire messages under `full`) to a Frame
// Streams reader over a unix or TCP socket. Several stanzas are several taps. The query path
// never waits on the reader: frames it cannot queue are dropped and counted
// (moat_dnstap_dropped_total).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "plugins/dnstap/config.hpp"
#include "plugins/dnstap/encoder.hpp"
#include "plugins/dnstap/sink.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::dnstap {

class DnstapHandler final : public Handler, public MetricSource {
 public:
  // `workers` 0 (lint, explain, tests without loops): no I/O thread, nothing is sent.
  DnstapHandler(std::vector<TapConfig> taps, size_t workers);
  ~DnstapHandler() override;

  Verdict onQuery(dns::Query& q) override;
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "dnstap"; }

  // moat_dnstap_dropped_total and moat_dnstap_sent_total{endpoint}.
  void collect(std::vector<MetricSample>& out) const override;

  const std::vector<TapConfig>& taps() const { return taps_; }
  // Totals over every tap, for tests.
  uint64_t dropped() const;
  uint64_t submitted() const;

 private:
  void tap(dns::Query& q, MessageType type);

  std::vector<TapConfig> taps_;
  std::vector<std::unique_ptr<Sink>> sinks_;  // one per tap, empty without workers
};

conf::Result<HandlerPtr> setupDnstap(const SetupContext& ctx);

}  // namespace moat::plugins::dnstap
