// Helpers shared by the private tests: a whole Corefile's `private` stanzas built into
// PrivateZones as the runtime does, a handler over them, and one query through it with the
// knobs earlier plugins set (nameExists, egressBlocked), decoded.
#pragma once

#include "tests/support/plugin_test_util.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "conf/zone.hpp"
#include "plugins/private/answer.hpp"
#include "plugins/private/private.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::private_zone::testing {

// Every block's `private` stanzas with that block's zones, in file order.
inline conf::Result<PrivateZonesPtr> build(std::string_view corefile) {
  auto cf = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? std::string() : cf.error().str()));
  std::vector<StanzaInput> stanzas;
  for (const conf::ServerBlock& block : cf->blocks) {
    std::vector<std::string> zones;
    for (const conf::Token& key : block.keys) {
      auto parsed = conf::parseServerKey(key, 53);
      REQUIRE(parsed.ok());
      for (const conf::ServerKey& k : *parsed) zones.push_back(k.zone);
    }
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "private") stanzas.push_back({&d, zones});
    }
  }
  return buildPrivateZones(stanzas);  // copies what it keeps: `cf` may go
}

inline PrivateZonesPtr zonesOf(std::string_view corefile) {
  auto zones = build(corefile);
  REQUIRE_MESSAGE(zones.ok(), (zones.ok() ? std::string() : zones.error().str()));
  return *zones;
}

inline std::string errorOf(std::string_view corefile) {
  auto zones = build(corefile);
  REQUIRE_FALSE(zones.ok());
  return zones.error().str();
}

// The zone a name falls in, by text; null when it is not private.
inline const PrivateZone* zoneOf(const PrivateZones& zones, std::string_view name) {
  auto wire = dns::nameFromText(name);
  REQUIRE(wire.has_value());
  dns::lowercaseInPlace(*wire);
  return zones.find(*wire);
}

inline size_t indexOf(const PrivateZones& zones, std::string_view zoneName) {
  for (size_t i = 0; i < zones.zones().size(); ++i) {
    if (zones.zones()[i].name == zoneName) return i;
  }
  FAIL("no private zone " << zoneName);
  return 0;
}

// What earlier plugins and the server left on the query before `private` saw it.
struct Ask {
  std::string name;
  uint16_t type = dns::rrtype::A;
  uint16_t klass = dns::rrclass::IN;
  bool rd = true;
  bool nameExists = false;
  std::string_view egressBlocked;
  unsigned worker = 0;
  std::chrono::steady_clock::time_point start{};
  dns::Trace* trace = nullptr;
};

struct Result {
  Verdict verdict = Verdict::Drop;
  moat::testing::Reply reply;
};

inline Result ask(PrivateAnswer& handler, const Ask& a) {
  auto q = std::make_unique<dns::Query>();
  moat::testing::QuerySpec spec;
  spec.name = a.name;
  spec.type = a.type;
  spec.klass = a.klass;
  spec.rd = a.rd;
  moat::testing::loadQuery(*q, moat::testing::makeQuery(spec));
  q->nameExists = a.nameExists;
  q->egressBlocked = a.egressBlocked;
  q->worker = a.worker;
  q->start = a.start;
  q->trace = a.trace;
  Result out;
  out.verdict = handler.onQuery(*q);
  if (out.verdict == Verdict::Answered) {
    out.reply = moat::testing::decode(q->reply);
    REQUIRE(out.reply.ok);
  }
  return out;
}

}  // namespace moat::plugins::private_zone::testing
