// Fuzz target: the log plugin's format language. The first byte picks one of a few fixed
// queries (transport, client family, EDNS, the reply the chain left) and the duration; the rest
// is the format as a Corefile gives it ({common}/{combined} expanded, then compiled), and a line
// is written for the query.
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/log/format.hpp"

namespace {

using namespace moat;

struct Case {
  const char* name;
  uint16_t type;
  dns::Proto proto;
  bool v6;
  std::optional<uint16_t> edns;
  bool dnssecOk;
  dns::RCode rcode;
  int answers;  // -1: the chain wrote nothing
};

const Case kCases[] = {
    {"example.org.", dns::rrtype::A, dns::Proto::Udp, false, std::nullopt, false,
     dns::RCode::NoError, 1},
    {"WWW.Example.ORG.", dns::rrtype::AAAA, dns::Proto::Tcp, true, 1232, true,
     dns::RCode::NXDomain, 0},
    {"a\\.b\\\\c\\000.example.", 65535, dns::Proto::Udp, true, 512, false, dns::RCode::ServFail,
     -1},
    {".", dns::rrtype::SOA, dns::Proto::Udp, false, 4096, false, dns::RCode::Refused, 3},
};

const std::vector<std::unique_ptr<dns::Query>>& queries() {
  static const auto all = [] {
    std::vector<std::unique_ptr<dns::Query>> out;
    for (const Case& c : kCases) {
      auto q = std::make_unique<dns::Query>();
      const dns::WireName name = *dns::nameFromText(c.name);
      const auto packet =
          fuzz::makeQuery(name, c.type, dns::rrclass::IN, 0xbeef, c.edns, c.dnssecOk);
      FUZZ_CHECK(fuzz::loadQuery(*q, packet, c.proto, c.v6));
      if (c.v6) {  // a link-local client with a zone, printed as [fe80::1%lo]
        auto& a = reinterpret_cast<sockaddr_in6&>(q->client.addr);
        inet_pton(AF_INET6, "fe80::1", &a.sin6_addr);
        a.sin6_scope_id = 1;
      }
      if (c.answers >= 0) {
        dns::MessageWriter w(q->reply);
        w.startReply(q->requestBytes(), q->view, c.rcode, true);
        const uint8_t addr[4] = {192, 0, 2, 1};
        for (int i = 0; i < c.answers; ++i) {
          w.addRR(dns::Section::Answer, name, dns::rrtype::A, dns::rrclass::IN, 60, addr);
        }
      }
      out.push_back(std::move(q));
    }
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t pick = in.byte();
  const dns::Query& q = *queries()[pick % std::size(kCases)];
  static constexpr std::chrono::nanoseconds kDurations[] = {
      std::chrono::nanoseconds(0), std::chrono::nanoseconds(183921), std::chrono::seconds(2),
      std::chrono::nanoseconds(-5'000'000), std::chrono::hours(24 * 365 * 30)};
  const auto now = q.start + kDurations[(pick >> 4) % std::size(kDurations)];

  const std::string source = plugins::log::expandShortcuts(in.rest());
  const plugins::log::Format format = plugins::log::compileFormat(source);
  FUZZ_CHECK(format.source == source);

  fmt::memory_buffer out;
  plugins::log::formatEntry(format, q, now, out);
  const std::string_view line(out.data(), out.size());
  FUZZ_CHECK(line.starts_with("[INFO] "));

  // A format without a placeholder prints as written.
  bool literal = true;
  std::string joined;
  for (const plugins::log::Segment& s : format.segments) {
    literal = literal && s.field == plugins::log::Field::Literal;
    joined += s.text;
  }
  if (literal) FUZZ_CHECK(joined == source && line.substr(7) == source);
  return 0;
}
