// kdig (Knot's client, knot-dnsutils) as the real transfer client: AXFR and IXFR over TCP, its
// output read back into one normalized line per record so zones can be compared as sets.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace moat::testing {

// kdig -p PORT @server +time=3 +retry=0 <args...>; returns what it printed (stdout and stderr).
// `-b ADDRESS` in args picks the client's source address.
std::string kdig(uint16_t port, const std::vector<std::string>& args, const std::string& server = "127.0.0.1");

// One record with its whitespace collapsed: "owner ttl class type rdata".
std::string normalizedRecord(const std::string& line);

// The records of kdig's output, in order (comment and blank lines dropped).
std::vector<std::string> kdigRecords(const std::string& output);

// A whole AXFR as kdig printed it: every record, the closing SOA dropped, in no order; empty when
// the transfer did not open and close with the same SOA.
std::multiset<std::string> transferredZone(const std::string& output);

}  // namespace moat::testing
