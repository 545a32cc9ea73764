// The `view` stanza: its syntax and errors, and what its filter admits.
#include <doctest/doctest.h>

#include "conf/parser.hpp"
#include "plugins/view/view.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::view {
namespace {

conf::Result<HandlerPtr> setup(const std::string& stanza) {
  auto parsed = conf::parseCorefile(". {\n" + stanza + "\n}\n", "Corefile");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().str()));
  static conf::Corefile keep;
  keep = std::move(*parsed);
  SetupContext ctx;
  ctx.block = &keep.blocks.front();
  ctx.zones = {"."};
  for (const auto& d : keep.blocks.front().directives) ctx.stanzas.push_back(&d);
  return setupView(ctx);
}

bool admitsFrom(const HandlerPtr& h, const std::string& client, uint16_t type = 1) {
  dns::Query q;
  moat::testing::loadQuery(q, moat::testing::makeQuery({.name = "www.example.org.", .type = type}),
                           dns::Proto::Udp, client, 40000);
  return std::dynamic_pointer_cast<View>(h)->admits(q);
}

TEST_CASE("view: every expr must hold, none admits everything") {
  auto both = setup("view office {\n  expr incidr(client_ip(), '10.0.0.0/8')\n  expr type() == 'A'\n}");
  REQUIRE(both.ok());
  CHECK(std::dynamic_pointer_cast<View>(*both)->viewName() == "office");
  CHECK(admitsFrom(*both, "10.1.2.3"));
  CHECK_FALSE(admitsFrom(*both, "10.1.2.3", 28));
  CHECK_FALSE(admitsFrom(*both, "192.0.2.1"));
  auto none = setup("view all");
  REQUIRE(none.ok());
  CHECK(admitsFrom(*none, "192.0.2.1"));
  // Anything but boolean true is false, as in CoreDNS: a string, or a failed function.
  auto text = setup("view t {\n  expr name()\n}");
  REQUIRE(text.ok());
  CHECK_FALSE(admitsFrom(*text, "10.1.2.3"));
}

TEST_CASE("view: syntax errors name their position") {
  struct Case {
    const char* stanza;
    const char* error;
  };
  const Case cases[] = {
      {"view", "Corefile:2:1: view: "},
      {"view a b", "Corefile:2:8: view: 'view' takes exactly 1 argument, got 2"},
      {"view a {\n  exp type() == 'A'\n}", "Corefile:3:3: view: unknown property 'exp'"},
      {"view a {\n  expr\n}", "Corefile:3:3: view: expr needs an expression"},
      {"view a {\n  expr type() == 'A' or\n}", "Corefile:3:24: view: expression: unexpected end"},
      {"view a {\n  expr name() matches '('\n}", "Corefile:3:23: view: expression: invalid regular expression"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.stanza);
    auto h = setup(c.stanza);
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().str().rfind(c.error, 0) == 0);
  }
}

}  // namespace
}  // namespace moat::plugins::view
