#include "plugins/cache/cache.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "dns/counter.hpp"
#include "dns/message.hpp"
#include "dns/reply_fit.hpp"
#include "plugins/cache/wire_walk.hpp"
#include "plugins/chain.hpp"
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

// What may replace a stale entry (RFC 8767 §4, CoreDNS's verifyStaleResponseWriter): a reply
// the chain wrote without failing, with rcode NOERROR or NXDOMAIN. Anything else (SERVFAIL from
// upstream, REFUSED, no healthy upstream, a timeout) leaves the stale entry in charge.
bool refreshes(const dns::Query& q) {
  if (!q.error.empty() || q.reply.size() < dns::kHeaderSize) return false;
  const dns::RCode rcode = dns::Header::read(q.reply.data()).rcode();
  if (rcode != dns::RCode::NoError && rcode != dns::RCode::NXDomain) return false;
  const ReplyScan scan = scanReply(q.reply);
  return scan.ok && scan.extRcode == 0;
}

void note(const dns::Query& q, std::string text) {
  if (q.trace != nullptr) q.trace->note("cache", std::move(text));
}

}  // namespace

ClockPtr steadyClock() {
  static const ClockPtr clock = std::make_shared<SteadyClock>();
  return clock;
}

// A refresh in flight: its own query (a copy of the client's that triggered it), whose reply
// comes back here instead of going to a client.
struct Cache::Refresh final : dns::ReplySink {
  Cache* cache = nullptr;  // the cache it refreshes (pinned by query.pin while in flight)
  unsigned worker = 0;
  dns::Query query;
  TimePoint triggered{};  // when the hit that started it was served

  void sendReply(dns::Query&) override { cache->refreshed(*this, true); }
  void dropQuery(dns::Query&) override { cache->refreshed(*this, false); }
};

// One worker's refreshes, shared by every cache on that worker and owned by the process, not by
// a configuration: a refresh pins its cache, so a cache owning it would make a cycle that nobody
// frees when the worker's loop stops with the refresh still out. Only the worker's thread
// touches its pool; refreshPool() creates it at setup.
struct Cache::RefreshPool {
  std::vector<std::unique_ptr<Refresh>> all;  // created on first use, at most kMaxRefreshes
  std::vector<Refresh*> idle;
};

Cache::RefreshPool& Cache::refreshPool(size_t worker) {
  struct Pools {
    std::mutex mu;
    std::vector<std::unique_ptr<RefreshPool>> byWorker;
  };
  static Pools* pools = new Pools();  // never destroyed: refreshes may be out at exit
  std::lock_guard lock(pools->mu);
  while (pools->byWorker.size() <= worker) pools->byWorker.push_back(std::make_unique<RefreshPool>());
  return *pools->byWorker[worker];
}

// The first handler of a refresh chain. The runner starts a refresh after position 0, so this
// one never sees a query; it stands where the cache stands in the block's chain.
class Cache::RefreshHead final : public Handler {
 public:
  Verdict onQuery(dns::Query&) override { return Verdict::Next; }
  std::string_view name() const override { return "cache"; }
};

// One worker's view of the cache and its counters, on their own cache lines: only that worker
// writes them. The stores live in the shard, which a reload may hand to the next handler.
struct alignas(64) Cache::Worker {
  Worker(ShardPtr s, RefreshPool& p) : shard(std::move(s)), pool(p) {}

  ShardPtr shard;
  RefreshPool& pool;
  // The query this worker just answered from the cache: its onReply must not store it again.
  // The runner calls onReply right after an Answered onQuery, so one pointer is enough.
  const dns::Query* served = nullptr;
  std::shared_ptr<const Chain> refreshChain;  // [head, the handlers after this cache]
  const void* refreshChainOf = nullptr;       // the block's chain it was cut from
  // coredns_cache_hits_total{type}, _misses_total, _evictions_total{type}, _drops_total,
  // _prefetch_total, _served_stale_total: summed over workers at scrape time.
  std::atomic<uint64_t> successHits{0}, denialHits{0}, misses{0};
  std::atomic<uint64_t> successEvictions{0}, denialEvictions{0}, drops{0};
  std::atomic<uint64_t> prefetches{0}, servedStale{0};
};

namespace {
// Refreshes one worker may have in flight; a hit that would start another starts none (the
// entry is refreshed by a later hit, or by a miss once it is gone).
constexpr size_t kMaxRefreshes = 64;
}  // namespace

Cache::Cache(const CacheConfig& config, size_t workers, ClockPtr clock,
             const std::string& identity)
    : zones_(zoneSetOf(config.zones)),
      disableSuccess_(zoneSetOf(config.disableSuccess)),
      disableDenial_(zoneSetOf(config.disableDenial)),
      config_(config),
      staleSeconds_(std::chrono::duration_cast<std::chrono::seconds>(config.stale.upTo).count()),
      clock_(std::move(clock)),
      head_(std::make_shared<RefreshHead>()) {
  for (const std::string& zone : config.zones) {
    if (!zonesLabel_.empty()) zonesLabel_ += ',';
    zonesLabel_ += zone;
  }
  workers = std::max<size_t>(workers, 1);
  // The configured capacity bounds the whole process, so each worker gets its share.
  const auto share = [workers](uint32_t cap) {
    return std::max<uint32_t>(1, static_cast<uint32_t>(effectiveCapacity(cap) / workers));
  };
  const auto make = [&](size_t i) {
    return std::make_shared<Shard>(share(config.success.capacity), share(config.denial.capacity),
                                   0x9e3779b97f4a7c15ULL * (i + 1));
  };
  std::vector<ShardPtr> shards;
  if (identity.empty()) {
    for (size_t i = 0; i < workers; ++i) shards.push_back(make(i));
  } else {
    shards = adoptShards(identity, workers, make);
  }
  for (size_t i = 0; i < workers; ++i)
    workers_.push_back(std::make_unique<Worker>(std::move(shards[i]), refreshPool(i)));
}

Cache::~Cache() = default;

// Fresh (whole seconds of age below the TTL) or, with serve_stale, expired less than
// DURATION ago; CoreDNS's getIfNotStale test.
bool Cache::servable(const Entry& e, TimePoint now) const {
  const int64_t left = e.remaining(now);
  return left > 0 || (staleSeconds_ > 0 && -left < staleSeconds_);
}

// Denial first, as CoreDNS looks them up; but a SERVFAIL does not hide a success entry that can
// still be served (CoreDNS #7956).
Cache::Found Cache::lookup(Shard& shard, const Key& key, TimePoint now) const {
  Entry* denial = shard.denial.find(key);
  const bool denialOk = denial != nullptr && servable(*denial, now);
  if (denialOk && !denial->servfail()) return {denial, false};
  Entry* success = shard.success.find(key);
  if (success != nullptr && servable(*success, now)) return {success, true};
  if (denialOk) return {denial, false};
  return {};
}

Verdict Cache::onQuery(dns::Query& q) {
  if (q.worker >= workers_.size() || !cacheableQuery(q.view) ||
      !zones_.contains(q.view.question.lowerName())) {
    return Verdict::Next;
  }
  Worker& w = *workers_[q.worker];
  const Key key = keyOf(q.view);
  const TimePoint now = clock_->now();
  const Found found = lookup(*w.shard, key, now);
  if (found.entry == nullptr) {
    bump(w.misses);
    return Verdict::Next;  // onReply sees the reply the rest of the chain writes and stores it
  }
  Entry& e = *found.entry;
  const int64_t left = e.remaining(now);
  if (left < 0 && config_.stale.verify) {
    // Counted as a hit, as CoreDNS does; onReply serves this entry if the chain fails.
    bump(found.success ? w.successHits : w.denialHits);
    if (q.trace != nullptr)
      note(q, "expired " + std::to_string(-left) + "s ago; the next plugins are asked first (serve_stale verify)");
    return Verdict::Next;
  }
  // A stale entry goes out with TTL 0 (keepttl: its stored TTL, as CoreDNS).
  const uint32_t ttl = config_.keepTtl ? e.ttl : static_cast<uint32_t>(std::max<int64_t>(left, 0));
  // Cannot fail but for a hostile reply whose names point at its OPT or past its last record,
  // which are not stored: the bytes were walked when stored, and no name reads a TTL.
  if (!hit(q, e, ttl)) {
    bump(w.misses);
    return Verdict::Next;
  }
  bump(found.success ? w.successHits : w.denialHits);
  if (left < 0) {
    bump(w.servedStale);
    if (q.trace != nullptr)
      note(q, "expired " + std::to_string(-left) + "s ago; served stale, refreshed in the background");
    startRefresh(q, w, e, now);
  } else if (shouldPrefetch(e, now)) {
    if (q.trace != nullptr) note(q, "popular and about to expire; prefetched in the background");
    startRefresh(q, w, e, now);
  }
  // After any refresh: one answered synchronously runs no onReply of this handler, but a
  // subquery it started may pass through this cache.
  w.served = &q;
  return Verdict::Answered;
}

// CoreDNS's shouldPrefetch: counts the hit in the entry's window (freq.Freq.Update), then asks
// for AMOUNT hits in it and a TTL left of at most ceil(PERCENTAGE/100 * original TTL).
bool Cache::shouldPrefetch(Entry& e, TimePoint now) const {
  const PrefetchConfig& p = config_.prefetch;
  if (p.amount == 0) return false;
  if (e.windowHits == 0 || now > e.windowStart + p.window) {
    e.windowHits = 1;
    e.windowStart = now;
  } else {
    ++e.windowHits;
  }
  const double threshold = std::ceil(static_cast<double>(p.percentage) / 100 * static_cast<double>(e.ttl));
  return e.windowHits >= p.amount && static_cast<double>(e.remaining(now)) <= threshold;
}

// Writes `entry` as the reply to `q`: the stored bytes, then the client's ID, RD/CD, question
// spelling and OPT, and `ttl` on every record. q.reply keeps its capacity across queries, so
// this does not allocate once the worker's pool is warm.
bool Cache::hit(dns::Query& q, const Entry& entry, uint32_t ttl) const {
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
  if (!setTtls(q.reply, ttl)) {
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
  if (!cacheableQuery(q.view) || !zones_.contains(q.view.question.lowerName())) return;
  if (config_.stale.verify && !refreshes(q) && serveStaleInstead(q, w)) return;
  // An error reply written by the chain for a plugin that failed (q.error set) is what CoreDNS
  // returns as an rcode without writing, so its cache never sees it.
  if (!q.error.empty()) return;
  store(q, w);
}

// serve_stale verify: the chain could not refresh the expired entry, so the client gets the
// entry instead of the failure (and the failure is not stored over it).
bool Cache::serveStaleInstead(dns::Query& q, Worker& w) const {
  const TimePoint now = clock_->now();
  const Found found = lookup(*w.shard, keyOf(q.view), now);
  if (found.entry == nullptr) return false;
  const Entry& e = *found.entry;
  const int64_t left = e.remaining(now);
  if (left > 0) return false;  // stored fresh while this query was out: not what it was sent for
  if (!hit(q, e, config_.keepTtl ? e.ttl : 0)) return false;
  q.chainReplySize = static_cast<uint16_t>(q.reply.size());
  dns::finalizeReply(q.reply, q.view, q.proto);
  // The cache wrote this reply: no error for `errors`, and `cache` as the responses' plugin.
  q.error = {};
  q.errorPlugin = {};
  if (q.route != nullptr) {
    if (int i = indexIn(*static_cast<const Chain*>(q.route)); i >= 0) q.position = static_cast<uint16_t>(i);
  }
  bump(w.servedStale);
  if (q.trace != nullptr) note(q, "the next plugins failed; served the entry that expired " + std::to_string(-left) + "s ago");
  return true;
}

Entry* Cache::store(dns::Query& q, Worker& w) {
  std::vector<uint8_t>& reply = q.reply;
  if (reply.size() < dns::kHeaderSize) return nullptr;
  const ReplyScan scan = scanReply(reply);
  const dns::Header h = dns::Header::read(reply.data());
  if (!scan.ok || h.qdcount != 1 || !(h.flags & dns::flag::QR) ||
      !sameQuestion(reply, q.view.question)) {
    bump(w.drops);
    return nullptr;
  }
  uint32_t ttl = 0;
  switch (scan.kind) {
    case Kind::Success:
    case Kind::Delegation: ttl = clampTtl(scan.minTtl, config_.success); break;
    case Kind::NoData:
    case Kind::NameError: ttl = clampTtl(scan.minTtl, config_.denial); break;
    case Kind::ServerError: ttl = static_cast<uint32_t>(config_.servfailTtl.count()); break;
    case Kind::Uncacheable: return nullptr;
  }
  // As CoreDNS, the client gets the capped TTL on every record now, so the TTLs it sees do not
  // jump when the next answer comes from the cache.
  setTtls(reply, ttl);
  if ((h.flags & dns::flag::TC) || ttl == 0) return nullptr;

  const bool success = scan.kind == Kind::Success || scan.kind == Kind::Delegation;
  const dns::ZoneSet& disabled = success ? disableSuccess_ : disableDenial_;
  if (disabled.contains(q.view.question.lowerName())) return nullptr;

  // Dropping an OPT that sits before other records would move what their pointers point at.
  if (scan.optEnd > scan.optStart && scan.optEnd != scan.end) return nullptr;
  Shard& shard = *w.shard;
  Store& target = success ? shard.success : shard.denial;
  const Key key = keyOf(q.view);
  bool evicted = false;
  Entry& e = target.claim(key, evicted);  // may allocate: inserts are the slow path
  // Bytes an upstream left after the last record are not stored: a hit appends the client's
  // OPT there, and it must follow the last record.
  if (scan.optEnd > scan.optStart) {
    e.wire.assign(reply.begin(), reply.begin() + static_cast<long>(scan.optStart));
    dns::put16(e.wire.data() + 10, static_cast<uint16_t>(h.arcount - 1));
  } else {
    e.wire.assign(reply.begin(), reply.begin() + static_cast<long>(scan.end));
  }
  std::memcpy(e.wire.data() + dns::kHeaderSize, q.view.question.lower.data(),
              q.view.question.nameLen);
  e.ttl = ttl;
  e.stored = clock_->now();
  e.windowHits = 0;  // a new reply starts counting its popularity afresh (CoreDNS's newItem)
  e.windowStart = {};
  if (evicted) bump(success ? w.successEvictions : w.denialEvictions);
  // A name that answers now no longer has the denial (or SERVFAIL) it had: an expired one kept
  // for serve_stale would otherwise be found first. CoreDNS does this after a prefetch only.
  if (success) shard.denial.erase(key);
  shard.successEntries.store(shard.success.size(), std::memory_order_relaxed);
  shard.denialEntries.store(shard.denial.size(), std::memory_order_relaxed);
  return &e;
}

// --- background refresh (prefetch, serve_stale immediate)

int Cache::indexIn(const Chain& chain) const {
  for (size_t i = 0; i < chain.handlers.size(); ++i) {
    if (chain.handlers[i].get() == this) return static_cast<int>(i);
  }
  return -1;
}

// The handlers after this cache in the block's chain, behind a placeholder for the cache
// itself: what CoreDNS's refresh runs (the cache's Next). Built once per worker, on its first
// refresh; the handlers before the cache (log, prometheus, errors, loadbalance) never see it.
// A cache belongs to one block's chain, so it is never rebuilt (refreshes in flight use it).
const Chain* Cache::refreshChain(Worker& w, const void* route) const {
  if (route == nullptr) return nullptr;
  if (w.refreshChain) return w.refreshChainOf == route ? w.refreshChain.get() : nullptr;
  const auto& chain = *static_cast<const Chain*>(route);
  const int self = indexIn(chain);
  if (self < 0) return nullptr;
  auto cut = std::make_shared<Chain>();
  cut->add(head_);
  for (size_t i = static_cast<size_t>(self) + 1; i < chain.handlers.size(); ++i) cut->add(chain.handlers[i]);
  cut->zone = chain.zone;
  w.refreshChain = std::move(cut);
  w.refreshChainOf = route;
  return w.refreshChain.get();
}

// Starts refreshing `e` with a copy of `q` unless a refresh of it is in flight already (one
// per entry, as CoreDNS's tryPrefetch) or the worker has kMaxRefreshes out. As CoreDNS's
// prefetch writer, the copy goes as a TCP query: its reply is never cut to the client's UDP
// size, and forward asks upstream over TCP unless prefer_udp says otherwise.
void Cache::startRefresh(const dns::Query& q, Worker& w, Entry& e, TimePoint now) {
  if (e.refreshing || q.dispatcher == nullptr) return;
  const Chain* chain = refreshChain(w, q.route);
  if (chain == nullptr) return;
  Refresh* r = nullptr;
  if (!w.pool.idle.empty()) {
    r = w.pool.idle.back();
    w.pool.idle.pop_back();
  } else if (w.pool.all.size() < kMaxRefreshes) {
    r = w.pool.all.emplace_back(std::make_unique<Refresh>()).get();
    r->worker = q.worker;
  } else {
    return;
  }
  r->cache = this;
  dns::Query& rq = r->query;
  rq.reset();
  std::copy_n(q.request.begin(), q.requestLen, rq.request.begin());
  rq.requestLen = q.requestLen;
  rq.view = q.view;
  rq.proto = dns::Proto::Tcp;
  rq.client = q.client;
  rq.local = q.local;
  rq.start = q.start;
  rq.worker = q.worker;
  rq.listener = q.listener;
  rq.depth = q.depth;
  rq.sink = r;
  rq.dispatcher = q.dispatcher;
  rq.route = chain;
  rq.position = 0;
  // Keeps this cache, and with it the handlers the refresh runs through, alive until it ends,
  // even when a reload replaces the configuration meanwhile.
  rq.pin = weak_from_this().lock();
  r->triggered = now;
  e.refreshing = true;
  bump(w.prefetches);
  // May complete at once (hosts answering) and store over `e`: nothing here touches it after.
  plugins::resume(rq, Verdict::Next);
}

void Cache::refreshed(Refresh& r, bool replied) {
  std::shared_ptr<const void> pin;
  {
    dns::Query& rq = r.query;
    Worker& w = *workers_[r.worker];
    Shard& shard = *w.shard;
    const Key key = keyOf(rq.view);
    uint32_t hits = 0;
    for (Store* s : {&shard.denial, &shard.success}) {
      if (Entry* old = s->find(key)) {
        old->refreshing = false;
        hits = std::max(hits, old->windowHits);
      }
    }
    // Only a usable answer replaces the entry (see refreshes()); CoreDNS's refresh stores
    // whatever comes back, SERVFAIL included.
    if (replied && refreshes(rq)) {
      if (Entry* fresh = store(rq, w)) {
        // The popularity counted so far carries over (CoreDNS's doPrefetch: Reset(now, hits)).
        fresh->windowStart = r.triggered;
        fresh->windowHits = hits;
      }
    }
    pin = std::move(rq.pin);
    rq.reset();
    r.cache = nullptr;
    w.pool.idle.push_back(&r);
  }
  // `pin` goes last: it may hold the last reference to this cache.
}

CacheStats Cache::stats() const {
  CacheStats s;
  const auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  for (const auto& w : workers_) {
    s.successHits += get(w->successHits);
    s.denialHits += get(w->denialHits);
    s.misses += get(w->misses);
    s.successEntries += get(w->shard->successEntries);
    s.denialEntries += get(w->shard->denialEntries);
    s.successEvictions += get(w->successEvictions);
    s.denialEvictions += get(w->denialEvictions);
    s.drops += get(w->drops);
    s.prefetches += get(w->prefetches);
    s.servedStale += get(w->servedStale);
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
  counter("coredns_cache_prefetch_total",
          "Background refreshes the cache started (prefetch, and serve_stale immediate).", untyped,
          s.prefetches);
  counter("coredns_cache_served_stale_total", "Replies served from expired cache entries.", untyped,
          s.servedStale);
}

conf::Result<HandlerPtr> setupCache(const SetupContext& ctx) {
  auto config = parseCache(ctx);
  if (!config) return config.error();
  const std::string server = serverLabel(ctx);
  auto handler = std::make_shared<Cache>(*config, ctx.loops.size(), steadyClock(),
                                         server + "|" + storageIdentity(*config));
  handler->setServerLabel(server);
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::cache
