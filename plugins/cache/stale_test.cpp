// serve_stale (immediate and verify) and prefetch, with a clock the tests move by hand. The
// background refresh needs the chain runner, so those cases run a one-block server (Server);
// verify needs only the handler (Harness).
#include <doctest/doctest.h>

#include "plugins/cache/cache.hpp"
#include "plugins/cache/test_support.hpp"

namespace moat::plugins::cache {
namespace {

using testing::a;
using testing::Harness;
using testing::Server;
using testing::soa;
using namespace std::chrono_literals;
using dns::RCode;
using Answers = std::vector<std::string>;

CacheConfig stale(std::chrono::nanoseconds upTo, bool verify) {
  CacheConfig c;
  c.stale = {upTo, verify};
  return c;
}

CacheConfig prefetch(uint32_t amount, std::chrono::nanoseconds window, uint32_t percentage) {
  CacheConfig c;
  c.prefetch = {amount, window, percentage};
  return c;
}

// --- serve_stale immediate

TEST_CASE("serve_stale immediate: an expired entry is served at once with TTL 0 and refreshed behind") {
  Server s(stale(1h, false));
  s.upstream->records = {a("www.example.org.", 30)};
  auto first = s.ask({});
  REQUIRE(first);
  CHECK(first->answer == Answers{"www.example.org. 30 IN A 192.0.2.1"});
  CHECK(s.upstream->seen == 1);

  s.clock->advance(40s);
  s.upstream->records = {a("www.example.org.", 300, 2)};
  s.upstream->park = true;
  auto expired = s.ask({});
  REQUIRE(expired);  // sent before the refresh came back
  CHECK(expired->rcode == 0);
  CHECK(expired->answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(s.upstream->seen == 2);  // the refresh went out...
  CHECK(s.upstream->protos.back() == dns::Proto::Tcp);  // ...as CoreDNS's: over TCP
  // ...through the handlers after the cache only: the one before it saw the client's queries.
  CHECK(s.observer->queries == 2);
  CHECK(s.observer->replies == 2);

  auto again = s.ask({});  // one refresh per entry at a time
  REQUIRE(again);
  CHECK(again->answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(s.upstream->seen == 2);

  s.upstream->finish();
  CHECK(s.sink.sent.size() == 3);  // the refresh's reply went to no client
  auto fresh = s.ask({});
  REQUIRE(fresh);
  CHECK(fresh->answer == Answers{"www.example.org. 300 IN A 192.0.2.2"});
  CHECK(s.upstream->seen == 2);

  const CacheStats st = s.cache->stats();
  CHECK(st.servedStale == 2);
  CHECK(st.prefetches == 1);  // CoreDNS counts a stale refresh as a prefetch too
  CHECK(st.successHits == 3);
  CHECK(st.misses == 1);
  CHECK(s.observer->queries == 4);
}

TEST_CASE("serve_stale immediate: a refresh that fails leaves the stale entry, the next hit retries") {
  Server s(stale(1h, false));
  s.upstream->records = {a("www.example.org.", 30)};
  s.ask({});
  s.clock->advance(31s);
  s.upstream->park = true;

  s.ask({});
  s.upstream->rcode = RCode::ServFail;  // an upstream answering SERVFAIL
  s.upstream->records = {};
  s.upstream->finish();
  CHECK(s.cache->stats().denialEntries == 0);  // not stored over the stale entry

  auto second = s.ask({});
  REQUIRE(second);
  CHECK(second->answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(s.upstream->seen == 3);  // a new refresh
  s.upstream->failure = "no healthy upstream";  // forward failing without an upstream reply
  s.upstream->finish();

  s.upstream->park = false;
  s.upstream->failure = {};
  auto third = s.ask({});
  REQUIRE(third);
  CHECK(third->answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(s.upstream->seen == 4);
  CHECK(s.cache->stats().servedStale == 3);
  CHECK(s.cache->stats().denialEntries == 0);
}

TEST_CASE("serve_stale: DURATION bounds how long past expiry an entry is served") {
  Server s(stale(10s, false));
  s.upstream->records = {a("www.example.org.", 30)};
  s.ask({});
  s.upstream->park = true;

  s.clock->advance(30s);  // TTL left 0: an ordinary hit with TTL 0, as CoreDNS (no refresh)
  auto zero = s.ask({});
  REQUIRE(zero);
  CHECK(zero->answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(s.cache->stats().servedStale == 0);
  CHECK(s.upstream->seen == 1);

  s.clock->advance(9s + 999ms);  // expired 9 s ago: stale
  auto late = s.ask({});
  REQUIRE(late);
  CHECK(late->answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(s.cache->stats().servedStale == 1);
  CHECK(s.upstream->seen == 2);
  s.upstream->rcode = RCode::ServFail;
  s.upstream->finish();

  s.clock->advance(1ms);  // expired 10 s ago: gone, the client waits for upstream
  CHECK_FALSE(s.ask({}));
  CHECK(s.upstream->seen == 3);
  CHECK(s.cache->stats().misses == 2);
  s.upstream->finish();
  REQUIRE(s.sink.sent.size() == 4);
  CHECK(moat::testing::decode(s.sink.sent.back()).rcode == 2);
}

TEST_CASE("serve_stale: without it an expired entry is a miss") {
  Server s(CacheConfig{});
  s.upstream->records = {a("www.example.org.", 30)};
  s.ask({});
  s.clock->advance(30s);
  s.ask({});
  CHECK(s.upstream->seen == 2);
  CHECK(s.cache->stats().servedStale == 0);
}

TEST_CASE("serve_stale with keepttl serves the stored TTL, as CoreDNS") {
  CacheConfig c = stale(1h, false);
  c.keepTtl = true;
  Harness h(c);
  h.ask({}, RCode::NoError, {a("www.example.org.", 30)});
  h.clock->advance(100s);
  CHECK(h.ask({}).answer == Answers{"www.example.org. 30 IN A 192.0.2.1"});
  CHECK(h.cache->stats().servedStale == 1);
}

// --- serve_stale verify

TEST_CASE("serve_stale verify: the chain is asked first and its SERVFAIL replaced by the stale entry") {
  Harness h(stale(1h, true));
  h.ask({}, RCode::NoError, {a("www.example.org.", 30)});
  h.clock->advance(45s);

  auto r = h.ask({}, RCode::ServFail, {});
  CHECK(h.upstreamCalls == 2);  // asked first
  CHECK(r.rcode == 0);
  CHECK(r.answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(h.cache->stats().servedStale == 1);
  CHECK(h.cache->stats().successHits == 1);   // CoreDNS counts the stale lookup as a hit
  CHECK(h.cache->stats().denialEntries == 0);  // the SERVFAIL was not stored

  auto refused = h.ask({}, RCode::Refused, {});
  CHECK(h.upstreamCalls == 3);
  CHECK(refused.rcode == 0);
  CHECK(refused.answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});

  auto fresh = h.ask({}, RCode::NoError, {a("www.example.org.", 300, 2)});
  CHECK(fresh.answer == Answers{"www.example.org. 300 IN A 192.0.2.2"});
  CHECK(h.cache->stats().servedStale == 2);
  CHECK(h.ask({}).answer == Answers{"www.example.org. 300 IN A 192.0.2.2"});
  CHECK(h.upstreamCalls == 4);
}

TEST_CASE("serve_stale verify: a failing plugin's error reply is replaced too, and its error dropped") {
  Harness h(stale(1h, true));
  h.ask({.edns = 1232}, RCode::NoError, {a("www.example.org.", 30)});
  h.clock->advance(31s);
  auto q = testing::makeQuery({.edns = 1232});
  REQUIRE(h.cache->onQuery(*q) == Verdict::Next);
  dns::writeErrorReply(q->reply, q->requestBytes(), &q->view, RCode::ServFail);
  q->error = "no healthy upstream";
  dns::finalizeReply(q->reply, q->view, q->proto);
  h.cache->onReply(*q);
  auto r = moat::testing::decode(q->reply);
  REQUIRE(r.ok);
  CHECK(r.rcode == 0);
  CHECK(r.answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(r.hasOpt);  // fitted for the client as any reply
  CHECK(r.optUdpSize == 1232);
  CHECK(q->error.empty());
  CHECK(q->chainReplySize == q->reply.size());
}

TEST_CASE("serve_stale verify: NXDOMAIN is a valid answer, and an answer replaces a stale denial") {
  Harness h(stale(1h, true));
  h.ask({}, RCode::NoError, {a("www.example.org.", 30)});
  h.clock->advance(31s);
  auto gone = h.ask({}, RCode::NXDomain, {soa("example.org.", 60)});
  CHECK(gone.rcode == 3);
  CHECK(h.cache->stats().servedStale == 0);
  CHECK(h.ask({}).rcode == 3);  // stored
  CHECK(h.upstreamCalls == 2);

  // The name comes back while its denial is stale: the answer wins from now on (CoreDNS #3586
  // kept finding the stale denial first).
  h.clock->advance(61s);
  auto back = h.ask({}, RCode::NoError, {a("www.example.org.", 300, 3)});
  CHECK(back.answer == Answers{"www.example.org. 300 IN A 192.0.2.3"});
  CHECK(h.cache->stats().denialEntries == 0);
  CHECK(h.ask({}).answer == Answers{"www.example.org. 300 IN A 192.0.2.3"});
  CHECK(h.upstreamCalls == 3);
}

TEST_CASE("serve_stale verify: with nothing stale a SERVFAIL goes to the client and is cached") {
  Harness h(stale(1h, true));
  CHECK(h.ask({}, RCode::ServFail, {}).rcode == 2);
  CHECK(h.cache->stats().denialEntries == 1);
  CHECK(h.cache->stats().servedStale == 0);
}

TEST_CASE("serve_stale verify through the runner: the client waits for the chain") {
  Server s(stale(1h, true));
  s.upstream->records = {a("www.example.org.", 30)};
  s.ask({});
  s.clock->advance(31s);
  s.upstream->park = true;
  CHECK_FALSE(s.ask({}));  // not answered before the chain replies
  s.upstream->failure = "no healthy upstream";
  s.upstream->finish();
  REQUIRE(s.sink.sent.size() == 2);
  auto r = moat::testing::decode(s.sink.sent.back());
  CHECK(r.answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(s.cache->stats().prefetches == 0);  // verify starts no background refresh
  CHECK(s.upstream->seen == 2);
}

TEST_CASE("a SERVFAIL does not hide a success entry that can still be served") {
  Harness h(stale(1h, false));
  h.ask({}, RCode::NoError, {a("www.example.org.", 30)});
  h.clock->advance(40s);
  auto q = testing::makeQuery({});  // a reply stored for the same question meanwhile
  testing::reply(*h.cache, *q, RCode::ServFail, {});
  REQUIRE(h.cache->stats().denialEntries == 1);
  auto r = h.ask({});
  CHECK(r.rcode == 0);
  CHECK(r.answer == Answers{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(h.upstreamCalls == 1);
}

// --- prefetch

TEST_CASE("prefetch: a popular entry is refreshed when its TTL left falls to PERCENTAGE") {
  Server s(prefetch(3, 1min, 10));
  s.upstream->records = {a("www.example.org.", 300)};
  s.ask({});
  s.upstream->records = {a("www.example.org.", 300, 2)};

  s.clock->advance(269s);  // 31 s left; the threshold is ceil(10% of 300) = 30
  s.ask({});
  s.ask({});
  s.ask({});  // popular now, but not yet low
  CHECK(s.upstream->seen == 1);
  s.clock->advance(1s);  // 30 s left
  auto hit = s.ask({});
  REQUIRE(hit);
  CHECK(hit->answer == Answers{"www.example.org. 30 IN A 192.0.2.1"});  // from the cache
  CHECK(s.upstream->seen == 2);
  CHECK(s.upstream->protos.back() == dns::Proto::Tcp);
  CHECK(s.cache->stats().prefetches == 1);
  CHECK(s.observer->queries == 5);  // the prefetch is no client query

  auto after = s.ask({});
  REQUIRE(after);
  CHECK(after->answer == Answers{"www.example.org. 300 IN A 192.0.2.2"});
  CHECK(s.upstream->seen == 2);
  CHECK(s.cache->stats().servedStale == 0);
}

TEST_CASE("prefetch: AMOUNT hits must fall within DURATION of the first") {
  Server s(prefetch(2, 10s, 10));
  s.upstream->records = {a("www.example.org.", 300)};
  s.ask({});
  s.clock->advance(100s);
  s.ask({});  // hit 1 of a window starting now
  s.clock->advance(171s);  // 29 s left, but the window ended: this hit starts a new one
  s.ask({});
  CHECK(s.upstream->seen == 1);
  s.clock->advance(10s);  // still inside the new window (its end included): hit 2
  s.ask({});
  CHECK(s.upstream->seen == 2);
}

TEST_CASE("prefetch: one refresh at a time, a failed one leaves the entry, hits carry over") {
  Server s(prefetch(2, 10min, 10));
  s.upstream->records = {a("www.example.org.", 300)};
  s.ask({});
  s.upstream->park = true;
  s.clock->advance(280s);
  s.ask({});
  s.ask({});  // 2 hits, 20 s left: prefetch
  CHECK(s.upstream->seen == 2);
  s.ask({});
  CHECK(s.upstream->seen == 2);  // already in flight
  s.upstream->failure = "no healthy upstream";
  s.upstream->finish();
  auto still = s.ask({});  // still fresh, still served; a new prefetch goes out
  REQUIRE(still);
  CHECK(still->answer == Answers{"www.example.org. 20 IN A 192.0.2.1"});
  CHECK(s.upstream->seen == 3);

  s.upstream->failure = {};
  s.upstream->records = {a("www.example.org.", 300, 2)};
  s.upstream->finish();  // stored at 280 s, with the 4 hits counted so far
  s.clock->advance(270s);  // 30 s left of the new entry, inside the 10 min window
  s.ask({});  // one more hit is enough: the count carried over (CoreDNS's Reset(now, hits))
  CHECK(s.upstream->seen == 4);
  CHECK(s.cache->stats().prefetches == 3);
  s.upstream->finish();
}

TEST_CASE("prefetch: a reply stored by a client's query counts its hits afresh") {
  Server s(prefetch(2, 10min, 10));
  s.upstream->records = {a("www.example.org.", 300)};
  s.ask({});
  s.clock->advance(10s);
  s.ask({});
  s.ask({});  // popular, but 290 s left
  s.clock->advance(290s);
  s.ask({});  // expired: a miss, stored again in the same place
  CHECK(s.upstream->seen == 2);
  s.clock->advance(270s);  // 30 s left, inside the first entry's window
  s.ask({});  // the first of the new entry's hits: not popular yet
  CHECK(s.upstream->seen == 2);
  s.ask({});
  CHECK(s.upstream->seen == 3);
}

TEST_CASE("prefetch 0 prefetches nothing") {
  Server s(prefetch(0, 1min, 10));
  s.upstream->records = {a("www.example.org.", 300)};
  s.ask({});
  s.clock->advance(299s);
  for (int i = 0; i < 5; ++i) s.ask({});
  CHECK(s.upstream->seen == 1);
}

// --- lifetime

TEST_CASE("a refresh in flight keeps its cache alive after a reload dropped it, then lets it go") {
  auto s = std::make_unique<Server>(stale(1h, false));
  s->upstream->records = {a("www.example.org.", 30)};
  s->ask({});
  s->clock->advance(31s);
  s->upstream->park = true;
  s->ask({});
  REQUIRE(s->upstream->parked.size() == 1);

  std::weak_ptr<Cache> weak = s->cache;
  s->runner.publish(nullptr);  // the configuration is replaced...
  s->ask({.name = "next.example."});  // ...the worker moves on to the new one...
  s->cache.reset();            // ...and nothing else holds this cache
  CHECK_FALSE(weak.expired());
  s->upstream->finish();
  CHECK(weak.expired());
}

TEST_CASE("a refresh pins its own cache, even when another configuration is current as it waits") {
  auto s = std::make_unique<Server>(stale(1h, false));
  s->upstream->records = {a("www.example.org.", 30)};
  s->ask({});
  s->clock->advance(31s);
  s->upstream->park = true;
  // A reload publishes while the refresh is on its way out: when it parks, the runner's
  // current configuration no longer holds this cache.
  s->upstream->onPark = [&] { s->runner.publish(nullptr); };
  s->ask({});
  REQUIRE(s->upstream->parked.size() == 1);
  std::weak_ptr<Cache> weak = s->cache;
  s->cache.reset();
  REQUIRE_FALSE(weak.expired());
  s->upstream->finish();
  s->ask({.name = "next.example."});  // the worker lets go of the configuration it last used
  CHECK(weak.expired());
}

}  // namespace
}  // namespace moat::plugins::cache
