// Reading an AXFR (RFC 5936) one DNS message at a time into a Zone. The transfer is good only
// when it opens with the zone's SOA, every record lies in the zone, and it closes with the same
// SOA again; anything else (a message that does not parse, an error rcode, a stream that ends
// early) leaves no zone, so the caller keeps the one it had.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "dns/name.hpp"
#include "plugins/file/zone.hpp"

namespace moat::plugins::secondary {

class AxfrReader {
 public:
  enum class Step : uint8_t { More, Done, Failed };

  // `lowerOrigin`: the zone's origin, lowercased wire form. `id`: the query's message ID,
  // which every message of the answer must carry.
  AxfrReader(std::span<const uint8_t> lowerOrigin, uint16_t id);

  // One message of the answer, without the TCP length prefix.
  Step add(std::span<const uint8_t> message);

  // The zone, once add() said Done (null before, or when it failed).
  file::ZonePtr take();
  // Why it failed; empty otherwise.
  const std::string& error() const { return error_; }
  size_t records() const { return builder_.size(); }
  size_t messages() const { return messages_; }

 private:
  Step fail(std::string why);

  dns::WireName origin_;
  uint16_t id_;
  file::Zone::Builder builder_;
  std::optional<uint32_t> serial_;  // from the opening SOA
  bool done_ = false;
  size_t messages_ = 0;
  std::string error_;
};

// The serial of the SOA for `lowerOrigin` in the answer section of `message` (a reply to an
// SOA query with ID `id`); nullopt with `error` set when the reply is not a usable answer.
std::optional<uint32_t> soaSerialFromReply(std::span<const uint8_t> message, std::span<const uint8_t> lowerOrigin,
                                           uint16_t id, std::string& error);

// The SOA query or AXFR request for `lowerOrigin` with ID `id` (no RD: we ask the primary
// itself), without a length prefix.
std::vector<uint8_t> buildRequest(std::span<const uint8_t> lowerOrigin, uint16_t type, uint16_t id);

}  // namespace moat::plugins::secondary
