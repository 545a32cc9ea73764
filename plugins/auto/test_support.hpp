// Helpers for the auto tests: the handler set up from a Corefile snippet as the server would
// (relative paths in a scratch directory), and small zone files with a chosen serial.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "plugins/auto/auto.hpp"
#include "plugins/file/test_support.hpp"

namespace moat::plugins::auto_zone::testing {

using file::testing::ScratchDir;

// A zone whose apex has `serial` and whose www has `address`.
inline std::string zoneText(const std::string& origin, uint32_t serial, const std::string& address = "192.0.2.1") {
  return "$ORIGIN " + origin + "\n$TTL 300\n@ IN SOA ns1 hostmaster " + std::to_string(serial) +
         " 7200 3600 1209600 300\n  IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A " + address + "\n";
}

struct AutoServer {
  moat::testing::Parsed parsed;
  std::vector<conf::Diag> warnings;
  conf::Result<HandlerPtr> handler;

  AutoServer(const ScratchDir& dir, std::string_view corefile)
      : parsed(moat::testing::stanzasOf(corefile, "auto")), handler(setup(dir.path())) {}

  conf::Result<HandlerPtr> setup(const std::string& baseDir) {
    SetupContext ctx;
    ctx.block = &parsed.file.blocks[0];
    for (const auto& key : parsed.file.blocks[0].keys) {
      std::string zone = key.text;
      if (zone.back() != '.') zone += '.';
      ctx.zones.push_back(zone);
    }
    ctx.stanzas = parsed.stanzas;
    ctx.baseDir = baseDir;
    ctx.warnings = &warnings;
    return setupAuto(ctx);
  }
  Auto& plugin() {
    REQUIRE_MESSAGE(handler.ok(), (handler.ok() ? "" : handler.error().str()));
    return static_cast<Auto&>(**handler);
  }
  std::string error() const { return handler.ok() ? "" : handler.error().str(); }
};

// The A records of `name` as "owner A address", or the rcode's name when not NOERROR.
inline std::vector<std::string> addresses(Handler& handler, const std::string& name) {
  auto asked = file::testing::ask(handler, name, dns::rrtype::A);
  if (asked.verdict == Verdict::Next) return {"next"};
  REQUIRE(asked.verdict == Verdict::Answered);
  if (asked.reply.rcode == 5) return {"REFUSED"};
  if (asked.reply.rcode == 3) return {"NXDOMAIN"};
  if (asked.reply.rcode == 2) return {"SERVFAIL"};
  return file::testing::brief(asked.reply.answer);
}

}  // namespace moat::plugins::auto_zone::testing
