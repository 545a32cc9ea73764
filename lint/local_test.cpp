// local in lint: its options checked as the server checks them, and its place in the chain.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("local: CoreDNS's README Corefile and both localhost_prefix values lint clean") {
  TempDir dir;
  for (const std::string corefile : {". {\n    local\n}\n",
                                     ". {\n    local {\n        localhost_prefix off\n    }\n    whoami\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("local: a misspelt option is named at its place with a suggestion") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  local {\n    localhost_prefx off\n  }\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto invalid = withRule(findings, "option/unknown");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 3);
  CHECK(invalid[0].pos.col == 5);
  CHECK(invalid[0].message.find("did you mean 'localhost_prefix'") != std::string::npos);
}

TEST_CASE("local: written after forward, it still runs first (order/written)") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.1\n  local\n}\n");
  CAPTURE(describe(findings));
  auto order = withRule(findings, "order/written");
  REQUIRE(order.size() == 1);
  CHECK(order[0].pos.line == 3);
}

}  // namespace
}  // namespace moat::lint::testing
