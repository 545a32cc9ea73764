// Helpers for plugin tests: a Corefile snippet to the stanzas a plugin's setup receives, and
// one query through a handler with the reply decoded. Header-only: plugin test binaries link
// conf and the plugin they test, which the test-support library does not.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "plugins/handler.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::testing {

// The parsed file (the stanzas point into it) and the first block's `directive` stanzas.
struct Parsed {
  conf::Corefile file;
  std::vector<const conf::Directive*> stanzas;
};

inline Parsed stanzasOf(std::string_view corefile, std::string_view directive) {
  auto cf = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? std::string() : cf.error().str()));
  Parsed p{std::move(*cf), {}};
  REQUIRE(!p.file.blocks.empty());
  for (const conf::Directive& d : p.file.blocks[0].directives) {
    if (d.name.text == directive) p.stanzas.push_back(&d);
  }
  return p;
}

struct Outcome {
  plugins::Verdict verdict = plugins::Verdict::Drop;
  Reply reply;                // decoded q.reply when answered
  std::vector<uint8_t> wire;  // q.reply as the handler left it
};

// Asks `handler` NAME/TYPE (UDP, no EDNS) and decodes what it answered.
inline Outcome ask(plugins::Handler& handler, const std::string& name, uint16_t type) {
  dns::Query q;
  QuerySpec spec;
  spec.name = name;
  spec.type = type;
  loadQuery(q, makeQuery(spec));
  Outcome out;
  out.verdict = handler.onQuery(q);
  out.wire = q.reply;
  if (out.verdict == plugins::Verdict::Answered) {
    out.reply = decode(q.reply);
    REQUIRE(out.reply.ok);
  }
  return out;
}

}  // namespace moat::testing
