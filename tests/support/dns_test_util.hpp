// Test helpers: build query packets, load them into a Query as the server would, and decode
// replies with ldns (a real DNS library) into something easy to assert on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dns/query.hpp"
#include "dns/trace.hpp"

namespace moat::testing {

struct QuerySpec {
  std::string name;                 // "example.org." (case kept, trailing dot optional)
  uint16_t type = 1;                // A
  uint16_t klass = 1;               // IN
  uint16_t id = 0x1234;
  bool rd = true;
  std::optional<uint16_t> edns;     // EDNS UDP size; nullopt = no OPT
  bool dnssecOk = false;
};

std::vector<uint8_t> makeQuery(const QuerySpec& spec);

// Copies `packet` into `q` and parses it; the parse must succeed (CHECKed). Client defaults to
// 127.0.0.1:40000 over UDP.
void loadQuery(dns::Query& q, const std::vector<uint8_t>& packet, dns::Proto proto = dns::Proto::Udp,
               std::string_view clientIp = "127.0.0.1", uint16_t clientPort = 40000);

struct Reply {
  bool ok = false;            // ldns could decode it
  uint16_t id = 0;
  int rcode = -1;             // numeric
  bool qr = false, aa = false, tc = false, rd = false, ra = false;
  std::vector<std::string> answer, authority, additional;  // "owner ttl CLASS TYPE rdata" (ldns text, tabs -> spaces)
  bool hasOpt = false;
  uint16_t optUdpSize = 0;
  bool optDo = false;
  // The OPT's options as ldns decodes them: code and data, in order.
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> ednsOptions;
};

// The info code of the reply's extended DNS error option (RFC 8914, option 15), nullopt when
// there is none; `extraText` receives its text.
std::optional<uint16_t> extendedError(const Reply& reply, std::string* extraText = nullptr);

Reply decode(const std::vector<uint8_t>& wire);
Reply decode(const uint8_t* data, size_t len);

// A Trace that keeps each note as "handler: text", for tests of what `moat explain` prints.
struct TraceNotes final : dns::Trace {
  std::vector<std::string> lines;
  void note(std::string_view handler, std::string text) override {
    lines.push_back(std::string(handler) + ": " + text);
  }
  void outcome(std::string_view, std::string_view) override {}
};

}  // namespace moat::testing
