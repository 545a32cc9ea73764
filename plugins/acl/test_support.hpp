// Helpers shared by the acl tests: a handler built from a Corefile snippet, and one query from a
// chosen client address through it, the reply decoded.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugins/acl/acl.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/plugin_test_util.hpp"

namespace moat::plugins::acl::testing {

// The `acl` stanzas of the first block of `corefile`, as the runtime would set them up for a
// block serving `zones` (the Corefile text is kept alive beside the handler).
struct Built {
  moat::testing::Parsed parsed;
  std::vector<conf::Diag> warnings;
  std::shared_ptr<Acl> handler;
};

inline std::unique_ptr<Built> build(std::string_view corefile, std::vector<std::string> zones = {"."},
                                    size_t workers = 1, std::string view = "") {
  auto b = std::make_unique<Built>();
  b->parsed = moat::testing::stanzasOf(corefile, "acl");
  auto config = parseConfig(b->parsed.stanzas, zones, &b->warnings);
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? std::string() : config.error().str()));
  b->handler = std::make_shared<Acl>(std::move(*config), workers, "dns://:53", std::move(view));
  return b;
}

// The error of a Corefile snippet whose acl does not parse, as "file:line:col: message".
inline std::string parseError(std::string_view corefile) {
  auto parsed = moat::testing::stanzasOf(corefile, "acl");
  auto config = parseConfig(parsed.stanzas, {"."}, nullptr);
  REQUIRE_FALSE(config.ok());
  return config.error().str();
}

struct Asked {
  Verdict verdict = Verdict::Next;
  moat::testing::Reply reply;  // decoded when answered
  std::vector<uint8_t> wire;
};

struct Ask {
  std::string name = "example.org.";
  uint16_t type = dns::rrtype::A;
  std::string client = "127.0.0.1";
  std::optional<uint16_t> edns;  // the client's OPT UDP size, none by default
  bool dnssecOk = false;
  unsigned worker = 0;
};

inline Asked ask(Acl& handler, const Ask& a) {
  dns::Query q;
  moat::testing::QuerySpec spec;
  spec.name = a.name;
  spec.type = a.type;
  spec.edns = a.edns;
  spec.dnssecOk = a.dnssecOk;
  moat::testing::loadQuery(q, moat::testing::makeQuery(spec), dns::Proto::Udp, a.client);
  q.worker = a.worker;
  Asked out;
  out.verdict = handler.onQuery(q);
  out.wire = q.reply;
  if (out.verdict == Verdict::Answered) {
    out.reply = moat::testing::decode(q.reply);
    REQUIRE(out.reply.ok);
  }
  return out;
}

}  // namespace moat::plugins::acl::testing
