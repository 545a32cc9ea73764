// What forward counts for /metrics (CoreDNS's coredns_forward_* and, for its proxy package,
// coredns_proxy_* with proxy_name="forward"). Each worker keeps one ChannelStats per upstream
// (a channel, in worker.hpp's terms) and writes it with dns::bump only from its own thread; a
// scrape sums the workers (Forward::collect).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace moat::plugins::forward {

// plugin.TimeBuckets: 0.25 ms · 2^i for i = 0..15 (up to 8.192 s), then +Inf.
inline constexpr size_t kDurationBounds = 16;
inline constexpr size_t kHeaderRcodes = 16;  // the header's 4 bits

double durationBound(size_t i);
// The bucket an observation of `ns` nanoseconds falls in (kDurationBounds: above the last bound).
size_t durationBucket(uint64_t ns);
// The proxy's rcode label: miekg's RcodeToString name, else the number ("12").
std::string_view rcodeLabel(unsigned rcode);

// One worker's counters for one upstream of one stanza. A line of its own, so two workers
// never write the same cache line; only the owning worker writes it.
struct alignas(64) ChannelStats {
  // Replies by rcode: per duration bucket (not cumulative), and the durations' sum in ns.
  std::array<std::array<std::atomic<uint64_t>, kDurationBounds + 1>, kHeaderRcodes> replies{};
  std::array<std::atomic<uint64_t>, kHeaderRcodes> replyNs{};
  std::atomic<uint64_t> tcpHits{0};    // coredns_proxy_conn_cache_hits_total{proto="tcp"}
  std::atomic<uint64_t> tcpMisses{0};  // coredns_proxy_conn_cache_misses_total{proto="tcp"}

  // A reply with header rcode `rcode` came back `took` after its attempt started.
  void observe(unsigned rcode, std::chrono::steady_clock::duration took);
};

}  // namespace moat::plugins::forward
