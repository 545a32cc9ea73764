// forward's /metrics series (Forward::collect): CoreDNS's names and labels, values from driven
// queries, histogram buckets from a delayed upstream.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>

#include "plugins/forward/test_util.hpp"
#include "tests/support/fake_upstream.hpp"

namespace moat::plugins::forward::testing {
namespace {

using moat::testing::FakeUpstream;
using Mode = FakeUpstream::Mode;
using Labels = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

std::vector<MetricSample> collected(const Forward& f) {
  std::vector<MetricSample> out;
  f.collect(out);
  return out;
}

// The one sample of `family` with exactly `labels`; nullopt when absent (FAILs on duplicates).
std::optional<MetricSample> find(const std::vector<MetricSample>& all, const std::string& family,
                                 const Labels& labels) {
  std::optional<MetricSample> found;
  for (const auto& s : all) {
    if (s.family != family || s.labels != labels) continue;
    CHECK_MESSAGE(!found, "two samples for " << family);
    found = s;
  }
  return found;
}

size_t countFamily(const std::vector<MetricSample>& all, const std::string& family) {
  size_t n = 0;
  for (const auto& s : all) n += s.family == family ? 1 : 0;
  return n;
}

Labels duration(const std::string& rcode, const std::string& to) {
  return {{"proxy_name", "forward"}, {"rcode", rcode}, {"to", to}};
}

TEST_CASE("forward metrics: replies per upstream and rcode in coredns_proxy_request_duration_seconds") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  h.forward->setServerLabel("dns://:53");
  CHECK(h.ask(query("one.example.")).reply.rcode == 0);
  CHECK(h.ask(query("two.example.")).reply.rcode == 0);
  CHECK(h.ask(query("three.nx.example.")).reply.rcode == 3);
  const auto all = collected(*h.forward);

  auto noerror = find(all, "coredns_proxy_request_duration_seconds", duration("NOERROR", up.address()));
  REQUIRE(noerror);
  CHECK(noerror->histogram());
  CHECK_FALSE(noerror->gauge);
  CHECK(noerror->count == 2);
  REQUIRE(noerror->bounds.size() == 16);
  CHECK(noerror->bounds.front() == doctest::Approx(0.00025));
  CHECK(noerror->bounds.back() == doctest::Approx(8.192));
  REQUIRE(noerror->cumulative.size() == 16);
  for (size_t i = 1; i < noerror->cumulative.size(); ++i) CHECK(noerror->cumulative[i - 1] <= noerror->cumulative[i]);
  CHECK(noerror->cumulative.back() == 2);  // a local reply takes far less than 8 s
  CHECK(noerror->value > 0);               // the sum, in seconds
  CHECK(noerror->value < 8);

  auto nx = find(all, "coredns_proxy_request_duration_seconds", duration("NXDOMAIN", up.address()));
  REQUIRE(nx);
  CHECK(nx->count == 1);
  // Only rcodes that came back have a series.
  CHECK(countFamily(all, "coredns_proxy_request_duration_seconds") == 2);

  // The unlabelled counters are always there, as CoreDNS registers them at start.
  auto broken = find(all, "coredns_forward_healthcheck_broken_total", {});
  REQUIRE(broken);
  CHECK(broken->value == 0);
  auto rejects = find(all, "coredns_forward_max_concurrent_rejects_total", {});
  REQUIRE(rejects);
  CHECK(rejects->value == 0);
  auto kept = find(all, "moat_forward_egress_kept_total", {{"server", "dns://:53"}});
  REQUIRE(kept);
  CHECK(kept->value == 0);
  // Nothing over TCP, no probe failed: no such series yet.
  CHECK(countFamily(all, "coredns_proxy_conn_cache_hits_total") == 0);
  CHECK(countFamily(all, "coredns_proxy_conn_cache_misses_total") == 0);
  CHECK(countFamily(all, "coredns_proxy_healthcheck_failures_total") == 0);
}

TEST_CASE("forward metrics: a duration is measured from the attempt's start to its reply") {
  FakeUpstream up;
  up.setDelay(20ms);
  Harness h(block("forward . " + up.address()));
  const auto before = std::chrono::steady_clock::now();
  CHECK(h.ask(query("slow.example.")).reply.rcode == 0);
  const std::chrono::duration<double> asked = std::chrono::steady_clock::now() - before;
  auto d = find(collected(*h.forward), "coredns_proxy_request_duration_seconds",
                duration("NOERROR", up.address()));
  REQUIRE(d);
  CHECK(d->count == 1);
  // 20 ms is above the 16 ms bound (0.00025 · 2^6): nothing at or below it.
  CHECK(d->bounds[6] == doctest::Approx(0.016));
  CHECK(d->cumulative[6] == 0);
  // The upstream waits 20 ms from its receipt, and the attempt is stamped before the send.
  CHECK(d->value >= 0.020);
  CHECK(d->value <= asked.count());
}

TEST_CASE("forward metrics: every upstream has its own series, under its own `to`") {
  FakeUpstream a, b;
  b.setMode(Mode::ServFail);
  Harness h(block("forward other.test " + b.address() + "\n"
                  "forward . " + b.address() + " " + a.address() +
                  " {\n  policy sequential\n  failover SERVFAIL\n}"));
  CHECK(h.ask(query("x.example.")).reply.rcode == 0);     // b: SERVFAIL, failover to a: NOERROR
  CHECK(h.ask(query("y.other.test.")).reply.rcode == 2);  // first stanza, SERVFAIL relayed
  CHECK(h.ask(query("z.other.test.")).reply.rcode == 2);
  const auto all = collected(*h.forward);
  auto fromA = find(all, "coredns_proxy_request_duration_seconds", duration("NOERROR", a.address()));
  REQUIRE(fromA);
  CHECK(fromA->count == 1);
  // b is an upstream of both stanzas: each reports its part under the same labels, and
  // collectMetricSources adds them up into CoreDNS's one series per address.
  size_t parts = 0;
  uint64_t servfails = 0;
  for (const auto& s : all) {
    if (s.family == "coredns_proxy_request_duration_seconds" && s.labels == duration("SERVFAIL", b.address())) {
      ++parts;
      servfails += s.count;
    }
  }
  CHECK(parts == 2);
  CHECK(servfails == 3);  // a reply that led to failover is observed too, as CoreDNS's proxy does
  CHECK_FALSE(find(all, "coredns_proxy_request_duration_seconds", duration("NOERROR", b.address())));
  CHECK_FALSE(find(all, "coredns_proxy_request_duration_seconds", duration("SERVFAIL", a.address())));
}

TEST_CASE("forward metrics: TCP connection pool hits and misses per upstream") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  for (int i = 0; i < 3; ++i) {
    CHECK(h.ask(query("pool" + std::to_string(i) + ".example."), dns::Proto::Tcp).reply.rcode == 0);
  }
  CHECK(h.ask(query("udp.example.")).reply.rcode == 0);  // UDP is not pooled: counted nowhere
  const auto all = collected(*h.forward);
  const Labels labels{{"proto", "tcp"}, {"proxy_name", "forward"}, {"to", up.address()}};
  auto misses = find(all, "coredns_proxy_conn_cache_misses_total", labels);
  REQUIRE(misses);
  CHECK(misses->value == 1);
  auto hits = find(all, "coredns_proxy_conn_cache_hits_total", labels);
  REQUIRE(hits);
  CHECK(hits->value == 2);
  CHECK(countFamily(all, "coredns_proxy_conn_cache_hits_total") == 1);
  auto d = find(all, "coredns_proxy_request_duration_seconds", duration("NOERROR", up.address()));
  REQUIRE(d);
  CHECK(d->count == 4);  // both transports
}

TEST_CASE("forward metrics: max_concurrent rejects") {
  FakeUpstream silent;
  silent.setMode(Mode::Silent);
  Harness h(block("forward . " + silent.address() + " {\n  max_concurrent 1\n  read_timeout 200ms\n}"));
  auto first = h.start(query("one.example."));
  CHECK(first.pending);
  CHECK(h.start(query("two.example.")).reply.rcode == 5);
  CHECK(h.start(query("three.example.")).reply.rcode == 5);
  auto rejects = find(collected(*h.forward), "coredns_forward_max_concurrent_rejects_total", {});
  REQUIRE(rejects);
  CHECK(rejects->value == 2);
  h.wait(first);
  // A timed-out attempt has no reply: no duration observed.
  CHECK(countFamily(collected(*h.forward), "coredns_proxy_request_duration_seconds") == 0);
}

TEST_CASE("forward metrics: failed health probes per upstream, and all-down queries") {
  const ClosedPort closed;
  const uint16_t port = closed.port();
  const std::string to = "127.0.0.1:" + std::to_string(port);
  Harness h(block("forward . " + to + " {\n  max_fails 1\n  health_check 20ms\n}"));
  CHECK(h.ask(query("a.example.")).reply.rcode == 2);
  CHECK(h.runUntil([&] { return h.upstream(0, 0).down(1); }, 3000ms));
  CHECK(h.ask(query("b.example.")).reply.rcode == 2);  // every upstream down: tried anyway
  const auto all = collected(*h.forward);
  auto failures = find(all, "coredns_proxy_healthcheck_failures_total", {{"proxy_name", "forward"}, {"to", to}});
  REQUIRE(failures);
  CHECK(failures->value >= 2);  // max_fails 1: down after the second
  CHECK(failures->value == static_cast<double>(h.upstream(0, 0).healthcheckFailures.load()));
  auto broken = find(all, "coredns_forward_healthcheck_broken_total", {});
  REQUIRE(broken);
  CHECK(broken->value == 1);
}

TEST_CASE("forward metrics: names the egress check kept from a stanza") {
  auto zones = std::make_shared<PrivateZones>();
  zones->add(PrivateZone{"internal.company."});
  FakeUpstream up;
  Harness h(block("forward . " + up.address()), {zones, {"."}});
  h.forward->setServerLabel("dns://127.0.0.1:1053");
  CHECK(h.start(query("api.internal.company.")).verdict == Verdict::Next);
  CHECK(h.start(query("db.internal.company."), dns::Proto::Tcp).verdict == Verdict::Next);
  CHECK(h.ask(query("www.example.com.")).reply.rcode == 0);
  auto kept = find(collected(*h.forward), "moat_forward_egress_kept_total", {{"server", "dns://127.0.0.1:1053"}});
  REQUIRE(kept);
  CHECK(kept->value == 2);
}

TEST_CASE("forward metrics: rcode labels and duration buckets") {
  CHECK(rcodeLabel(0) == "NOERROR");
  CHECK(rcodeLabel(3) == "NXDOMAIN");
  CHECK(rcodeLabel(11) == "DSOTYPENI");
  CHECK(rcodeLabel(12) == "12");  // miekg has no name: CoreDNS's proxy prints the number
  CHECK(durationBucket(0) == 0);
  CHECK(durationBucket(250'000) == 0);
  CHECK(durationBucket(250'001) == 1);
  CHECK(durationBucket(8'192'000'000) == 15);
  CHECK(durationBucket(8'192'000'001) == 16);
}

}  // namespace
}  // namespace moat::plugins::forward::testing
