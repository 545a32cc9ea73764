// forward's series for /metrics: the per-worker counters summed at scrape time. Names, labels
// and buckets are CoreDNS's (plugin/forward and plugin/pkg/proxy); label names are listed in
// the sorted order the Go client prints them.
#include "plugins/forward/metrics.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "dns/counter.hpp"
#include "plugins/forward/forward.hpp"
#include "plugins/forward/worker.hpp"

namespace moat::plugins::forward {

namespace {

constexpr std::string_view kProxyName = "forward";

uint64_t load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

}  // namespace

double durationBound(size_t i) { return 0.00025 * static_cast<double>(uint64_t{1} << i); }

size_t durationBucket(uint64_t ns) {
  for (size_t i = 0; i < kDurationBounds; ++i) {
    if (ns <= uint64_t{250'000} << i) return i;  // "le": the first bound not below the value
  }
  return kDurationBounds;
}

std::string_view rcodeLabel(unsigned rcode) {
  static constexpr std::array<std::string_view, kHeaderRcodes> kNames = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
      "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI", "12",    "13",      "14",       "15"};
  return kNames[rcode & 0xF];
}

void ChannelStats::observe(unsigned rcode, std::chrono::steady_clock::duration took) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  const uint64_t n = ns > 0 ? static_cast<uint64_t>(ns) : 0;
  rcode &= 0xF;
  dns::bump(replies[rcode][durationBucket(n)]);
  dns::bump(replyNs[rcode], n);
}

void Forward::collect(std::vector<MetricSample>& out) const {
  using Labels = std::vector<std::pair<std::string, std::string>>;
  const std::string proxy(kProxyName);
  std::vector<double> bounds;
  for (size_t i = 0; i < kDurationBounds; ++i) bounds.push_back(durationBound(i));

  uint64_t broken = 0, rejects = 0, kept = 0, suspected = 0, handshakes = 0, resumed = 0, failed = 0;
  std::array<uint64_t, kRejectReasons> rejected{};
  for (size_t r = 0; r < kRejectReasons; ++r) rejected[r] = load(shared_->stats.probeRejected[r]);
  for (const auto& w : workers_) {
    broken += load(w->stats().healthcheckBroken);
    rejects += load(w->stats().maxConcurrentRejects);
    kept += load(w->stats().keptIn);
    suspected += load(w->stats().spoofingSuspected);
    handshakes += load(w->stats().tlsHandshakes);
    resumed += load(w->stats().tlsResumed);
    failed += load(w->stats().tlsFailedHandshakes);
    for (size_t r = 0; r < kRejectReasons; ++r) rejected[r] += load(w->stats().rejected[r]);
  }
  for (size_t r = 0; r < kRejectReasons; ++r) {
    out.push_back({"moat_forward_replies_rejected_total",
                   "Upstream replies dropped because they were not the answer to a query waiting "
                   "for them: wrong source, malformed, unknown ID (late or forged), not a "
                   "response, another question, or not the randomized case sent.",
                   false, Labels{{"reason", std::string(kRejectNames[r])}, {"server", server_}},
                   static_cast<double>(rejected[r])});
  }
  out.push_back({"moat_forward_spoofing_suspected_total",
                 "UDP queries asked again over TCP because a reply for their question failed the "
                 "checks while they waited (RFC 5452 section 9.1).",
                 false, {{"server", server_}}, static_cast<double>(suspected)});
  out.push_back({"coredns_forward_healthcheck_broken_total",
                 "Queries for which every upstream of a forward stanza was marked down.", false, {},
                 static_cast<double>(broken)});
  out.push_back({"coredns_forward_max_concurrent_rejects_total",
                 "Queries refused because a forward stanza had max_concurrent queries in flight.",
                 false, {}, static_cast<double>(rejects)});
  const bool anyTls = std::any_of(shared_->stanzas.begin(), shared_->stanzas.end(),
                                  [](const auto& st) { return st->config.tlsContext != nullptr; });
  if (anyTls) {
    const char* help =
        "TLS handshakes with tls:// upstreams that completed, by whether they resumed a session.";
    out.push_back({"moat_forward_tls_handshakes_total", help, false,
                   {{"resumed", "false"}, {"server", server_}}, static_cast<double>(handshakes - resumed)});
    out.push_back({"moat_forward_tls_handshakes_total", help, false,
                   {{"resumed", "true"}, {"server", server_}}, static_cast<double>(resumed)});
    out.push_back({"moat_forward_tls_handshake_failures_total",
                   "TLS handshakes with tls:// upstreams that failed (certificate, name or protocol).",
                   false, {{"server", server_}}, static_cast<double>(failed)});
  }
  out.push_back({"moat_forward_egress_kept_total",
                 "Queries a forward stanza matched but did not send, because the name is under a "
                 "private zone that stanza may not send (the egress check).",
                 false, {{"server", server_}}, static_cast<double>(kept)});

  for (const auto& stanza : shared_->stanzas) {
    for (size_t u = 0; u < stanza->upstreams.size(); ++u) {
      const UpstreamState& up = *stanza->upstreams[u];
      const uint32_t channel = stanza->firstChannel + static_cast<uint32_t>(u);
      if (const uint64_t failures = load(up.healthcheckFailures); failures != 0) {
        out.push_back({"coredns_proxy_healthcheck_failures_total",
                       "Health probes to an upstream that got no reply in time.", false,
                       Labels{{"proxy_name", proxy}, {"to", up.addr.text}},
                       static_cast<double>(failures)});
      }
      uint64_t hits = 0, misses = 0;
      std::array<std::array<uint64_t, kDurationBounds + 1>, kHeaderRcodes> counts{};
      std::array<uint64_t, kHeaderRcodes> ns{};
      for (const auto& w : workers_) {
        const ChannelStats& c = w->channelStats(channel);
        hits += load(c.tcpHits);
        misses += load(c.tcpMisses);
        for (size_t rc = 0; rc < kHeaderRcodes; ++rc) {
          ns[rc] += load(c.replyNs[rc]);
          for (size_t b = 0; b <= kDurationBounds; ++b) counts[rc][b] += load(c.replies[rc][b]);
        }
      }
      for (size_t rc = 0; rc < kHeaderRcodes; ++rc) {
        MetricSample h{"coredns_proxy_request_duration_seconds",
                       "Time from starting an attempt at an upstream (connecting included) to its "
                       "reply, by the reply's rcode.",
                       false,
                       Labels{{"proxy_name", proxy},
                              {"rcode", std::string(rcodeLabel(static_cast<unsigned>(rc)))},
                              {"to", up.addr.text}},
                       static_cast<double>(ns[rc]) / 1e9};
        uint64_t cumulative = 0;
        for (size_t b = 0; b < kDurationBounds; ++b) {
          cumulative += counts[rc][b];
          h.cumulative.push_back(cumulative);
        }
        h.count = cumulative + counts[rc][kDurationBounds];
        if (h.count == 0) continue;
        h.bounds = bounds;
        out.push_back(std::move(h));
      }
      if (hits != 0) {
        out.push_back({"coredns_proxy_conn_cache_hits_total",
                       "Queries to an upstream sent over a pooled connection.", false,
                       Labels{{"proto", up.addr.doh ? "https" : up.addr.tls ? "tcp-tls" : "tcp"}, {"proxy_name", proxy}, {"to", up.addr.text}},
                       static_cast<double>(hits)});
      }
      if (misses != 0) {
        out.push_back({"coredns_proxy_conn_cache_misses_total",
                       "Queries to an upstream that needed a new connection.", false,
                       Labels{{"proto", up.addr.doh ? "https" : up.addr.tls ? "tcp-tls" : "tcp"}, {"proxy_name", proxy}, {"to", up.addr.text}},
                       static_cast<double>(misses)});
      }
    }
  }
}

}  // namespace moat::plugins::forward
