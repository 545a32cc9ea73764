#include "plugins/private/answer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "dns/counter.hpp"
#include "dns/log.hpp"
#include "dns/message.hpp"
#include "plugins/private/private.hpp"
#include "plugins/server_label.hpp"

namespace moat::plugins::private_zone {

namespace {

constexpr uint8_t kLocalhostWire[] = {9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0};
constexpr uint8_t kNobodyInvalidWire[] = {6, 'n', 'o', 'b', 'o', 'd', 'y',
                                          7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0};
constexpr uint8_t kLoopback4[] = {127, 0, 0, 1};
constexpr uint8_t kLoopback6[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// FNV-1a, 64 bits: cheap, and plenty to tell the names of one worker's minute apart.
uint64_t hashName(std::span<const uint8_t> name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t b : name) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::vector<uint8_t> soaRdata(uint32_t minimum) {
  std::vector<uint8_t> rdata(std::begin(kLocalhostWire), std::end(kLocalhostWire));
  rdata.insert(rdata.end(), std::begin(kNobodyInvalidWire), std::end(kNobodyInvalidWire));
  for (uint32_t v : {kSoaSerial, kSoaRefresh, kSoaRetry, kSoaExpire, minimum}) {
    uint8_t field[4];
    dns::put32(field, v);
    rdata.insert(rdata.end(), field, field + 4);
  }
  return rdata;
}

void appendText(fmt::memory_buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

// The qname as the client spelled it (the question is never compressed).
std::span<const uint8_t> clientName(const dns::Query& q) {
  return {q.request.data() + q.view.question.nameOffset, q.view.question.nameLen};
}

}  // namespace

bool isLocalhost(std::span<const uint8_t> lowerName) {
  size_t off = 0;
  while (off < lowerName.size() && lowerName[off] != 0) {
    if (lowerName.size() - off == sizeof kLocalhostWire) {
      return std::equal(lowerName.begin() + static_cast<std::ptrdiff_t>(off), lowerName.end(),
                        std::begin(kLocalhostWire));
    }
    off += size_t{lowerName[off]} + 1;
  }
  return false;
}

bool LogLimiter::admit(std::span<const uint8_t> lowerName, std::chrono::steady_clock::time_point now) {
  const uint64_t hash = hashName(lowerName);
  Slot& slot = slots_[hash % kSlots];
  if (slot.used && slot.hash == hash && now - slot.last < kWindow) return false;
  slot.used = true;
  slot.hash = hash;
  slot.last = now;
  return true;
}

PrivateAnswer::PrivateAnswer(PrivateZonesPtr zones, size_t workers, std::shared_ptr<spdlog::logger> log)
    : zones_(std::move(zones)), log_(std::move(log)) {
  const std::span<const PrivateZone> all = zones_->zones();
  synth_.reserve(all.size());
  for (const PrivateZone& z : all) {
    auto owner = dns::nameFromText(z.name);
    synth_.push_back(Synth{owner ? std::move(*owner) : dns::WireName{0}, soaRdata(z.negttl)});
  }
  const size_t n = std::max<size_t>(workers, 1) + 1;  // the last one is the spare
  slots_.reserve(n);
  for (size_t i = 0; i < n; ++i) slots_.push_back(std::make_unique<Slot>(all.size()));
}

Verdict PrivateAnswer::onQuery(dns::Query& q) {
  if (q.view.header.qdcount == 0) return Verdict::Next;
  std::span<const uint8_t> name = q.view.question.lowerName();
  const PrivateZone* zone = zones_->find(name);
  // The client asked a private name that rewrite turned into a public one nothing answered:
  // still private (DESIGN.md §4), whatever the name became.
  if (zone == nullptr && q.askedLen != 0) {
    zone = zones_->find(q.askedLowerName());
    if (zone != nullptr) name = q.askedLowerName();
  }
  if (zone == nullptr) return Verdict::Next;
  const size_t index = static_cast<size_t>(zone - zones_->zones().data());

  count(q, index);
  if (!q.egressBlocked.empty()) warn(q, *zone);
  if (zone->refuse) {
    note(q, *zone, "REFUSED", false);
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
    return Verdict::Answered;
  }
  if (isLocalhost(name)) return answerLocalhost(q, *zone, synth_[index]);
  return answerNegative(q, *zone, synth_[index]);
}

Verdict PrivateAnswer::answerLocalhost(dns::Query& q, const PrivateZone& zone, const Synth& synth) {
  const dns::Question& question = q.view.question;
  const bool in = question.qclass == dns::rrclass::IN;
  const bool any = question.qtype == dns::rrtype::ANY;
  const bool apex = question.nameLen == synth.owner.size();
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, /*aa=*/true);
  bool answered = false;
  if (in && (question.qtype == dns::rrtype::A || any)) {
    w.addRR(dns::Section::Answer, clientName(q), dns::rrtype::A, dns::rrclass::IN, zone.negttl, kLoopback4);
    answered = true;
  }
  if (in && (question.qtype == dns::rrtype::AAAA || any)) {
    w.addRR(dns::Section::Answer, clientName(q), dns::rrtype::AAAA, dns::rrclass::IN, zone.negttl,
            kLoopback6);
    answered = true;
  }
  if (in && apex && (question.qtype == dns::rrtype::SOA || any)) {
    w.addRR(dns::Section::Answer, synth.owner, dns::rrtype::SOA, dns::rrclass::IN, zone.negttl, synth.soa);
    answered = true;
  }
  if (answered) {
    note(q, zone, "loopback (RFC 6761 §6.3), NOERROR aa", false);
    return Verdict::Answered;
  }
  w.addRR(dns::Section::Authority, synth.owner, dns::rrtype::SOA, dns::rrclass::IN, zone.negttl, synth.soa);
  note(q, zone, "loopback name, no such type: NODATA aa", true);
  return Verdict::Answered;
}

Verdict PrivateAnswer::answerNegative(dns::Query& q, const PrivateZone& zone, const Synth& synth) {
  const dns::Question& question = q.view.question;
  // The apex exists (it holds the SOA), so it is never NXDOMAIN, and its SOA is an answer.
  const bool apex = question.nameLen == synth.owner.size();
  dns::MessageWriter w(q.reply);
  if (apex && question.qclass == dns::rrclass::IN &&
      (question.qtype == dns::rrtype::SOA || question.qtype == dns::rrtype::ANY)) {
    w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, /*aa=*/true);
    w.addRR(dns::Section::Answer, synth.owner, dns::rrtype::SOA, dns::rrclass::IN, zone.negttl, synth.soa);
    note(q, zone, "the zone's SOA, NOERROR aa", false);
    return Verdict::Answered;
  }
  const bool exists = apex || q.nameExists;
  w.startReply(q.requestBytes(), q.view, exists ? dns::RCode::NoError : dns::RCode::NXDomain, /*aa=*/true);
  w.addRR(dns::Section::Authority, synth.owner, dns::rrtype::SOA, dns::rrclass::IN, zone.negttl, synth.soa);
  note(q, zone, exists ? "NODATA aa" : "NXDOMAIN aa", true);
  return Verdict::Answered;
}

void PrivateAnswer::count(dns::Query& q, size_t zoneIndex) {
  Slot& slot = slotOf(q.worker);
  if (spare(q.worker)) {
    slot.blocked[zoneIndex].fetch_add(1, std::memory_order_relaxed);  // any thread may write it
  } else {
    dns::bump(slot.blocked[zoneIndex]);
  }
}

void PrivateAnswer::warn(dns::Query& q, const PrivateZone& zone) {
  const std::span<const uint8_t> name = q.view.question.lowerName();
  Slot& slot = slotOf(q.worker);
  if (spare(q.worker)) {
    std::lock_guard<std::mutex> lock(spareMutex_);
    if (!slot.limiter.admit(name, q.start)) return;
    slot.warnings.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (!slot.limiter.admit(name, q.start)) return;
    dns::bump(slot.warnings);
  }

  std::string text;
  dns::appendNameText(text, name);
  fmt::memory_buffer line;
  appendText(line, "plugin/private: ");
  appendText(line, text);
  line.push_back(' ');
  logging::appendTypeName(line, q.view.question.qtype);
  appendText(line, ": ");
  appendText(line, q.egressBlocked);
  appendText(line, " tried to send it; answered locally (private zone ");
  appendText(line, zone.name);
  line.push_back(')');
  spdlog::logger* out = log_ ? log_.get() : spdlog::default_logger_raw();
  if (out != nullptr) out->log(spdlog::level::warn, spdlog::string_view_t(line.data(), line.size()));
}

void PrivateAnswer::note(dns::Query& q, const PrivateZone& zone, std::string_view outcome,
                         bool withSoa) const {
  if (q.trace == nullptr) return;
  std::string text;
  dns::appendNameText(text, q.view.question.lowerName());
  text += " is under private zone " + zone.name;
  if (zone.builtin) {
    text += " (built-in: " + zone.why + ")";
  } else {
    text += " (private at " + zone.pos.str() + ")";
  }
  if (!q.egressBlocked.empty()) {
    text += "; ";
    text += q.egressBlocked;
    text += " tried to send it";
  }
  text += " -> ";
  text += outcome;
  if (withSoa) text += ", SOA " + zone.name;
  q.trace->note("private", std::move(text));
}

uint64_t PrivateAnswer::blocked(size_t zoneIndex) const {
  if (zoneIndex >= synth_.size()) return 0;
  uint64_t sum = 0;
  for (const auto& slot : slots_) sum += slot->blocked[zoneIndex].load(std::memory_order_relaxed);
  return sum;
}

std::vector<PrivateAnswer::ZoneCount> PrivateAnswer::blockedByZone() const {
  std::vector<ZoneCount> out;
  const std::span<const PrivateZone> all = zones_->zones();
  out.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) out.push_back(ZoneCount{all[i].name, blocked(i)});
  return out;
}

uint64_t PrivateAnswer::warnings() const {
  uint64_t sum = 0;
  for (const auto& slot : slots_) sum += slot->warnings.load(std::memory_order_relaxed);
  return sum;
}

conf::Result<HandlerPtr> setupPrivate(const SetupContext& ctx) {
  // The stanzas were read for the whole Corefile when ctx.privateZones was built; a block
  // with none still answers the private names.
  if (!ctx.privateZones || ctx.privateZones->empty()) return HandlerPtr();
  auto handler = std::make_shared<PrivateAnswer>(ctx.privateZones, ctx.loops.size());
  handler->setServerLabel(serverLabel(ctx));
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

void PrivateAnswer::collect(std::vector<MetricSample>& out) const {
  for (const ZoneCount& z : blockedByZone()) {
    if (z.blocked == 0) continue;
    out.push_back({"moat_private_blocked_total",
                   "Queries under a private zone answered locally (NXDOMAIN, NODATA, REFUSED or "
                   "loopback) instead of leaving the box.",
                   false, {{"server", server_}, {"zone", std::string(z.zone)}},
                   static_cast<double>(z.blocked)});
  }
}

}  // namespace moat::plugins::private_zone
