// Helpers for the file tests: a zone written to a scratch directory, the handler set up from a
// Corefile snippet as the server would, and one query (DO bit optional) decoded.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>

#include "plugins/file/file.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/plugin_test_util.hpp"
#include "tests/support/server_process.hpp"

namespace moat::plugins::file::testing {

// A fresh directory under /tmp, removed with everything in it.
using ScratchDir = moat::testing::TempDir;

// The handler for `corefile` (one block), with relative paths resolved in `dir`.
struct Server {
  moat::testing::Parsed parsed;
  std::vector<conf::Diag> warnings;
  conf::Result<HandlerPtr> handler;

  Server(const ScratchDir& dir, std::string_view corefile)
      : parsed(moat::testing::stanzasOf(corefile, "file")), handler(setup(dir)) {}

  conf::Result<HandlerPtr> setup(const ScratchDir& dir) {
    SetupContext ctx;
    ctx.block = &parsed.file.blocks[0];
    for (const auto& key : parsed.file.blocks[0].keys) {
      std::string zone = key.text;
      if (zone.back() != '.') zone += '.';
      ctx.zones.push_back(zone);
    }
    ctx.stanzas = parsed.stanzas;
    ctx.baseDir = dir.path();
    ctx.warnings = &warnings;
    return setupFile(ctx);
  }
  File& file() {
    REQUIRE_MESSAGE(handler.ok(), (handler.ok() ? "" : handler.error().str()));
    return static_cast<File&>(**handler);
  }
};

struct Asked {
  Verdict verdict = Verdict::Drop;
  moat::testing::Reply reply;
  bool nameExists = false;
};

inline Asked ask(Handler& handler, const std::string& name, uint16_t type, bool dnssecOk = false) {
  dns::Query q;
  moat::testing::QuerySpec spec;
  spec.name = name;
  spec.type = type;
  if (dnssecOk) {
    spec.edns = 4096;
    spec.dnssecOk = true;
  }
  moat::testing::loadQuery(q, moat::testing::makeQuery(spec));
  Asked out;
  out.verdict = handler.onQuery(q);
  out.nameExists = q.nameExists;
  if (out.verdict == Verdict::Answered) {
    out.reply = moat::testing::decode(q.reply);
    REQUIRE(out.reply.ok);
  }
  return out;
}

// "owner TYPE rdata" of each line (TTL and class left out), for compact checks.
inline std::vector<std::string> brief(const std::vector<std::string>& rrs) {
  std::vector<std::string> out;
  for (const std::string& rr : rrs) {
    std::istringstream in(rr);
    std::string owner, ttl, klass, type, rest;
    in >> owner >> ttl >> klass >> type;
    std::getline(in, rest);
    while (!rest.empty() && rest.front() == ' ') rest.erase(rest.begin());
    out.push_back(owner + " " + type + (rest.empty() ? "" : " " + rest));
  }
  return out;
}

}  // namespace moat::plugins::file::testing
