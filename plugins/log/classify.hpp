// What a reply says, read from its wire bytes: the rcode (EDNS extended bits included), the
// flags, and what the log's `class` filter needs (CoreDNS's response.Typify/Classify).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace moat::plugins::log {

struct ReplyInfo {
  bool header = false;    // at least a header was there
  bool complete = false;  // every section could be walked
  uint16_t flags = 0;
  uint8_t opcode = 0;
  unsigned rcode = 0;     // header rcode | OPT extended rcode << 4
  bool hasQuestion = false;
  uint16_t qtype = 0;
  uint16_t answers = 0;
  bool soaInAuthority = false;
  uint16_t nsInAuthority = 0;
  bool hasOpt = false;
  bool optDo = false;
  bool expiredSignature = false;  // some RRSIG outside its validity period at `unixNow`
};

// Never reads outside `reply`; a malformed body leaves complete = false.
ReplyInfo inspectReply(std::span<const uint8_t> reply, int64_t unixNow);

enum class ResponseClass : uint8_t { Success = 1, Denial = 2, Error = 4 };
constexpr uint8_t kAllClasses = 1 | 2 | 4;

// CoreDNS's classification: NOERROR with answers or a delegation or nothing at all is
// success; NXDOMAIN, or NOERROR with an SOA in authority, is denial; the rest (SERVFAIL,
// REFUSED, NXDOMAIN with answers, updates, notifies, transfers, expired signatures when DO is
// set) is error. `requestDo` stands in for the DO bit when the reply carries no OPT yet
// (the server adds it after the chain, CoreDNS before logging).
ResponseClass classify(const ReplyInfo& info, bool requestDo);

std::string_view className(ResponseClass c);

}  // namespace moat::plugins::log
