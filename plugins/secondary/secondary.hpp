// The `secondary` plugin: zones pulled from a primary by AXFR and served as `file` serves its
// zones (README.md). A thread of the plugin's own keeps each zone fresh by its SOA timers
// (refresh, retry, expire) and on NOTIFY from a primary; the workers only read the published
// zone. Every SOA query and transfer passes the egress check first, scoped to the zone.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "dns/zone_set.hpp"
#include "plugins/egress.hpp"
#include "plugins/fall.hpp"
#include "plugins/file/provider.hpp"
#include "plugins/file/zone.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"
#include "plugins/published.hpp"
#include "plugins/secondary/config.hpp"
#include "plugins/secondary/primary.hpp"

namespace moat::plugins::secondary {

// What each zone has seen; read by metrics and tests.
struct PulledZoneStats {
  std::atomic<uint64_t> transfers{0};         // transfers in that were published
  std::atomic<uint64_t> transferFailures{0};  // transfers that failed on every primary
  std::atomic<uint64_t> checkFailures{0};     // SOA queries no primary answered
  std::atomic<uint64_t> notifies{0};          // NOTIFYs from a primary, answered
  std::atomic<uint64_t> notifiesDropped{0};   // NOTIFYs from anyone else, dropped
  std::atomic<uint64_t> expirations{0};       // times the zone expired (then SERVFAIL)
  std::atomic<uint64_t> egressBlocked{0};     // attempts the egress check stopped
};

// One zone: its primaries, the copy the workers serve, and the refresher's timers.
class PulledZone {
 public:
  using Clock = std::chrono::steady_clock;

  PulledZone(PulledZoneConfig config, EgressScope scope, size_t workers);

  const PulledZoneConfig& config() const { return config_; }
  std::span<const uint8_t> origin() const { return origin_; }
  const EgressScope& scope() const { return scope_; }
  // "AXFR from 192.0.2.1:53 192.0.2.2:53": the ServedZone source (explain).
  const std::string& source() const { return source_; }
  // Whether a NOTIFY from `client` comes from one of the zone's primaries (by address only:
  // a primary sends NOTIFY from any port).
  bool fromPrimary(const dns::Endpoint& client) const;

  const file::Zone* view(unsigned worker, file::ZonePtr& hold) { return data_.view(worker, hold); }
  file::ZonePtr current() const { return data_.current(); }
  void publish(file::ZonePtr zone) { data_.publish(std::move(zone)); }
  void sweep() { data_.sweep(); }

  PulledZoneStats stats;
  std::atomic<bool> notified{false};  // set by a worker on NOTIFY, taken by the refresher

  // The refresher's own state (its thread only).
  Clock::time_point due;          // next SOA check or transfer
  Clock::time_point lastSuccess;  // last transfer or SOA check that reached a primary
  std::chrono::milliseconds backoff{250};  // between transfer attempts while there is no zone
  std::string lastError;          // logged once until it changes or the zone recovers

 private:
  PulledZoneConfig config_;
  dns::WireName origin_;
  EgressScope scope_;
  std::string source_;
  Published<file::Zone> data_;
};

// The SOA timers that drive a zone's refresh (RFC 1035 §3.3.13), at least a second each.
struct SoaTimers {
  std::chrono::seconds refresh{3600}, retry{600}, expire{604800};
};
SoaTimers soaTimers(const file::Zone& zone);

class Secondary final : public Handler,
                        public SubqueryClient,
                        public file::ZoneProvider,
                        public MetricSource {
 public:
  Secondary(std::vector<std::unique_ptr<PulledZone>> zones, Fall fall, PrivateZonesPtr privateZones,
            PrimaryTimeouts timeouts = {});
  ~Secondary() override;

  // Starts the refresher thread: the first transfer of every zone, then its timers.
  void start();

  Verdict onQuery(dns::Query& q) override;
  void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  bool takesNotify() const override { return true; }
  std::string_view name() const override { return "secondary"; }

  file::ZonePtr servedZone(std::span<const uint8_t> origin) const override;
  std::vector<std::string> servedOrigins() const override;
  void onZoneChanged(std::function<void(const std::string& origin)> listener) override;

  void collect(std::vector<MetricSample>& out) const override;

  PulledZone& zone(size_t i) { return *zones_[i]; }
  size_t zoneCount() const { return zones_.size(); }

 private:
  Verdict onNotify(dns::Query& q, PulledZone& zone);
  void run(std::stop_token stop);
  void refresh(PulledZone& zone, std::stop_token stop);
  void expireIfDue(PulledZone& zone, PulledZone::Clock::time_point now);
  void failed(PulledZone& zone, const std::string& why);
  void succeeded(PulledZone& zone);

  dns::ZoneSet origins_;  // index i is zones_[i]
  std::vector<std::unique_ptr<PulledZone>> zones_;
  Fall fall_;
  PrivateZonesPtr privateZones_;
  PrimaryTimeouts timeouts_;
  std::atomic<bool> droppedNotifyLogged_{false};
  std::mutex mu_;  // guards changed_, and the refresher's sleep against a NOTIFY's wake-up
  std::function<void(const std::string&)> changed_;
  bool poked_ = false;  // a NOTIFY arrived since the refresher last looked (under mu_)
  std::condition_variable_any wake_;
  std::jthread refresher_;  // last: stopped and joined before anything it uses is destroyed
};

conf::Result<HandlerPtr> setupSecondary(const SetupContext& ctx);

}  // namespace moat::plugins::secondary
