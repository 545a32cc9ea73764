// The last step before a reply leaves: echo the client's EDNS, and make a UDP reply fit the
// client's buffer (512 without EDNS). As CoreDNS: compress first, then drop whole records from
// the end and set TC when it still does not fit.
#pragma once

#include <cstdint>
#include <vector>

#include "dns/query.hpp"
#include "dns/wire.hpp"

namespace moat::dns {

void finalizeReply(std::vector<uint8_t>& reply, const QueryView& view, Proto proto);

// Rewrites `msg` with name compression (ldns_pkt2buffer_wire compresses). False if ldns cannot parse it (left unchanged).
bool compressMessage(std::vector<uint8_t>& msg);

}  // namespace moat::dns
