#include "plugins/transfer/config.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include "tests/support/plugin_test_util.hpp"

namespace moat::plugins::transfer {
namespace {

conf::Result<TransferConfig> parse(std::string_view corefile, std::vector<std::string> blockZones = {"example.org."}) {
  static moat::testing::Parsed parsed;  // the stanzas point into it
  parsed = moat::testing::stanzasOf(corefile, "transfer");
  SetupContext ctx;
  ctx.block = &parsed.file.blocks[0];
  ctx.zones = std::move(blockZones);
  ctx.stanzas = parsed.stanzas;
  return parseTransfer(ctx);
}

std::string error(std::string_view corefile) {
  auto r = parse(corefile);
  REQUIRE_FALSE(r.ok());
  return r.error().str();
}

dns::Endpoint endpoint(const char* text) {
  dns::Endpoint e;
  if (std::string_view(text).find(':') == std::string_view::npos) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&e.addr);
    sin->sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text, &sin->sin_addr) == 1);
    e.len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
    sin6->sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1);
    e.len = sizeof(sockaddr_in6);
  }
  return e;
}

TEST_CASE("transfer: zones come from the arguments or the block, addresses take optional ports") {
  auto cfg = parse("example.org {\n transfer {\n  to 10.0.0.1 1.2.3.4:5300\n  to 12:34::56 [12:34::56]:5300\n }\n}\n");
  REQUIRE(cfg.ok());
  REQUIRE(cfg->stanzas.size() == 1);
  const Stanza& s = cfg->stanzas[0];
  CHECK(s.zones == std::vector<std::string>{"example.org."});
  REQUIRE(s.to.size() == 4);
  CHECK(s.to[0].text() == "10.0.0.1:53");
  CHECK(s.to[1].text() == "1.2.3.4:5300");
  CHECK(s.to[2].text() == "[12:34::56]:53");
  CHECK(s.to[3].text() == "[12:34::56]:5300");
  CHECK_FALSE(s.anyone);
  CHECK_FALSE(s.source.has_value());

  auto two = parse(". {\n transfer a.example b.example {\n  to *\n  source 10.0.0.53\n }\n transfer {\n  to 10.0.0.2\n }\n}\n", {"."});
  REQUIRE(two.ok());
  REQUIRE(two->stanzas.size() == 2);
  CHECK(two->stanzas[0].zones == std::vector<std::string>{"a.example.", "b.example."});
  CHECK(two->stanzas[0].anyone);
  CHECK(two->stanzas[0].source == std::optional<std::string>("10.0.0.53"));
  CHECK(two->stanzas[1].zones == std::vector<std::string>{"."});
}

TEST_CASE("transfer: the longest zone wins, the first stanza among equals") {
  auto cfg = parse(". {\n transfer . {\n  to 10.0.0.1\n }\n transfer example.org {\n  to 10.0.0.2\n }\n"
                   " transfer example.org {\n  to 10.0.0.3\n }\n}\n", {"."});
  REQUIRE(cfg.ok());
  auto name = dns::nameFromText("example.org.");
  CHECK(cfg->match(*name) == &cfg->stanzas[1]);
  auto sub = dns::nameFromText("a.example.org.");
  CHECK(cfg->match(*sub) == &cfg->stanzas[1]);
  auto other = dns::nameFromText("example.net.");
  CHECK(cfg->match(*other) == &cfg->stanzas[0]);
}

TEST_CASE("transfer: mistakes are errors at file:line:col") {
  CHECK(error("example.org {\n transfer {\n }\n}\n") == "Corefile:2:2: transfer: 'to' is required");
  CHECK(error("example.org {\n transfer\n}\n") == "Corefile:2:2: transfer: 'to' is required");
  CHECK(error("example.org {\n transfer {\n  to example.net\n }\n}\n") ==
        "Corefile:3:6: transfer: 'to' must name an IP address, IP:port or '*', got 'example.net'");
  CHECK(error("example.org {\n transfer {\n  to 10.0.0.1:99999\n }\n}\n").starts_with("Corefile:3:6: transfer:"));
  CHECK(error("example.org {\n transfer {\n  to\n }\n}\n").starts_with("Corefile:3:3: transfer:"));
  CHECK(error("example.org {\n transfer {\n  to *\n  tsig key\n }\n}\n").starts_with("Corefile:4:3: transfer: unknown"));
  CHECK(error("example.org {\n transfer {\n  to *\n  source 10.0.0.1\n  source 10.0.0.2\n }\n}\n") ==
        "Corefile:5:3: transfer: source already specified");
  CHECK(error("example.org {\n transfer {\n  to *\n  source ns1\n }\n}\n") ==
        "Corefile:4:10: transfer: invalid source address 'ns1'");
  CHECK(error("example.org {\n transfer {\n  to *\n  source\n }\n}\n").starts_with("Corefile:4:3: transfer:"));
}

TEST_CASE("transfer: only listed addresses may transfer, whatever their port, * allows everyone") {
  auto cfg = parse("example.org {\n transfer {\n  to 127.0.0.1:5300 2001:db8::1\n }\n}\n");
  REQUIRE(cfg.ok());
  const Stanza& s = cfg->stanzas[0];
  CHECK(s.allows(endpoint("127.0.0.1")));
  CHECK(s.allows(endpoint("::ffff:127.0.0.1")));  // an IPv4 client on a dual-stack socket
  CHECK(s.allows(endpoint("2001:db8::1")));
  CHECK_FALSE(s.allows(endpoint("127.0.0.2")));
  CHECK_FALSE(s.allows(endpoint("2001:db8::2")));
  CHECK_FALSE(s.allows(dns::Endpoint{}));

  auto all = parse("example.org {\n transfer {\n  to *\n }\n}\n");
  REQUIRE(all.ok());
  CHECK(all->stanzas[0].allows(endpoint("203.0.113.9")));
}

}  // namespace
}  // namespace moat::plugins::transfer
