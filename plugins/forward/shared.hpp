// State every worker of one forward handler sees: the parsed stanzas, upstream health (atomics,
// written by the health checker on loops[0] and read on every query) and a few counters.
// In-flight state is not here: it stays on its worker (worker.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/egress.hpp"
#include "plugins/forward/config.hpp"
#include "plugins/forward/reply_check.hpp"

namespace boost::asio {
class io_context;
}

namespace moat::plugins::forward {

// Why an attempt failed; picks the error text the `errors` plugin prints.
enum class Failure : uint8_t { Timeout, Refused, Network, BadReply, Handshake };
constexpr size_t kFailureKinds = 5;

// How an attempt reached its upstream; picks the error text's prefix ("udp", "tcp", "tls",
// "https").
enum class Transport : uint8_t { Udp, Tcp, Tls, Https };
constexpr size_t kTransports = 4;

// What the errors plugin prints when no attempt could even be made (CoreDNS's ErrNoHealthy).
constexpr std::string_view kNoHealthy = "no healthy proxies";

struct UpstreamState {
  explicit UpstreamState(UpstreamAddr a);

  UpstreamAddr addr;
  // Consecutive failed health checks (CoreDNS's Proxy.fails); reset by any health check reply.
  std::atomic<uint32_t> fails{0};
  // A probe loop is running for this upstream; at most one at a time.
  std::atomic<bool> probing{false};
  // Probes that got no reply (coredns_proxy_healthcheck_failures_total{to}); written only by
  // the health loop's thread.
  std::atomic<uint64_t> healthcheckFailures{0};
  // Error texts for Query::error, built once so the data path only points at them.
  std::string errors[kTransports][kFailureKinds];  // [Transport][Failure]
  // The last TLS handshake failure logged for this upstream: each distinct reason is logged
  // once, not once per query (cleared by a handshake that succeeds).
  std::mutex tlsLogMutex;
  std::string tlsLogged;

  bool down(uint32_t maxFails) const {
    return maxFails != 0 && fails.load(std::memory_order_relaxed) > maxFails;
  }
  std::string_view errorText(Transport t, Failure f) const {
    return errors[static_cast<size_t>(t)][static_cast<size_t>(f)];
  }
  // Logs `reason` for a failed handshake unless it was the last one logged.
  void noteTlsFailure(const std::string& reason);
  void noteTlsSuccess();
};

struct StanzaState {
  Stanza config;
  std::vector<std::unique_ptr<UpstreamState>> upstreams;  // atomics do not move: keep them put
  std::atomic<int64_t> concurrent{0};                     // for max_concurrent, all workers
  uint32_t firstChannel = 0;  // index of upstreams[0] in every worker's channel list
  std::string limitError;     // "concurrent queries exceeded maximum N"
  EgressScope scope;          // FROM narrowed by the block's zones (DESIGN.md §4)
};

// What the egress check needs to know about one forward handler's block.
struct EgressConfig {
  PrivateZonesPtr privateZones;         // null: nothing is private (tests)
  std::vector<std::string> blockZones;  // the server block's zones; empty means "."
};

// Counters of the health loop (the query path counts per worker: WorkerStats, ChannelStats).
struct SharedStats {
  std::atomic<uint64_t> probesKeptIn{0};  // health probes the egress check stopped
  // Probe replies dropped by the checks (written only by the health loop's thread).
  std::array<std::atomic<uint64_t>, kRejectReasons> probeRejected{};
};

struct Shared {
  std::vector<std::unique_ptr<StanzaState>> stanzas;
  uint32_t channelCount = 0;                      // upstreams over all stanzas
  PrivateZonesPtr privateZones;                   // what the egress check consults
  boost::asio::io_context* healthLoop = nullptr;  // loops[0]; null when built without loops
  std::atomic<bool> stopping{false};              // the handler is gone: probes wind down
  SharedStats stats;

  static std::shared_ptr<Shared> build(std::vector<Stanza> stanzas, const EgressConfig& egress);

  // The one egress check for this handler (DESIGN.md §4): null when `lowerName` may leave
  // through stanza `s`, else the private zone that keeps it in. Every send calls it.
  const PrivateZone* keptIn(uint32_t s, std::span<const uint8_t> lowerName) const {
    return egressBlockedBy(privateZones.get(), stanzas[s]->scope, lowerName);
  }
  // The same for a query: the name it would send and, when rewrite changed the question, the
  // name its client asked (both must be allowed to leave).
  const PrivateZone* keptIn(uint32_t s, const dns::Query& q) const {
    return egressBlockedBy(privateZones.get(), stanzas[s]->scope, q);
  }
};

// Starts probing upstream `u` of stanza `s` on the health loop unless a probe already runs
// (or health checking is off). Callable from any worker thread.
void requestHealthCheck(const std::shared_ptr<Shared>& shared, uint32_t s, uint32_t u);

}  // namespace moat::plugins::forward
