// The cache's /metrics series (Cache::collect): CoreDNS's coredns_cache_* names and labels,
// values summed over workers.
#include <doctest/doctest.h>

#include <optional>

#include "plugins/cache/cache.hpp"
#include "plugins/cache/test_support.hpp"

namespace moat::plugins::cache {
namespace {

using testing::a;
using testing::Harness;
using testing::soa;
using dns::RCode;
using Labels = std::vector<std::pair<std::string, std::string>>;

std::optional<double> value(const std::vector<MetricSample>& all, const std::string& family, const Labels& labels) {
  std::optional<double> found;
  for (const auto& s : all) {
    if (s.family != family || s.labels != labels) continue;
    CHECK_MESSAGE(!found, "two samples for " << family);
    found = s.value;
  }
  return found;
}

std::vector<MetricSample> collected(const Cache& c) {
  std::vector<MetricSample> out;
  c.collect(out);
  return out;
}

const std::string kZones = "example.org.,example.net.";

Labels typed(const std::string& type) {
  return {{"server", "dns://:1053"}, {"type", type}, {"view", ""}, {"zones", kZones}};
}
const Labels kUntyped{{"server", "dns://:1053"}, {"view", ""}, {"zones", kZones}};

TEST_CASE("cache metrics: hits by type, misses and requests, summed over workers") {
  CacheConfig c;
  c.zones = {"example.org.", "example.net."};
  Harness h(c, 2);
  h.cache->setServerLabel("dns://:1053");
  CHECK(collected(*h.cache).empty());  // nothing counted yet: no series, as CoreDNS

  for (unsigned w : {0u, 1u}) {
    h.ask({.worker = w}, RCode::NoError, {a("www.example.org.", 300)});  // miss, stored
    h.ask({.worker = w});                                                // success hit
  }
  h.ask({.name = "nx.example.net."}, RCode::NXDomain, {soa("example.net.", 60)});  // miss, denial
  h.ask({.name = "nx.example.net."});                                              // denial hit
  h.ask({.name = "www.example.com."}, RCode::NoError, {a("www.example.com.", 300)});  // not ours
  CHECK(h.upstreamCalls == 4);

  const auto all = collected(*h.cache);
  CHECK(value(all, "coredns_cache_requests_total", kUntyped) == 6.0);
  CHECK(value(all, "coredns_cache_hits_total", typed("success")) == 2.0);
  CHECK(value(all, "coredns_cache_hits_total", typed("denial")) == 1.0);
  CHECK(value(all, "coredns_cache_misses_total", kUntyped) == 3.0);
  CHECK(value(all, "coredns_cache_entries", typed("success")) == 2.0);  // one per worker
  CHECK(value(all, "coredns_cache_entries", typed("denial")) == 1.0);
  CHECK_FALSE(value(all, "coredns_cache_evictions_total", typed("success")));
  CHECK_FALSE(value(all, "coredns_cache_drops_total", kUntyped));
  for (const auto& s : all) {
    CAPTURE(s.family);
    CHECK(s.gauge == (s.family == "coredns_cache_entries"));
    CHECK_FALSE(s.histogram());
  }
}

TEST_CASE("cache metrics: evictions and drops") {
  CacheConfig c;
  c.zones = {"example.org.", "example.net."};
  c.success.capacity = 1024;
  Harness h(c);
  h.cache->setServerLabel("dns://:1053");
  for (int i = 0; i < 1030; ++i) {
    std::string name = "n" + std::to_string(i) + ".example.org.";
    h.ask({.name = name}, RCode::NoError, {a(name, 300)});
  }
  auto q = testing::makeQuery({});
  REQUIRE(h.cache->onQuery(*q) == Verdict::Next);
  auto other = testing::makeQuery({.name = "evil.example.org."});
  testing::reply(*h.cache, *other, RCode::NoError, {a("evil.example.org.", 300)});
  q->reply = other->reply;
  h.cache->onReply(*q);

  const auto all = collected(*h.cache);
  CHECK(value(all, "coredns_cache_evictions_total", typed("success")) == 7.0);  // 1031 stores, 1024 places
  CHECK_FALSE(value(all, "coredns_cache_evictions_total", typed("denial")));
  CHECK(value(all, "coredns_cache_entries", typed("success")) == 1024.0);
  CHECK(value(all, "coredns_cache_entries", typed("denial")) == 0.0);
  CHECK(value(all, "coredns_cache_drops_total", kUntyped) == 1.0);
}

TEST_CASE("cache metrics: served_stale and prefetch") {
  CacheConfig c;
  c.zones = {"example.org.", "example.net."};
  c.stale = {std::chrono::hours(1), false};
  c.prefetch = {1, std::chrono::minutes(1), 10};
  testing::Server s(c);
  s.cache->setServerLabel("dns://:1053");
  s.upstream->records = {a("www.example.org.", 100)};
  s.ask({});
  CHECK_FALSE(value(collected(*s.cache), "coredns_cache_served_stale_total", kUntyped));
  CHECK_FALSE(value(collected(*s.cache), "coredns_cache_prefetch_total", kUntyped));
  s.clock->advance(std::chrono::seconds(95));
  s.ask({});  // 5 s left of 100: prefetched
  s.clock->advance(std::chrono::seconds(200));
  s.ask({});  // expired: served stale, refreshed
  const auto all = collected(*s.cache);
  CHECK(value(all, "coredns_cache_prefetch_total", kUntyped) == 2.0);
  CHECK(value(all, "coredns_cache_served_stale_total", kUntyped) == 1.0);
  CHECK(value(all, "coredns_cache_hits_total", typed("success")) == 2.0);
  CHECK(value(all, "coredns_cache_requests_total", kUntyped) == 3.0);
}

TEST_CASE("cache metrics: setupCache registers the cache as a metric source") {
  testing::Setup s(testing::directive("cache 60 example.org"));
  auto handler = setupCache(s.ctx);
  REQUIRE(handler.ok());
  auto q = testing::makeQuery({});
  CHECK((*handler)->onQuery(*q) == Verdict::Next);
  const Labels labels{{"server", "dns://:53"}, {"view", ""}, {"zones", "example.org."}};
  auto all = collectMetricSources();
  CHECK(value(all, "coredns_cache_misses_total", labels) == 1.0);
  CHECK(value(all, "coredns_cache_requests_total", labels) == 1.0);
  handler->reset();  // a replaced handler's series go with it
  CHECK_FALSE(value(collectMetricSources(), "coredns_cache_misses_total", labels));
}

}  // namespace
}  // namespace moat::plugins::cache
