// Talking to a primary over TCP, from the secondary's own thread (never a worker): one SOA
// query, or one AXFR read message by message into an AxfrReader. Blocking sockets with poll(2)
// deadlines, in short slices so a stop request (a reload, shutdown) ends the wait quickly.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

#include "plugins/file/zone.hpp"
#include "plugins/secondary/config.hpp"

namespace moat::plugins::secondary {

struct PrimaryTimeouts {
  std::chrono::milliseconds connect{2000};
  std::chrono::milliseconds idle{5000};  // between two messages of one answer
};

// The primary's serial for `lowerOrigin` (an SOA query over TCP, as CoreDNS asks, so the
// answer cannot be spoofed by a datagram); nullopt with `error` set when it does not answer.
std::optional<uint32_t> querySerial(const Primary& primary, std::span<const uint8_t> lowerOrigin,
                                    std::stop_token stop, std::string& error, PrimaryTimeouts timeouts = {});

// The whole zone by AXFR; null with `error` set when the transfer fails in any way.
file::ZonePtr transferZone(const Primary& primary, std::span<const uint8_t> lowerOrigin, std::stop_token stop,
                           std::string& error, PrimaryTimeouts timeouts = {});

}  // namespace moat::plugins::secondary
