#include "plugins/secondary/config.hpp"

#include <doctest/doctest.h>

#include "tests/support/plugin_test_util.hpp"

using namespace moat;
using namespace moat::plugins::secondary;

namespace {

conf::Result<SecondaryConfig> parse(std::string_view corefile, std::vector<std::string> blockZones = {"example.org."}) {
  static moat::testing::Parsed parsed;  // the stanzas point into it
  parsed = moat::testing::stanzasOf(corefile, "secondary");
  plugins::SetupContext ctx;
  ctx.block = &parsed.file.blocks[0];
  ctx.zones = std::move(blockZones);
  ctx.stanzas = parsed.stanzas;
  return parseSecondary(ctx);
}

}  // namespace

TEST_CASE("config: zones from the block or the arguments, primaries with default port 53") {
  auto cfg = parse("example.org {\n  secondary {\n    transfer from 192.0.2.1 [2001:db8::1]:5300 192.0.2.2:1053\n  }\n}\n");
  REQUIRE(cfg.ok());
  REQUIRE(cfg->zones.size() == 1);
  CHECK(cfg->zones[0].origin == "example.org.");
  REQUIRE(cfg->zones[0].primaries.size() == 3);
  CHECK(cfg->zones[0].primaries[0].text == "192.0.2.1:53");
  CHECK(cfg->zones[0].primaries[1].text == "[2001:db8::1]:5300");
  CHECK(cfg->zones[0].primaries[2].address.port() == 1053);
  CHECK_FALSE(cfg->fall.enabled());

  auto two = parse(". {\n  secondary a.example B.example {\n    transfer from 192.0.2.1\n    transfer from 192.0.2.9\n"
                   "    fallthrough\n  }\n}\n",
                   {"."});
  REQUIRE(two.ok());
  REQUIRE(two->zones.size() == 2);
  CHECK(two->zones[1].origin == "b.example.");
  CHECK(two->zones[1].primaries.size() == 2);  // `transfer from` may be given more than once
  CHECK(two->fall.enabled());
}

TEST_CASE("config: errors name file:line:col and what was expected") {
  struct Case {
    const char* corefile;
    const char* where;
    const char* says;
  };
  const Case cases[] = {
      {"example.org {\n  secondary\n}\n", "Corefile:2:3", "require a 'transfer from ADDRESS'"},
      {"example.org {\n  secondary {\n    fallthrough\n  }\n}\n", "Corefile:2:3", "require a 'transfer from"},
      {"example.org {\n  secondary {\n    transfer\n  }\n}\n", "Corefile:3:5", "expected 'transfer from"},
      {"example.org {\n  secondary {\n    transfer from\n  }\n}\n", "Corefile:3:14", "at least one ADDRESS"},
      {"example.org {\n  secondary {\n    transfer to 192.0.2.1\n  }\n}\n", "Corefile:3:14", "use the transfer plugin"},
      {"example.org {\n  secondary {\n    transfer sideways 192.0.2.1\n  }\n}\n", "Corefile:3:14", "unknown property"},
      {"example.org {\n  secondary {\n    transfer from *\n  }\n}\n", "Corefile:3:19", "can't use '*'"},
      {"example.org {\n  secondary {\n    transfer from 192.0.2.1 ns1.example.net\n  }\n}\n", "Corefile:3:29",
       "not an IP address"},
      {"example.org {\n  secondary {\n    transfer from 192.0.2.1:99999\n  }\n}\n", "Corefile:3:19", "not an IP address"},
      {"example.org {\n  secondary {\n    transfer from 192.0.2.1\n    catalog\n  }\n}\n", "Corefile:4:5",
       "catalog zones"},
      {"example.org {\n  secondary {\n    transfer from 192.0.2.1\n    upstrem\n  }\n}\n", "Corefile:4:5",
       "unknown option"},
      {"example.org {\n  secondary {\n    transfer from 192.0.2.1\n  }\n  secondary {\n    transfer from 192.0.2.2\n"
       "  }\n}\n",
       "Corefile:5:3", "pulled twice"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    auto cfg = parse(c.corefile);
    REQUIRE_FALSE(cfg.ok());
    const std::string text = cfg.error().str();
    CAPTURE(text);
    CHECK(text.find(c.where) == 0);
    CHECK(text.find(c.says) != std::string::npos);
  }
}
