#include "plugins/secondary/secondary.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "plugins/file/serve.hpp"
#include "plugins/secondary/serial.hpp"

namespace moat::plugins::secondary {

namespace {

using Clock = PulledZone::Clock;
constexpr std::chrono::milliseconds kMaxBackoff{10000};  // as CoreDNS's first-transfer retry

uint32_t soaField(std::span<const uint8_t> rdata, size_t fromEnd) {
  return dns::get32(rdata.data() + rdata.size() - fromEnd);
}

}  // namespace

SoaTimers soaTimers(const file::Zone& zone) {
  SoaTimers t;
  const file::RRset* soa = zone.rrset(zone.apex(), dns::rrtype::SOA);
  if (soa == nullptr) return t;
  const auto rdata = zone.firstRdata(*soa);
  if (rdata.size() < 20) return t;
  // SERIAL REFRESH RETRY EXPIRE MINIMUM close the RDATA, 4 bytes each.
  auto atLeastOne = [](uint32_t s) { return std::chrono::seconds(std::max<uint32_t>(s, 1)); };
  t.refresh = atLeastOne(soaField(rdata, 16));
  t.retry = atLeastOne(soaField(rdata, 12));
  t.expire = atLeastOne(soaField(rdata, 8));
  return t;
}

PulledZone::PulledZone(PulledZoneConfig config, EgressScope scope, size_t workers)
    : config_(std::move(config)), scope_(std::move(scope)), data_(workers) {
  origin_ = dns::lowercased(dns::nameFromText(config_.origin).value_or(dns::WireName{0}));
  source_ = "AXFR from";
  for (const Primary& p : config_.primaries) source_ += " " + p.text;
}

bool PulledZone::fromPrimary(const dns::Endpoint& client) const {
  std::array<uint8_t, 16> from{};
  const int family = client.address(from);
  if (family == 0) return false;
  const size_t size = family == AF_INET ? 4 : 16;
  return std::ranges::any_of(config_.primaries, [&](const Primary& p) {
    std::array<uint8_t, 16> primary{};
    return p.address.address(primary) == family && std::equal(from.begin(), from.begin() + size, primary.begin());
  });
}

Secondary::Secondary(std::vector<std::unique_ptr<PulledZone>> zones, Fall fall, PrivateZonesPtr privateZones,
                     PrimaryTimeouts timeouts)
    : zones_(std::move(zones)), fall_(std::move(fall)), privateZones_(std::move(privateZones)), timeouts_(timeouts) {
  for (const auto& zone : zones_) origins_.add(zone->config().origin);
}

Secondary::~Secondary() = default;

void Secondary::start() {
  if (!refresher_.joinable()) refresher_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Verdict Secondary::onQuery(dns::Query& q) {
  const int index = origins_.longestMatch(q.view.question.lowerName());
  if (index == dns::ZoneSet::kNone) return Verdict::Next;
  PulledZone& zone = *zones_[static_cast<size_t>(index)];
  if (q.view.header.opcode() == dns::opcode::Notify) return onNotify(q, zone);
  file::ZonePtr hold;
  // Null before the first transfer and after expiry: serveQuery answers SERVFAIL, as CoreDNS.
  const file::ServedZone served{zone.view(q.worker, hold), zone.config().origin, zone.source()};
  return file::serveQuery(q, served, fall_, "secondary", *this);
}

// NOTIFY is rare and never a query: logging and the refresher's mutex are fine here.
Verdict Secondary::onNotify(dns::Query& q, PulledZone& zone) {
  std::array<char, 64> text{};
  const std::string_view client = q.client.addressText(text);
  if (!zone.fromPrimary(q.client)) {
    // As CoreDNS: no reply at all, so a stranger learns nothing. Said once; counted always.
    zone.stats.notifiesDropped.fetch_add(1, std::memory_order_relaxed);
    if (!droppedNotifyLogged_.exchange(true)) {
      spdlog::warn("plugin/secondary: dropping NOTIFY for {} from {}: not a primary of the zone "
                   "(further drops are only counted: moat_secondary_notifies_total{{result=\"dropped\"}})",
                   zone.config().origin, client);
    }
    return Verdict::Drop;
  }
  zone.stats.notifies.fetch_add(1, std::memory_order_relaxed);
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  spdlog::info("plugin/secondary: NOTIFY for {} from {}: checking the primary's serial", zone.config().origin, client);
  zone.notified.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_all();
  return Verdict::Answered;
}

void Secondary::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  const int index = origins_.longestMatch(parent.view.question.lowerName());
  file::ZonePtr hold;
  const file::Zone* zone =
      index == dns::ZoneSet::kNone ? nullptr : zones_[static_cast<size_t>(index)]->view(parent.worker, hold);
  file::finishChase(parent, reply, zone);
}

file::ZonePtr Secondary::servedZone(std::span<const uint8_t> origin) const {
  const int index = origins_.find(origin);
  return index == dns::ZoneSet::kNone ? nullptr : zones_[static_cast<size_t>(index)]->current();
}

std::vector<std::string> Secondary::servedOrigins() const {
  std::vector<std::string> out;
  for (const auto& zone : zones_) out.push_back(zone->config().origin);
  return out;
}

void Secondary::onZoneChanged(std::function<void(const std::string& origin)> listener) {
  std::lock_guard lock(mu_);
  changed_ = std::move(listener);
}

void Secondary::run(std::stop_token stop) {
  for (auto& zone : zones_) zone->due = Clock::now();
  for (;;) {
    Clock::time_point next = Clock::time_point::max();
    for (auto& zone : zones_) {
      if (stop.stop_requested()) return;
      if (zone->notified.exchange(false, std::memory_order_relaxed)) zone->due = Clock::now();
      expireIfDue(*zone, Clock::now());
      if (zone->due <= Clock::now()) refresh(*zone, stop);
      next = std::min(next, zone->due);
      if (const file::ZonePtr have = zone->current()) {
        next = std::min(next, zone->lastSuccess + soaTimers(*have).expire);
      }
    }
    if (next == Clock::time_point::max()) next = Clock::now() + std::chrono::hours(1);  // no zone: idle
    std::unique_lock lock(mu_);
    wake_.wait_until(lock, stop, next, [this] { return poked_; });
    poked_ = false;
    if (stop.stop_requested()) return;
  }
}

void Secondary::expireIfDue(PulledZone& zone, Clock::time_point now) {
  const file::ZonePtr have = zone.current();
  if (!have || now < zone.lastSuccess + soaTimers(*have).expire) return;
  // RFC 1034 §4.3.5: a secondary that could not refresh within EXPIRE stops answering.
  zone.publish(nullptr);
  zone.stats.expirations.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("plugin/secondary: zone {} expired: no primary reached for {}s (serial {}); answering SERVFAIL "
                "until a transfer succeeds",
                zone.config().origin, soaTimers(*have).expire.count(), have->serial());
  zone.due = now;
  zone.backoff = std::chrono::milliseconds(250);
}

void Secondary::failed(PulledZone& zone, const std::string& why) {
  if (why == zone.lastError) return;
  const file::ZonePtr have = zone.current();
  spdlog::warn("plugin/secondary: zone {}: {}; {}", zone.config().origin, why,
               have ? "serving serial " + std::to_string(have->serial()) + " meanwhile"
                    : std::string("no data yet (SERVFAIL)"));
  zone.lastError = why;
}

void Secondary::succeeded(PulledZone& zone) {
  if (!zone.lastError.empty()) {
    spdlog::info("plugin/secondary: zone {}: primary reachable again", zone.config().origin);
    zone.lastError.clear();
  }
  zone.lastSuccess = Clock::now();
}

void Secondary::refresh(PulledZone& zone, std::stop_token stop) {
  const file::ZonePtr have = zone.current();
  const auto retryLater = [&] {
    if (have) {
      zone.due = Clock::now() + soaTimers(*have).retry;
    } else {
      zone.due = Clock::now() + zone.backoff;
      zone.backoff = std::min(zone.backoff * 2, kMaxBackoff);
    }
  };
  // Before any byte leaves (DESIGN.md §4): the zone's name may go only where its scope allows.
  if (const PrivateZone* blocked = egressBlockedBy(privateZones_.get(), zone.scope(), zone.origin())) {
    zone.stats.egressBlocked.fetch_add(1, std::memory_order_relaxed);
    failed(zone, "not asking the primary: " + zone.config().origin + " is under private zone " + blocked->name +
                     " and outside this block's zones");
    return retryLater();
  }

  if (have) {
    std::string errors;
    std::optional<uint32_t> remote;
    for (const Primary& primary : zone.config().primaries) {
      std::string error;
      remote = querySerial(primary, zone.origin(), stop, error, timeouts_);
      if (remote) break;
      errors += (errors.empty() ? "" : "; ") + primary.text + ": " + error;
    }
    if (stop.stop_requested()) return;
    if (!remote) {
      zone.stats.checkFailures.fetch_add(1, std::memory_order_relaxed);
      failed(zone, "SOA query failed on every primary (" + errors + ")");
      return retryLater();
    }
    if (!serialNewer(*remote, have->serial())) {
      succeeded(zone);
      zone.due = Clock::now() + soaTimers(*have).refresh;
      return;
    }
  }

  std::string errors;
  for (const Primary& primary : zone.config().primaries) {
    std::string error;
    file::ZonePtr fresh = transferZone(primary, zone.origin(), stop, error, timeouts_);
    if (stop.stop_requested()) return;
    if (!fresh) {
      errors += (errors.empty() ? "" : "; ") + primary.text + ": " + error;
      continue;
    }
    const uint32_t serial = fresh->serial();
    const size_t records = fresh->recordCount();
    const SoaTimers timers = soaTimers(*fresh);
    zone.publish(std::move(fresh));
    zone.stats.transfers.fetch_add(1, std::memory_order_relaxed);
    succeeded(zone);
    zone.backoff = std::chrono::milliseconds(250);
    zone.due = Clock::now() + timers.refresh;
    spdlog::info("plugin/secondary: transferred zone {} from {}: serial {}, {} records", zone.config().origin,
                 primary.text, serial, records);
    std::function<void(const std::string&)> changed;
    {
      std::lock_guard lock(mu_);
      changed = changed_;
    }
    if (changed) changed(zone.config().origin);
    zone.sweep();
    ::malloc_trim(0);  // the transfer's messages and the builder's scratch are gone
    return;
  }
  zone.stats.transferFailures.fetch_add(1, std::memory_order_relaxed);
  failed(zone, "transfer failed on every primary (" + errors + ")");
  retryLater();
}

void Secondary::collect(std::vector<MetricSample>& out) const {
  auto counter = [&](const char* family, const char* help, const std::string& zone, const char* result,
                     const std::atomic<uint64_t>& value) {
    MetricSample s;
    s.family = family;
    s.help = help;
    s.labels = {{"zone", zone}};
    if (result != nullptr) s.labels.emplace_back("result", result);
    s.value = static_cast<double>(value.load(std::memory_order_relaxed));
    out.push_back(std::move(s));
  };
  for (const auto& zone : zones_) {
    const std::string& origin = zone->config().origin;
    const PulledZoneStats& st = zone->stats;
    constexpr const char* kTransfers = "moat_secondary_transfers_total";
    constexpr const char* kTransfersHelp = "Transfers in from a primary, by result.";
    counter(kTransfers, kTransfersHelp, origin, "success", st.transfers);
    counter(kTransfers, kTransfersHelp, origin, "failure", st.transferFailures);
    counter("moat_secondary_soa_check_failures_total", "SOA queries no primary answered.", origin, nullptr,
            st.checkFailures);
    constexpr const char* kNotifies = "moat_secondary_notifies_total";
    constexpr const char* kNotifiesHelp = "NOTIFY messages received: accepted from a primary, or dropped.";
    counter(kNotifies, kNotifiesHelp, origin, "accepted", st.notifies);
    counter(kNotifies, kNotifiesHelp, origin, "dropped", st.notifiesDropped);
    counter("moat_secondary_expired_total", "Times the zone expired (SOA expire without a refresh).", origin,
            nullptr, st.expirations);
    counter("moat_secondary_egress_blocked_total", "Refreshes the egress check kept in.", origin, nullptr,
            st.egressBlocked);
  }
}

conf::Result<HandlerPtr> setupSecondary(const SetupContext& ctx) {
  auto config = parseSecondary(ctx);
  if (!config) return config.error();
  std::vector<std::unique_ptr<PulledZone>> zones;
  for (PulledZoneConfig& zone : config->zones) {
    // Scoped like a forward whose FROM is the zone (DESIGN.md §4): the zone narrowed by the block.
    EgressScope scope = EgressScope::narrowed(zone.origin, ctx.zones);
    zones.push_back(std::make_unique<PulledZone>(std::move(zone), std::move(scope), ctx.loops.size()));
  }
  auto handler = std::make_shared<Secondary>(std::move(zones), std::move(config->fall), ctx.privateZones);
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  handler->start();
  return HandlerPtr(handler);
}

}  // namespace moat::plugins::secondary
