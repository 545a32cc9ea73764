// Helpers for the private-zone leak tests (tests/integration/leak*_test.cpp, DESIGN.md §4): the
// built-in private zones written out again from the design (on purpose not taken from the
// server, so a zone missing there fails a test), name arithmetic, batches of queries over UDP
// and TCP, what the recording upstream saw, and checks of the local answers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"

namespace moat::testing::leak {

// DESIGN.md §4's built-in private zones, lowercase with the final dot.
const std::vector<std::string>& builtinPrivateZones();
// The built-ins plus `declared` (canonicalised).
std::vector<std::string> privateZones(const std::vector<std::string>& declared);

// Lowercase, with exactly one final dot ("." stays ".").
std::string canonical(std::string_view name);
// Both canonical: `name` equals `zone` or lies below it; "." contains every name.
bool atOrUnder(std::string_view name, std::string_view zone);
// The deepest of `zones` that `name` is at or under (canonical), "" when none.
std::string deepestZone(std::string_view name, const std::vector<std::string>& zones);
// The reverse-lookup name of an IPv4 or IPv6 address ("10.0.0.5" -> "5.0.0.10.in-addr.arpa.").
std::string reverseName(const std::string& address);

// The qtypes every leak test asks: A, AAAA, HTTPS, MX, TXT, SRV, PTR, ANY.
const std::vector<std::string>& allTypes();
uint16_t typeCode(std::string_view mnemonic);

struct Asked {
  std::string name;  // as sent (case kept)
  std::string type;
  bool tcp = false;
  Reply reply;       // reply.ok false: no reply (timeout) or undecodable
  std::string what() const;  // "NAME TYPE udp|tcp -> RCODE flags [answers] [authority]"
};

// One query for every name x type, over UDP and/or TCP (UDP first for each pair), with the RD
// bit and distinct IDs, from the loopback address `source`. Sequential: each reply is in before
// the next query leaves.
std::vector<Asked> askAll(uint16_t port, const std::vector<std::string>& names,
                          const std::vector<std::string>& types, bool udp = true, bool tcp = true,
                          const std::string& source = "127.0.0.1");

// Names the upstream received at or under any of `zones` (health checks of "." are not under
// any zone but "."), each as "name TYPE udp|tcp".
std::vector<std::string> seenUnder(const FakeUpstream& upstream, const std::vector<std::string>& zones);
// Whether the upstream received `name` (case-insensitive); `type` 0 matches any type; `tcp`
// -1 any transport, 0 UDP, 1 TCP.
bool saw(const FakeUpstream& upstream, std::string_view name, uint16_t type = 0, int tcp = -1);
std::string everythingSeen(const FakeUpstream& upstream);

// Owner (canonical) of the first SOA in the authority section, "" when there is none.
std::string soaOwner(const Reply& r);

// What a reply must look like. Each check returns "" when it holds, else why not.
struct Expect {
  enum class Kind : uint8_t {
    Data,      // NOERROR, AA, an answer record containing `text`
    NoData,    // NOERROR, AA, no answers; an SOA owned by `zone` unless `zone` is empty
    Miss,      // NXDOMAIN, AA, no answers, an SOA owned by `zone` (the private answer)
    Negative,  // NXDOMAIN or NOERROR, AA, no answers, an SOA owned by a zone containing the name
    Refused,   // REFUSED
    Local,     // NOERROR or NXDOMAIN with AA (answered on the box; content not asserted)
    Forwarded, // NOERROR from the upstream (RA set by the fake), A answers 192.0.2.1
  };
  Kind kind = Kind::Local;
  std::string zone;  // Miss, NoData
  std::string text;  // Data
};
Expect data(std::string text);
Expect nodata(std::string zone = "");
Expect miss(std::string zone);
Expect negative();
Expect refused();
Expect local();
Expect forwarded();

std::string check(const Asked& a, const Expect& e);

std::string join(const std::vector<std::string>& parts, std::string_view sep = "\n  ");

// Asks every name in `names` with every qtype over UDP and TCP from `source`; each reply must
// be the private answer of the name's deepest private zone (refused for names under
// `refusing`), and none of `upstreams` may have seen anything under a private zone.
void expectBlocked(uint16_t port, const std::vector<std::string>& names,
                   const std::vector<std::string>& declared,
                   const std::vector<const FakeUpstream*>& upstreams, const std::string& refusing = "",
                   const std::string& source = "127.0.0.1");

// Public names asked from `source` reach `upstream` over both transports and its answers come
// back.
void expectForwarded(uint16_t port, const std::vector<std::string>& names,
                     const FakeUpstream& upstream, const std::string& source = "127.0.0.1");

}  // namespace moat::testing::leak
