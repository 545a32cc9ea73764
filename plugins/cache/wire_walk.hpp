// What the cache needs to know about a reply, read straight from its bytes: how CoreDNS would
// classify it (response.Typify), its smallest TTL (dnsutil.MinimalTTL), and where its OPT is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace moat::plugins::cache {

enum class Kind : uint8_t { Success, Delegation, NoData, NameError, ServerError, Uncacheable };

struct ReplyScan {
  bool ok = false;          // every record walked, and no name reads a TTL (setTtls keeps it)
  Kind kind = Kind::Uncacheable;
  uint32_t minTtl = 0;      // seconds, as MinimalTTL (5 when there is nothing to look at)
  size_t optStart = 0, optEnd = 0;  // the OPT record's bytes; equal when there is none
  size_t end = 0;           // just past the last record: what follows it is not the reply's
  uint8_t extRcode = 0;     // the upper 8 bits of the rcode, from the OPT record
};

// Scans `msg` (compression allowed). The caller checks TC and the question itself.
ReplyScan scanReply(std::span<const uint8_t> msg);

// Sets the TTL of every record except OPT to `ttl`. False when the message is malformed.
bool setTtls(std::span<uint8_t> msg, uint32_t ttl);

}  // namespace moat::plugins::cache
