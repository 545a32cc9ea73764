// Is an upstream's reply the answer to our query? The transports establish where it came from
// and which query's ID it carries; what is left is CoreDNS's request.Match (a response with
// exactly one question equal, name case-insensitively, type and class, to ours) plus, when the
// name went out in randomized case (DNS 0x20), the exact case we sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "dns/wire.hpp"

namespace moat::plugins::forward {

// Why a reply was dropped: the `reason` label of moat_forward_replies_rejected_total.
enum class Reject : uint8_t {
  Source,       // not from the upstream's address and port
  Malformed,    // shorter than a header, or a length that is no DNS message
  Id,           // no query waits for this ID on this socket (late, or forged)
  NotResponse,  // QR clear
  Question,     // not our question (name, type, class; one question, uncompressed)
  Case,         // our question, but not in the case we randomized it to
};
inline constexpr size_t kRejectReasons = 6;
inline constexpr std::string_view kRejectNames[kRejectReasons] = {
    "source", "malformed", "id", "not_response", "question", "case"};

// Flipped case of byte k of the sent name when bit k of `flips` is set (letters only).
inline bool caseFlipped(std::span<const uint8_t> flips, size_t k) {
  return (flips[k / 8] >> (k % 8) & 1u) != 0;
}

// The reply's question is `view`'s, ignoring case: how a forgery aimed at that query looks.
inline bool sameQuestion(std::span<const uint8_t> reply, const dns::QueryView& view) {
  if (reply.size() < dns::kHeaderSize || dns::get16(reply.data() + 4) != 1) return false;
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

// Why `reply`, carrying our ID from our upstream, does not answer `view`'s query; nullopt when
// it does. `sentName` is the name as it went out and `flips` its randomized case (both empty
// when the case was not randomized).
inline std::optional<Reject> checkReply(std::span<const uint8_t> reply, const dns::QueryView& view,
                                        std::span<const uint8_t> sentName = {},
                                        std::span<const uint8_t> flips = {}) {
  if (reply.size() < dns::kHeaderSize) return Reject::Malformed;
  if ((dns::get16(reply.data() + 2) & dns::flag::QR) == 0) return Reject::NotResponse;
  if (!sameQuestion(reply, view)) return Reject::Question;
  for (size_t k = 0; k < sentName.size() && !flips.empty(); ++k) {
    uint8_t want = sentName[k];
    const bool letter = (want | 0x20) >= 'a' && (want | 0x20) <= 'z';
    if (letter && caseFlipped(flips, k)) want ^= 0x20;
    if (reply[dns::kHeaderSize + k] != want) return Reject::Case;
  }
  return std::nullopt;
}

}  // namespace moat::plugins::forward
