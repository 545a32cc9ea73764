// The DNS wire format as the hot path sees it: header, question and OPT read by hand from the
// received bytes, with no allocation and no ldns. Everything here is a view or a fixed-size value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace moat::dns {

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLen = 255;     // wire length, root label included
constexpr size_t kMaxLabelLen = 63;
constexpr uint16_t kPlainUdpSize = 512; // what a client without EDNS accepts
constexpr size_t kMaxMessage = 65535;

namespace rrtype {
constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15, TXT = 16,
                   AAAA = 28, SRV = 33, DNAME = 39, OPT = 41, DS = 43, RRSIG = 46, IXFR = 251, AXFR = 252, ANY = 255;
}
namespace rrclass {
constexpr uint16_t IN = 1, CH = 3, HS = 4, NONE = 254, ANY = 255;
}

enum class Section : uint8_t { Question, Answer, Authority, Additional };

enum class RCode : uint8_t {
  NoError = 0, FormErr = 1, ServFail = 2, NXDomain = 3, NotImp = 4, Refused = 5,
  YXDomain = 6, YXRRSet = 7, NXRRSet = 8, NotAuth = 9, NotZone = 10,
};

// Header flag bits (second 16-bit word).
namespace flag {
constexpr uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080, Z = 0x0040,
                   AD = 0x0020, CD = 0x0010;
constexpr uint16_t OpcodeMask = 0x7800, RcodeMask = 0x000F;
}  // namespace flag

// Header opcodes Moat handles (RFC 1035 QUERY, RFC 1996 NOTIFY); the rest are NOTIMP.
namespace opcode {
constexpr uint8_t Query = 0, Notify = 4;
}  // namespace opcode

struct Header {
  uint16_t id = 0, flags = 0, qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

  static Header read(const uint8_t* p) {
    return {get16(p), get16(p + 2), get16(p + 4), get16(p + 6), get16(p + 8), get16(p + 10)};
  }
  void write(uint8_t* p) const {
    put16(p, id); put16(p + 2, flags); put16(p + 4, qdcount);
    put16(p + 6, ancount); put16(p + 8, nscount); put16(p + 10, arcount);
  }
  uint8_t opcode() const { return static_cast<uint8_t>((flags & flag::OpcodeMask) >> 11); }
  RCode rcode() const { return static_cast<RCode>(flags & flag::RcodeMask); }
};

// The question of a query. The name stays in the packet (offset + length, original case);
// a lowercased copy is kept inline because every routing decision is made on it.
struct Question {
  uint16_t nameOffset = kHeaderSize;
  uint16_t nameLen = 0;                   // wire length including the root label
  std::array<uint8_t, kMaxNameLen> lower{};  // lowercased wire name
  uint8_t labels = 0;                     // label count, root excluded
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint16_t end = 0;                       // offset just past the question

  std::span<const uint8_t> lowerName() const { return {lower.data(), nameLen}; }
};

// The client's OPT record, when there is one.
struct Edns {
  bool present = false;
  bool dnssecOk = false;
  uint8_t version = 0;
  uint16_t udpSize = 0;   // as the client wrote it
  uint16_t offset = 0;    // where the OPT RR starts in the packet
  uint16_t length = 0;    // its whole wire length
};

struct QueryView {
  Header header;
  Question question;
  Edns edns;

  // The largest UDP reply this client accepts: 512 without EDNS, never less than 512 with it.
  uint16_t udpLimit() const {
    if (!edns.present) return kPlainUdpSize;
    return edns.udpSize < kPlainUdpSize ? kPlainUdpSize : edns.udpSize;
  }
};

enum class ParseStatus : uint8_t {
  Ok,
  FormErr,  // header readable, rest malformed: answer FORMERR
  Drop,     // not worth an answer: too short for a header, or a response (QR set)
};

// Reads header, question and (when ARCOUNT > 0) the OPT record. Never reads past `packet`.
ParseStatus parseQuery(std::span<const uint8_t> packet, QueryView& out);

// Skips the name stored at `off`: its labels up to the root label or its first pointer, which is
// not followed (followName checks where a pointer leads). Returns the offset just past it, or 0
// when a label runs past `msg`, has a type other than length, or the labels pass 255 bytes.
size_t skipName(std::span<const uint8_t> msg, size_t off);

// What makes a message unreadable, for callers that care why (the walker's fuzz target does).
enum class WireError : uint8_t {
  None,
  Overrun,       // a name, fixed field, RDATA or pointer target past the end of the message
  BadLabel,      // a label type other than length (0x40, 0x80) or a length over 63
  PointerLimit,  // more pointers in one name than kMaxPointers: a loop, or as good as one
  NameTooLong,   // over 255 bytes once the pointers are followed
};

// miekg/dns's bound, so Moat reads the names CoreDNS reads. Every non-looping name fits in it
// in practice, and it caps the work a hostile name costs.
constexpr unsigned kMaxPointers = 126;

struct NameEnd {
  size_t end = 0;  // just past the name as stored at its start (its first pointer, if any)
  WireError error = WireError::None;
};

// Follows the name at `off` through its pointers to the root label, calling `visit(at)` with the
// offset of every label (the root's included) and every pointer it reads, in order; msg[at]
// tells which (a length up to 63, or a pointer). Pointers may aim anywhere inside `msg`, forward
// too, as ldns and miekg/dns read them; loops end at kMaxPointers.
template <class Visit>
[[gnu::always_inline]] inline NameEnd followName(std::span<const uint8_t> msg, size_t off,
                                                 Visit&& visit) {
  size_t end = 0;
  size_t length = 0;
  unsigned pointers = 0;
  if (off >= msg.size()) return {0, WireError::Overrun};
  for (;;) {  // here off < msg.size(): checked before every move
    const uint8_t len = msg[off];
    if (len > kMaxLabelLen) {
      if ((len & 0xC0) != 0xC0) return {0, WireError::BadLabel};
      if (off + 2 > msg.size()) return {0, WireError::Overrun};
      if (++pointers > kMaxPointers) return {0, WireError::PointerLimit};
      visit(off);
      if (end == 0) end = off + 2;
      off = static_cast<size_t>(len & 0x3F) << 8 | msg[off + 1];
      if (off >= msg.size()) return {0, WireError::Overrun};
      continue;
    }
    length += len + 1u;
    if (length > kMaxNameLen) return {0, WireError::NameTooLong};
    if (len == 0) {
      visit(off);
      return {end != 0 ? end : off + 1, WireError::None};
    }
    const size_t next = off + 1 + len;
    if (next >= msg.size()) return {0, WireError::Overrun};  // the label, and a byte after it
    visit(off);
    off = next;
  }
}

}  // namespace moat::dns
