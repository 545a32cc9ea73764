// Per-worker in-flight bookkeeping, dnsdist style: a slot per pending query (reused through a
// free list, so a warm worker never allocates) and, per upstream UDP socket, a table from the
// outgoing ID to the slot waiting for it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "dns/query.hpp"
#include "dns/secure_random.hpp"
#include "plugins/forward/config.hpp"

namespace moat::plugins::forward {

using Clock = std::chrono::steady_clock;
constexpr uint16_t kNoSlot = 0xFFFF;
constexpr size_t kMaxSlots = kNoSlot;  // slot indices must fit the ID table's uint16_t

struct TcpConn;
struct TlsConn;
struct DohConn;

struct Slot {
  dns::Query* query = nullptr;
  std::shared_ptr<TcpConn> tcp;  // connection of a running TCP attempt (a timeout closes it)
  // Connection of a running TLS attempt (shared by every query in flight on it; it fails
  // them all before it goes away, so the pointer never dangles).
  TlsConn* tls = nullptr;
  std::shared_ptr<DohConn> doh;  // connection of a running DoH exchange (a timeout closes it)
  Clock::time_point attemptStart{};  // coredns_proxy_request_duration_seconds measures from here
  Clock::time_point attemptDeadline{};
  Clock::time_point overallDeadline{};
  std::string_view lastError;  // points into UpstreamState::errors
  uint32_t generation = 0;     // bumped when an attempt ends; stale TCP completions see it
  uint32_t channel = 0;        // worker channel of the current attempt
  uint32_t connectAttempts = 0;
  uint16_t outId = 0;   // ID of the UDP attempt (when udpIdHeld)
  uint16_t socket = 0;  // its socket in the worker's UdpPool (when udpIdHeld)
  uint16_t clientId = 0;
  // randomize_case: bit k set when byte k of the name went out with its case flipped.
  std::array<uint8_t, (dns::kMaxNameLen + 7) / 8> caseFlips{};
  uint8_t stanza = 0;
  std::array<uint8_t, kMaxUpstreams> order{};  // the policy's upstream order for this query
  uint8_t count = 0;                           // upstreams in `order`
  uint8_t pos = 0;                             // next index into `order`
  uint8_t downSkips = 0;  // down upstreams skipped in this pass (CoreDNS's `fails`)
  uint8_t current = 0;    // upstream (index in its stanza) of the current attempt
  uint8_t failoverAttempts = 0;
  bool inUse = false;
  bool overTcp = false;
  bool udpIdHeld = false;
  bool overTls = false;
  bool overDoh = false;
  bool tlsIdHeld = false;  // outId is this attempt's ID on its TLS connection
};

class SlotTable {
 public:
  SlotTable() { slots_.reserve(256); }
  // A free slot index, or nullopt when kMaxSlots are in flight.
  std::optional<uint16_t> acquire();
  void release(uint16_t index);
  Slot& operator[](uint16_t index) { return slots_[index]; }
  // High-water mark: every in-use slot has an index below it.
  size_t size() const { return slots_.size(); }
  size_t inUse() const { return inUse_; }

 private:
  std::vector<Slot> slots_;
  std::vector<uint16_t> free_;
  size_t inUse_ = 0;
};

// Outgoing ID -> slot for every UDP query of a worker. 128 KiB, allocated on first use.
class IdTable {
 public:
  // Picks a random free ID for `slot`; nullopt when (practically never) none is found.
  std::optional<uint16_t> take(uint16_t slot, dns::SecureRandom& random);
  uint16_t lookup(uint16_t id) const { return map_ ? map_[id] : kNoSlot; }
  void release(uint16_t id) {
    if (map_) map_[id] = kNoSlot;
  }

 private:
  std::unique_ptr<uint16_t[]> map_;
};

}  // namespace moat::plugins::forward
