// The dnstap payload (a `Dnstap` protobuf message holding one `Message`), encoded by hand into a
// caller's buffer: only the fields Moat writes, as varints, fixed32s and length-delimited bytes.
// Field numbers and enum values are those of the dnstap schema (dnstap.info). Nothing here
// allocates; a payload that does not fit the buffer is reported, not truncated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace moat::plugins::dnstap {

// Message.Type values Moat emits.
enum class MessageType : uint8_t {
  ClientQuery = 5,
  ClientResponse = 6,
  ForwarderQuery = 7,
  ForwarderResponse = 8,
};

enum class SocketProtocol : uint8_t { Udp = 1, Tcp = 2 };

// Seconds and nanoseconds since the Unix epoch.
struct WallTime {
  uint64_t sec = 0;
  uint32_t nsec = 0;
};

// One dnstap Message. Spans point at the caller's bytes; an empty span leaves the field out.
struct Message {
  MessageType type = MessageType::ClientQuery;
  int family = 0;  // AF_INET or AF_INET6; 0 leaves family, addresses and ports out
  SocketProtocol protocol = SocketProtocol::Udp;
  std::span<const uint8_t> queryAddress;     // 4 or 16 bytes
  uint16_t queryPort = 0;
  bool hasQueryPort = false;
  std::span<const uint8_t> responseAddress;  // 4 or 16 bytes
  uint16_t responsePort = 0;
  bool hasResponsePort = false;
  WallTime queryTime;
  bool hasQueryTime = false;
  WallTime responseTime;
  bool hasResponseTime = false;
  std::span<const uint8_t> queryMessage;     // the wire query, with `full`
  std::span<const uint8_t> responseMessage;  // the wire response, with `full`
};

// The envelope: identity and version of the server, and the optional extra bytes.
struct Envelope {
  std::string_view identity;
  std::string_view version;
  std::string_view extra;  // empty: left out
};

// Writes the Dnstap payload into `out`; returns its length, or 0 when it does not fit.
size_t encode(const Envelope& envelope, const Message& message, std::span<uint8_t> out);

// The length encode() needs for this payload.
size_t encodedSize(const Envelope& envelope, const Message& message);

}  // namespace moat::plugins::dnstap
