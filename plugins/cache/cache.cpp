#include "plugins/cache/cache.hpp"

#include <algorithm>
#include <cstring>

#include "dns/counter.hpp"
#include "dns/message.hpp"
#include "plugins/cache/wire_walk.hpp"
#include "plugins/server_label.hpp"

namespace moat::plugins::cache {

using dns::bump;

namespace {

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

dns::ZoneSet zoneSetOf(const std::vector<std::string>& zones) {
  dns::ZoneSet set;
  for (const std::string& zone : zones) set.add(zone);
  return set;
}

// Zone transfers, NOTIFY and UPDATE are never cached (CoreDNS types them Meta/Update).
bool cacheableQuery(const dns::QueryView& v) {
  const uint16_t t = v.question.qtype;
  return v.header.opcode() == 0 && v.header.qdcount == 1 && t != dns::rrtype::AXFR &&
         t != dns::rrtype::IXFR;
}

Key keyOf(const dns::QueryView& v) {
  uint8_t bits = 0;
  if (v.edns.present && v.edns.dnssecOk) bits |= Key::kDoBit;
  if (v.header.flags & dns::flag::CD) bits |= Key::kCdBit;
  return Key::make(v.question.lowerName(), v.question.qtype, v.question.qclass, bits);
}

// dnsutil.MinimalTTL clamped as cache.computeTTL: the minimum first, then the maximum wins.
uint32_t clampTtl(uint32_t ttl, const TtlBounds& b) {
  return std::min(std::max(ttl, b.minTtl), b.maxTtl);
}

uint8_t asciiLower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

// The reply answers the question that was asked (CoreDNS's state.Match). Length bytes are at
// most 63, so lowercasing every byte of the wire name never alters one.
bool sameQuestion(std::span<const uint8_t> reply, const dns::Question& question) {
  const size_t end = dns::kHeaderSize + question.nameLen;
  if (dns::skipName(reply, dns::kHeaderSize) != end || end + 4 > reply.size()) return false;
  for (size_t i = 0; i < question.nameLen; ++i) {
    if (asciiLower(reply[dns::kHeaderSize + i]) != question.lower[i]) return false;
  }
  return dns::get16(&reply[end]) == question.qtype && dns::get16(&reply[end + 2]) == question.qclass;
}

}  // namespace

ClockPtr steadyClock() {
  static const ClockPtr clock = std::make_shared<SteadyClock>();
  return clock;
}

// One worker's caches and counters, on their own cache lines: only that worker writes them.
struct alignas(64) Cache::Worker {
  Worker(uint32_t successCap, uint32_t denialCap, uint64_t seed)
      : success(successCap, seed), denial(denialCap, ~seed) {}

  Store success;
  Store denial;
  // The query this worker just answered from the cache: its onReply must not store it again.
  // The runner calls onReply right after an Answered onQuery, so one pointer is enough.
  const dns::Query* served = nullptr;
  // coredns_cache_hits_total{type}, _misses_total, _entries{type}, _evictions_total{type},
  // _drops_total: summed over workers at scrape time.
  std::atomic<uint64_t> successHits{0}, denialHits{0}, misses{0};
  std::atomic<uint64_t> successEntries{0}, denialEntries{0};
  std::atomic<uint64_t> successEvictions{0}, denialEvictions{0}, drops{0};
};

Cache::Cache(const CacheConfig& config, size_t workers, ClockPtr clock)
    : zones_(zoneSetOf(config.zones)),
      disableSuccess_(zoneSetOf(config.disableSuccess)),
      disableDenial_(zoneSetOf(config.disableDenial)),
      config_(config),
      clock_(std::move(clock)) {
  for (const std::string& zone : config.zones) {
    if (!zonesLabel_.empty()) zonesLabel_ += ',';
    zonesLabel_ += zone;
  }
  workers = std::max<size_t>(workers, 1);
  // The configured capacity bounds the whole process, so each worker gets its share.
  const auto share = [workers](uint32_t cap) {
    return std::max<uint32_t>(1, static_cast<uint32_t>(effectiveCapacity(cap) / workers));
  };
  for (size_t i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(share(config.success.capacity),
                                                share(config.denial.capacity),
                                                0x9e3779b97f4a7c15ULL * (i + 1)));
  }
}

Cache::~Cache() = default;

Verdict Cache::onQuery(dns::Query& q) {
  if (q.worker >= workers_.size() || !cacheableQuery(q.view) ||
      !zones_.contains(q.view.question.lowerName())) {
    return Verdict::Next;
  }
  Worker& w = *workers_[q.worker];
  const Key key = keyOf(q.view);
  const TimePoint now = clock_->now();
  // Denial first, as CoreDNS looks them up.
  const Entry* e = w.denial.find(key);
  if (e != nullptr && e->remaining(now) > 0 && hit(q, *e, now)) {
    bump(w.denialHits);
    w.served = &q;
    return Verdict::Answered;
  }
  e = w.success.find(key);
  if (e != nullptr && e->remaining(now) > 0 && hit(q, *e, now)) {
    bump(w.successHits);
    w.served = &q;
    return Verdict::Answered;
  }
  bump(w.misses);
  return Verdict::Next;  // onReply sees the reply the rest of the chain writes and stores it
}

// Writes `entry` as the reply to `q`: the stored bytes, then the client's ID, RD/CD, question
// spelling and OPT, and the remaining TTL. q.reply keeps its capacity across queries, so this
// does not allocate once the worker's pool is warm.
bool Cache::hit(dns::Query& q, const Entry& entry, TimePoint now) const {
  const dns::QueryView& v = q.view;
  q.reply.assign(entry.wire.begin(), entry.wire.end());
  uint8_t* p = q.reply.data();
  dns::Header h = dns::Header::read(p);
  h.id = v.header.id;
  constexpr uint16_t kFromQuery = dns::flag::RD | dns::flag::CD;
  h.flags = static_cast<uint16_t>((h.flags & ~kFromQuery) | (v.header.flags & kFromQuery));
  // AD only for a client that asked for DNSSEC or set AD itself (RFC 6840 §5.7-5.8).
  if (!(v.edns.present && v.edns.dnssecOk) && !(v.header.flags & dns::flag::AD))
    h.flags = static_cast<uint16_t>(h.flags & ~dns::flag::AD);
  h.write(p);
  std::memcpy(p + dns::kHeaderSize, q.request.data() + v.question.nameOffset, v.question.nameLen);
  const auto ttl = config_.keepTtl ? entry.ttl : static_cast<uint32_t>(entry.remaining(now));
  if (!setTtls(q.reply, ttl)) {  // cannot happen: the bytes were walked when stored
    q.reply.clear();
    return false;
  }
  // Stored without OPT (it is hop-by-hop); the client's own is echoed back.
  if (v.edns.present) dns::appendOpt(q.reply, v.udpLimit(), v.edns.dnssecOk);
  return true;
}

void Cache::onReply(dns::Query& q) {
  if (q.worker >= workers_.size()) return;
  Worker& w = *workers_[q.worker];
  if (w.served == &q) {
    w.served = nullptr;
    return;
  }
  // An error reply written by the chain for a plugin that failed (q.error set) is what CoreDNS
  // returns as an rcode without writing, so its cache never sees it.
  if (!q.error.empty() || !cacheableQuery(q.view) ||
      !zones_.contains(q.view.question.lowerName())) {
    return;
  }
  store(q, w);
}

void Cache::store(dns::Query& q, Worker& w) {
  std::vector<uint8_t>& reply = q.reply;
  if (reply.size() < dns::kHeaderSize) return;
  const ReplyScan scan = scanReply(reply);
  const dns::Header h = dns::Header::read(reply.data());
  if (!scan.ok || h.qdcount != 1 || !(h.flags & dns::flag::QR) ||
      !sameQuestion(reply, q.view.question)) {
    bump(w.drops);
    return;
  }
  uint32_t ttl = 0;
  switch (scan.kind) {
    case Kind::Success:
    case Kind::Delegation: ttl = clampTtl(scan.minTtl, config_.success); break;
    case Kind::NoData:
    case Kind::NameError: ttl = clampTtl(scan.minTtl, config_.denial); break;
    case Kind::ServerError: ttl = static_cast<uint32_t>(config_.servfailTtl.count()); break;
    case Kind::Uncacheable: return;
  }
  // As CoreDNS, the client gets the capped TTL on every record now, so the TTLs it sees do not
  // jump when the next answer comes from the cache.
  setTtls(reply, ttl);
  if ((h.flags & dns::flag::TC) || ttl == 0) return;

  const bool success = scan.kind == Kind::Success || scan.kind == Kind::Delegation;
  const dns::ZoneSet& disabled = success ? disableSuccess_ : disableDenial_;
  if (disabled.contains(q.view.question.lowerName())) return;

  // Dropping an OPT that sits before other records would move what their pointers point at.
  if (scan.optEnd > scan.optStart && scan.optEnd != reply.size()) return;
  Store& target = success ? w.success : w.denial;
  bool evicted = false;
  Entry& e = target.claim(keyOf(q.view), evicted);  // may allocate: inserts are the slow path
  if (scan.optEnd > scan.optStart) {
    e.wire.assign(reply.begin(), reply.begin() + static_cast<long>(scan.optStart));
    dns::put16(e.wire.data() + 10, static_cast<uint16_t>(h.arcount - 1));
  } else {
    e.wire.assign(reply.begin(), reply.end());
  }
  std::memcpy(e.wire.data() + dns::kHeaderSize, q.view.question.lower.data(),
              q.view.question.nameLen);
  e.ttl = ttl;
  e.stored = clock_->now();
  if (evicted) bump(success ? w.successEvictions : w.denialEvictions);
  (success ? w.successEntries : w.denialEntries).store(target.size(), std::memory_order_relaxed);
}

CacheStats Cache::stats() const {
  CacheStats s;
  const auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  for (const auto& w : workers_) {
    s.successHits += get(w->successHits);
    s.denialHits += get(w->denialHits);
    s.misses += get(w->misses);
    s.successEntries += get(w->successEntries);
    s.denialEntries += get(w->denialEntries);
    s.successEvictions += get(w->successEvictions);
    s.denialEvictions += get(w->denialEvictions);
    s.drops += get(w->drops);
  }
  return s;
}

void Cache::collect(std::vector<MetricSample>& out) const {
  using Labels = std::vector<std::pair<std::string, std::string>>;
  const CacheStats s = stats();
  const std::string view;  // Moat has no `view` plugin
  const auto typed = [&](const char* type) {
    return Labels{{"server", server_}, {"type", type}, {"view", view}, {"zones", zonesLabel_}};
  };
  const Labels untyped{{"server", server_}, {"view", view}, {"zones", zonesLabel_}};
  const auto counter = [&](const char* family, const char* help, const Labels& labels, uint64_t n) {
    if (n != 0) out.push_back({family, help, false, labels, static_cast<double>(n)});
  };
  if (s.successEntries + s.denialEntries != 0) {
    out.push_back({"coredns_cache_entries", "Replies held in the cache now, summed over workers.", true,
                   typed("success"), static_cast<double>(s.successEntries)});
    out.push_back({"coredns_cache_entries", "Replies held in the cache now, summed over workers.", true,
                   typed("denial"), static_cast<double>(s.denialEntries)});
  }
  const char* requests = "Queries the cache looked up (hits and misses).";
  counter("coredns_cache_requests_total", requests, untyped, s.successHits + s.denialHits + s.misses);
  const char* hits = "Queries answered from the cache.";
  counter("coredns_cache_hits_total", hits, typed("success"), s.successHits);
  counter("coredns_cache_hits_total", hits, typed("denial"), s.denialHits);
  counter("coredns_cache_misses_total", "Queries the cache could not answer and passed on.", untyped, s.misses);
  const char* evictions = "Cached replies pushed out to make room for new ones.";
  counter("coredns_cache_evictions_total", evictions, typed("success"), s.successEvictions);
  counter("coredns_cache_evictions_total", evictions, typed("denial"), s.denialEvictions);
  counter("coredns_cache_drops_total", "Replies not cached because they do not answer the question asked.",
          untyped, s.drops);
}

conf::Result<HandlerPtr> setupCache(const SetupContext& ctx) {
  auto config = parseCache(ctx);
  if (!config) return config.error();
  auto handler = std::make_shared<Cache>(*config, ctx.loops.size());
  handler->setServerLabel(serverLabel(ctx));
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::cache
