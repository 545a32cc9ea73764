// The `private` plugin's handler (DESIGN.md §4): answers the private names nothing earlier in
// the chain answered, so they never fall off the end of the chain or reach whoami.
//   - localhost. and below (RFC 6761 §6.3): A 127.0.0.1, AAAA ::1 (class IN, TTL = the zone's
//     negttl), other types NODATA.
//   - a zone with `refuse`: REFUSED, the question echoed, no records.
//   - anything else: NXDOMAIN (NOERROR/NODATA when a plugin before knew the name, or at the
//     zone's apex, which exists), AA set, the zone's synthesized SOA in the authority section.
// Every answer is counted per zone; a name the egress check stopped is logged once a minute.
#pragma once

#include <spdlog/logger.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "plugins/egress.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"

namespace moat::plugins::private_zone {

// The synthesized SOA's fixed fields: MNAME localhost., RNAME nobody.invalid., then these;
// MINIMUM (and the record's TTL) is the zone's negttl, so a negative answer is cached that long.
constexpr uint32_t kSoaSerial = 1;
constexpr uint32_t kSoaRefresh = 3600;
constexpr uint32_t kSoaRetry = 1200;
constexpr uint32_t kSoaExpire = 604800;

// "Log the first block per name per minute" without allocating. A fixed table of slots picked
// by a 64-bit hash of the lowercased wire name; each slot keeps the full hash and when that
// name was last let through. Two names landing in one slot evict each other, so under many
// distinct names one may be logged more than once a minute; a name is only wrongly silenced if
// two names share the whole 64-bit hash. One table per worker: not thread-safe.
class LogLimiter {
 public:
  static constexpr size_t kSlots = 512;
  static constexpr std::chrono::seconds kWindow{60};

  // True (and remembered) when `lowerName` was not let through in the `kWindow` before `now`.
  // A `now` earlier than the last admission (a subquery's older start) counts as inside it.
  bool admit(std::span<const uint8_t> lowerName, std::chrono::steady_clock::time_point now);

 private:
  struct Slot {
    uint64_t hash = 0;
    std::chrono::steady_clock::time_point last{};
    bool used = false;
  };
  std::array<Slot, kSlots> slots_{};
};

class PrivateAnswer final : public Handler, public MetricSource {
 public:
  // `zones` must not be null. `workers`: the event loops that will query it (at least one
  // slot is made); a query whose worker index is outside (tools, tests) uses a shared spare
  // slot. `log`: where egress warnings go; null means the process's default logger.
  PrivateAnswer(PrivateZonesPtr zones, size_t workers, std::shared_ptr<spdlog::logger> log = nullptr);

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "private"; }

  const PrivateZones& zones() const { return *zones_; }

  // Queries of zones()[zoneIndex] this handler answered, summed over workers.
  uint64_t blocked(size_t zoneIndex) const;
  // Every zone with its count, in zones() order: the `zone` label of
  // moat_private_blocked_total and its value (the names point into zones()).
  struct ZoneCount {
    std::string_view zone;
    uint64_t blocked = 0;
  };
  std::vector<ZoneCount> blockedByZone() const;
  // Egress warnings written (after the rate limit), summed over workers.
  uint64_t warnings() const;

  // moat_private_blocked_total{server,zone} for the zones with answers so far. `server` is the
  // block's CoreDNS server label ("dns://:53"), set once at setup.
  void setServerLabel(std::string server) { server_ = std::move(server); }
  void collect(std::vector<MetricSample>& out) const override;

 private:
  // Per zone: its owner name and SOA RDATA, built once.
  struct Synth {
    dns::WireName owner;
    std::vector<uint8_t> soa;
  };
  // One per worker, plus the spare; each on its own cache lines.
  struct alignas(64) Slot {
    explicit Slot(size_t zones) : blocked(new std::atomic<uint64_t>[zones]) {
      for (size_t i = 0; i < zones; ++i) blocked[i].store(0, std::memory_order_relaxed);
    }
    std::unique_ptr<std::atomic<uint64_t>[]> blocked;
    std::atomic<uint64_t> warnings{0};
    LogLimiter limiter;
  };

  void count(dns::Query& q, size_t zoneIndex);
  void warn(dns::Query& q, const PrivateZone& zone);
  Verdict answerLocalhost(dns::Query& q, const PrivateZone& zone, const Synth& synth);
  Verdict answerNegative(dns::Query& q, const PrivateZone& zone, const Synth& synth);
  void note(dns::Query& q, const PrivateZone& zone, std::string_view outcome, bool withSoa) const;
  bool spare(unsigned worker) const { return worker >= slots_.size() - 1; }
  std::string server_;
  Slot& slotOf(unsigned worker) { return *slots_[spare(worker) ? slots_.size() - 1 : worker]; }

  PrivateZonesPtr zones_;
  std::vector<Synth> synth_;                  // index i <-> zones_->zones()[i]
  std::vector<std::unique_ptr<Slot>> slots_;  // workers, then the spare
  std::mutex spareMutex_;                     // the spare's limiter may be used by any thread
  std::shared_ptr<spdlog::logger> log_;
};

// True when `lowerName` (lowercased wire) is localhost. or lies below it.
bool isLocalhost(std::span<const uint8_t> lowerName);

}  // namespace moat::plugins::private_zone
