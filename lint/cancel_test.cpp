// cancel in lint: its argument checked as the server checks it.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("cancel: the README's Corefiles lint clean, a bad TIMEOUT at its place") {
  TempDir dir;
  for (const std::string corefile : {"example.org {\n    cancel\n    whoami\n}\n", "example.org {\n    cancel 1s\n    whoami\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
  auto bad = lintText(dir, "example.org {\n    cancel 5\n    whoami\n}\n");
  CAPTURE(describe(bad));
  auto invalid = withRule(bad, "config/invalid");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 2);
  CHECK(invalid[0].pos.col == 12);
}

}  // namespace
}  // namespace moat::lint::testing
