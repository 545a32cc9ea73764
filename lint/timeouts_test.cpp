// timeouts in lint: its options checked as the server checks them.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("timeouts: the README's Corefiles lint without errors, a bad option at its place") {
  TempDir dir;
  for (const std::string corefile :
       {".:1053 {\n    timeouts {\n        read 15s\n        write 30s\n    }\n    whoami\n}\n",
        ". {\n    timeouts {\n        maxtcpqueries 128\n    }\n    whoami\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
  auto bad = lintText(dir, ". {\n    timeouts {\n        idel 5s\n    }\n    whoami\n}\n");
  CAPTURE(describe(bad));
  auto invalid = withRule(bad, "option/unknown");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 3);
  CHECK(invalid[0].pos.col == 9);
  CHECK(invalid[0].message.find("did you mean 'idle'") != std::string::npos);
}

}  // namespace
}  // namespace moat::lint::testing
