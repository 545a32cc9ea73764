// One worker's outgoing UDP sockets. An off-path attacker who wants to poison the cache must
// guess the source port as well as the ID of a query in flight (the Kaminsky attack,
// CVE-2008-1447), so each query leaves from one of kSize sockets picked at random, each connected
// from a port the kernel drew at random from its ephemeral range, and each replaced by a fresh
// one after kMaxUses queries or kMaxAge of life: a port seen once is soon worth nothing.
//
// Opening a socket per query, as unbound does, would cost about 3.5 µs of system calls per query
// on this path (socket, connect, epoll_ctl, close, and the kernel's allocations behind them); a
// socket per kMaxUses queries costs a sixty-fourth of that. What a forger gains from the longer
// life is small: a port it saw is picked again by a later query with a chance of 1 in kSize. Sockets are opened on
// first use, so an idle worker holds few. All of them sit in one epoll set of the pool's own,
// which the worker's event loop waits on as a single descriptor: one wait per wake-up whatever
// the number of sockets, and no per-query registration.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "dns/secure_random.hpp"

namespace moat::plugins::forward {

struct UdpTarget {
  sockaddr_storage peer{};
  socklen_t peerLen = 0;
  std::optional<boost::asio::ip::address> source;  // bind here (port 0) before connecting

  static UdpTarget of(const boost::asio::ip::address& address, uint16_t port,
                      const std::optional<boost::asio::ip::address>& source);
  // Same family and source binding: a socket opened for one can be reconnected to the other.
  bool compatible(const UdpTarget& o) const;
  // Is `from` (as recvfrom filled it) this target's address and port?
  bool isPeer(const sockaddr_storage& from, socklen_t len) const;
};

class UdpPool {
 public:
  static constexpr uint16_t kSize = 1024;
  static constexpr uint16_t kMaxUses = 64;
  // Queries one socket carries at once. Bounded apart from kMaxUses so that an entry stays
  // small (the pool's 1024 entries are walked by random picks on every query: cache lines count).
  static constexpr uint8_t kMaxWaiting = 16;
  static constexpr std::chrono::seconds kMaxAge{30};
  static constexpr uint16_t kNone = 0xFFFF;
  using Clock = std::chrono::steady_clock;

  // One target per channel (stanza upstream), in channel order.
  explicit UdpPool(std::vector<UdpTarget> targets);
  ~UdpPool();
  UdpPool(const UdpPool&) = delete;
  UdpPool& operator=(const UdpPool&) = delete;

  // The epoll set of every open socket, readable when one of them is.
  int eventsFd() const { return epoll_; }
  const UdpTarget& target(uint32_t channel) const { return targets_[channel]; }

  // A socket connected to `channel`'s upstream for one more query, chosen at random among
  // those that can take it; kNone (errno set) when none can be opened.
  uint16_t acquire(uint32_t channel, dns::SecureRandom& random, Clock::time_point now);
  int fd(uint16_t e) const { return entries_[e].fd; }
  uint32_t channel(uint16_t e) const { return entries_[e].channel; }

  // Query bookkeeping: `slot` sent on `e` and waiting, or no longer waiting there. A socket
  // retired (used up, aged, or told so) closes when its last query leaves.
  void attach(uint16_t e, uint16_t slot);
  void detach(uint16_t e, uint16_t slot);
  void retire(uint16_t e);
  std::span<const uint16_t> waiting(uint16_t e) const {
    return {entries_[e].waiting.data(), entries_[e].waitingCount};
  }

  // Sockets that received data since they were last reported (edge-triggered: the reader reads
  // until EAGAIN, or calls rearm), at most out.size() (up to kReadyBatch), without blocking.
  // Handling one may close or reopen another listed; reading a socket with nothing queued is
  // harmless.
  static constexpr size_t kReadyBatch = 64;
  size_t ready(std::span<uint16_t> out);
  bool open(uint16_t e) const { return entries_[e].fd >= 0; }
  // Report `e` again if it still has data queued (a reader that stopped before EAGAIN).
  void rearm(uint16_t e);

  void closeAll();
  size_t openCount() const { return openCount_; }

 private:
  struct Entry {
    int fd = -1;
    uint32_t channel = 0;
    Clock::time_point opened{};
    uint16_t uses = 0;
    uint8_t waitingCount = 0;
    bool retiring = false;
    std::array<uint16_t, kMaxWaiting> waiting{};
  };

  bool openEntry(uint16_t e, uint32_t channel, Clock::time_point now);
  void closeEntry(uint16_t e);
  // Can `e` carry one more query to `channel` right now? Opens it when closed and `mayOpen`,
  // reconnects it when idle and connected to another upstream of the same kind.
  bool take(uint16_t e, uint32_t channel, Clock::time_point now, bool& mayOpen);

  std::vector<UdpTarget> targets_;
  std::array<Entry, kSize> entries_{};
  int epoll_ = -1;
  size_t openCount_ = 0;
};

}  // namespace moat::plugins::forward
