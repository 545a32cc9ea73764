// dns64 in lint: its options checked as the server checks them, and its place in the chain.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("dns64: the README's Corefiles lint clean") {
  TempDir dir;
  for (const std::string corefile :
       {". {\n    dns64\n    whoami\n}\n", ". {\n    dns64 64:1337::/96\n    whoami\n}\n",
        ". {\n    dns64 {\n        prefix 64:1337::/96\n        translate_all\n        allow_ipv4\n    }\n    whoami\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "option/unknown"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("dns64: a misspelt option and a prefix RFC 6052 does not define, at their places") {
  TempDir dir;
  auto typo = lintText(dir, ". {\n  dns64 {\n    translate_al\n  }\n  whoami\n}\n");
  CAPTURE(describe(typo));
  auto unknown = withRule(typo, "option/unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].pos.line == 3);
  CHECK(unknown[0].pos.col == 5);
  CHECK(unknown[0].message.find("did you mean 'translate_all'") != std::string::npos);

  auto prefix = lintText(dir, ". {\n  dns64 64:ff9b::/80\n  whoami\n}\n");
  CAPTURE(describe(prefix));
  auto invalid = withRule(prefix, "config/invalid");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 2);
  CHECK(invalid[0].pos.col == 9);
  CHECK(invalid[0].message.find("RFC 6052") != std::string::npos);
}

TEST_CASE("dns64: written after forward, it still runs before it (order/written)") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.1\n  dns64\n}\n");
  CAPTURE(describe(findings));
  auto order = withRule(findings, "order/written");
  REQUIRE(order.size() == 1);
  CHECK(order[0].pos.line == 3);
}

}  // namespace
}  // namespace moat::lint::testing
