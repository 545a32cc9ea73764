// One query from a chosen client address to the real server, summed up in a few words an
// assertion can compare: "REFUSED EDE 15", "NOERROR EDE 17", "SERVFAIL", "no reply". The EDE
// comes from the reply as ldns decodes it.
#pragma once

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/source_address.hpp"

namespace moat::testing {

struct ClientQuery {
  std::string from = "127.0.0.1";  // the client's address
  std::string to = "127.0.0.1";    // the server's
  std::string name = "example.org.";
  uint16_t type = 1;               // A
  bool tcp = false;
  std::optional<uint16_t> edns;
};

inline std::string rcodeText(int rcode) {
  static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
  return rcode >= 0 && rcode < 6 ? kNames[rcode] : "RCODE " + std::to_string(rcode);
}

// What the client got: the rcode name, then " EDE n" when an extended error came with it.
inline std::string summary(const std::vector<uint8_t>& wire) {
  if (wire.empty()) return "no reply";
  Reply r = decode(wire);
  if (!r.ok) return "undecodable reply";
  std::string out = rcodeText(r.rcode);
  if (auto ede = extendedError(r)) out += " EDE " + std::to_string(*ede);
  return out;
}

inline std::vector<uint8_t> exchangeFrom(uint16_t port, const ClientQuery& c) {
  QuerySpec spec;
  spec.name = c.name;
  spec.type = c.type;
  spec.edns = c.edns;
  const auto query = makeQuery(spec);
  return c.tcp ? tcpFrom(c.from, c.to, port, query) : udpFrom(c.from, c.to, port, query);
}

inline std::string askFrom(uint16_t port, const ClientQuery& c) { return summary(exchangeFrom(port, c)); }

}  // namespace moat::testing
