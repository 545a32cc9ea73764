// Helpers shared by the log plugin's tests: queries loaded as the server would, replies built
// by hand, and stanzas read from inline Corefiles.
#pragma once

// Tests spell queries with designated initializers ({.name = ..., .id = ...}); GCC's -Wextra
// would flag every field left at its default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <doctest/doctest.h>

#include "tests/support/plugin_test_util.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::log::test {

inline dns::WireName wire(std::string_view name) {
  auto w = dns::nameFromText(name);
  REQUIRE(w.has_value());
  return *w;
}

inline std::unique_ptr<dns::Query> query(const testing::QuerySpec& spec,
                                         dns::Proto proto = dns::Proto::Udp,
                                         std::string_view ip = "127.0.0.1", uint16_t port = 40000) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery(spec), proto, ip, port);
  return q;
}

// Reply with `rcode`, AA, and one A record per address given (owner = the question).
inline void answerA(dns::Query& q, dns::RCode rcode = dns::RCode::NoError, int records = 1) {
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, rcode, true);
  std::span<const uint8_t> owner = {q.request.data() + q.view.question.nameOffset,
                                    q.view.question.nameLen};
  const uint8_t addr[4] = {192, 0, 2, 1};
  for (int i = 0; i < records; ++i) {
    w.addRR(dns::Section::Answer, owner, dns::rrtype::A, dns::rrclass::IN, 3600, addr);
  }
}

// Stanzas of `directive` in the first block of an inline Corefile.
using moat::testing::Parsed;
using moat::testing::stanzasOf;

using Clock = std::chrono::steady_clock;

}  // namespace moat::plugins::log::test
