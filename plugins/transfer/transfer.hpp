// The `transfer` plugin: outgoing zone transfers of the zones `file` (and later `auto`,
// `secondary`) serve in the same block, as CoreDNS's (README.md). AXFR, and IXFR answered with
// the whole zone unless the client's serial is current, over TCP to the `to` addresses only;
// NOTIFY to them at start and whenever a zone changes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "plugins/block_peer.hpp"
#include "plugins/egress.hpp"
#include "plugins/file/provider.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"
#include "plugins/transfer/config.hpp"
#include "plugins/transfer/notify.hpp"

namespace moat::plugins::transfer {

// Why a transfer was refused: the `reason` label of moat_transfer_refused_total.
enum class Refusal : uint8_t { Udp, NotAllowed, NotServed };
std::string_view refusalName(Refusal r);

struct TransferOptions {
  std::string server;                    // the block's `server` label ("dns://:53")
  std::vector<std::string> blockZones;   // narrow each stanza's egress scope (DESIGN.md §4)
  PrivateZonesPtr privateZones;          // may be null (tests)
  bool notify = true;                    // false where nothing may leave (`moat explain`)
  NotifyTiming timing;
};

class Transfer final : public Handler, public BlockPeer, public MetricSource,
                       public std::enable_shared_from_this<Transfer> {
 public:
  Transfer(TransferConfig config, TransferOptions options);

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "transfer"; }

  // Finds the block's zone providers, then sends the first NOTIFYs (as CoreDNS at start).
  void peersReady(std::span<const HandlerPtr> chain) override;

  void collect(std::vector<MetricSample>& out) const override;
  // Refusals so far for `reason`, every zone summed (tests).
  uint64_t refused(Refusal reason) const;

  // Sends the NOTIFYs for `origin` ("example.org."); any thread.
  void zoneChanged(const std::string& origin);
  // Where a NOTIFY of `origin` (lowercased wire) goes under `stanza`: its `to` addresses less
  // those the egress check keeps it from (README, "Private zones").
  std::vector<NotifyTarget> notifyTargets(const Stanza& stanza, std::span<const uint8_t> origin) const;
  const TransferConfig& config() const { return config_; }

 private:
  Verdict refuse(dns::Query& q, Refusal reason, const Stanza* stanza);
  file::ZonePtr servedZone(std::span<const uint8_t> origin) const;
  bool listsOrigin(std::span<const uint8_t> origin) const;
  Verdict transferZone(dns::Query& q, const file::Zone& zone);

  TransferConfig config_;
  TransferOptions options_;
  // Set once by peersReady, before the first query; read-only afterwards.
  std::vector<std::weak_ptr<file::ZoneProvider>> providers_;

  mutable std::mutex mu_;  // refusals are rare: a lock and a map are fine off the hot path
  std::map<std::pair<std::string, Refusal>, uint64_t> refusals_;  // (zone, reason) -> count
  std::set<std::string> logged_;  // "client zone reason" already logged (bounded)

  std::unique_ptr<Notifier> notifier_;  // last: its thread stops before the rest goes
};

// PluginSpec::setup for "transfer".
conf::Result<HandlerPtr> setupTransfer(const SetupContext& ctx);

}  // namespace moat::plugins::transfer
