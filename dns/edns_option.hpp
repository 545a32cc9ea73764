// EDNS options (RFC 6891 section 6.1.2) read from a query's OPT and written into a reply's: the
// OPT's RDATA is a run of {code, length, data}. For plugins that answer an option (nsid) and
// for the reply fitting that must keep them. Views and in-place edits: nothing allocates unless
// the reply's vector must grow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dns/query.hpp"
#include "dns/wire.hpp"

namespace moat::dns {

namespace ednsopt {
constexpr uint16_t NSID = 3;          // RFC 5001
constexpr uint16_t ClientSubnet = 8;  // RFC 7871
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

// Removes every option `code` from the reply's OPT; returns how many bytes went. Only an OPT
// that ends the message is edited (as putReplyOption).
size_t removeReplyOptions(std::vector<uint8_t>& reply, uint16_t code);
// Removes the reply's OPT record when it ends the message (ARCOUNT lowered); false otherwise.
bool removeReplyOpt(std::vector<uint8_t>& reply);

// Edits of a query's OPT in place, in q.request, with q.view.edns kept in step (an edit inside
// the OPT moves only what follows it). Nothing allocates; an edit that would not fit in the
// request buffer or the OPT's RDLENGTH is refused (false) and changes nothing.
//
// Appends a bare OPT (version 0, no flags, `udpSize`) as the query's last record: a query that
// had no EDNS gets one. False when it already has one or there is no room.
bool addQueryOpt(Query& q, uint16_t udpSize);
// Takes off the OPT addQueryOpt added (it must still be the last record).
void removeQueryOpt(Query& q);
// Where the first option `code` of the query's OPT starts (its code field); 0 when none.
size_t findQueryOption(const Query& q, uint16_t code);
// Replaces the data of the option starting at `at` (from findQueryOption).
bool setQueryOptionData(Query& q, size_t at, std::span<const uint8_t> data);
// Appends option `code` with `data` after the OPT's other options.
bool appendQueryOption(Query& q, uint16_t code, std::span<const uint8_t> data);
// Removes every option `code`; returns how many went.
size_t removeQueryOptions(Query& q, uint16_t code);

}  // namespace moat::dns
