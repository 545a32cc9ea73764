// EDNS options (RFC 6891 section 6.1.2) read from a query's OPT and written into a reply's: the
// OPT's RDATA is a run of {code, length, data}. For plugins that answer an option (nsid) and
// for the reply fitting that must keep them. Views and in-place edits: nothing allocates unless
// the reply's vector must grow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dns/wire.hpp"

namespace moat::dns {

namespace ednsopt {
constexpr uint16_t NSID = 3;  // RFC 5001
}  // namespace ednsopt

// The fixed part of an OPT RR: root owner, TYPE, CLASS (UDP size), TTL (flags), RDLENGTH.
constexpr size_t kOptFixedLen = 11;

// Whether the query's OPT (`edns`, as parseQuery found it in `request`) carries option `code`.
// A malformed option run is read up to where it breaks.
bool queryHasOption(std::span<const uint8_t> request, const Edns& edns, uint16_t code);

// Where the first OPT RR of a message's additional section lies; empty (start == end) when the
// message has none or its records do not walk.
struct OptSpan {
  size_t start = 0, rdata = 0, end = 0;  // the RR, its options, one past them
  bool found() const { return end > start; }
};
OptSpan findOpt(std::span<const uint8_t> msg);

// Gives the reply's OPT exactly one option `code`, holding `data`: options with that code are
// removed (an upstream's own NSID, say) and one is appended. False, leaving the reply as it
// was, when it has no OPT or the option would not fit in the OPT's RDLENGTH.
bool putReplyOption(std::vector<uint8_t>& reply, uint16_t code, std::span<const uint8_t> data);

}  // namespace moat::dns
