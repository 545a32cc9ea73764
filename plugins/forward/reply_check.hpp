// Does an upstream reply answer this query? The same check CoreDNS's request.Match makes: a
// response with exactly one question equal (name case-insensitively, type, class) to ours.
#pragma once

#include <span>

#include "dns/wire.hpp"

namespace moat::plugins::forward {

inline bool replyMatches(std::span<const uint8_t> reply, const dns::QueryView& view) {
  if (reply.size() < dns::kHeaderSize) return false;
  const auto h = dns::Header::read(reply.data());
  if ((h.flags & dns::flag::QR) == 0 || h.qdcount != 1) return false;
  const auto& question = view.question;
  const size_t end = dns::kHeaderSize + question.nameLen;
  if (reply.size() < end + 4) return false;
  // Byte by byte over the whole wire name: label lengths (< 64) are unchanged by folding, so
  // this compares structure and text at once, and rejects a compressed question.
  for (size_t k = 0; k < question.nameLen; ++k) {
    uint8_t b = reply[dns::kHeaderSize + k];
    if (b >= 'A' && b <= 'Z') b = static_cast<uint8_t>(b + ('a' - 'A'));
    if (b != question.lower[k]) return false;
  }
  return dns::get16(reply.data() + end) == question.qtype &&
         dns::get16(reply.data() + end + 2) == question.qclass;
}

}  // namespace moat::plugins::forward
