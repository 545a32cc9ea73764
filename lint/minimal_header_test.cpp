// minimal and header in lint: the READMEs' Corefiles are clean, mistakes are found at their place.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("minimal and header: CoreDNS's README Corefiles lint clean of config findings") {
  TempDir dir;
  for (const std::string corefile :
       {"example.org {\n    whoami\n    forward . 8.8.8.8\n    minimal\n}\n",
        ". {\n    header {\n        response set ra\n    }\n}\n",
        ". {\n    header {\n        response set ra aa\n        response clear rd\n    }\n}\n",
        ". {\n    header {\n        query set rd\n    }\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "config/warning"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("minimal and header: bad options each at its place") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  minimal now\n  whoami\n}\n"
                                "example.org {\n  header {\n    respnse set ra\n  }\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto invalid = withRule(findings, "config/invalid");
  REQUIRE(invalid.size() == 2);
  CHECK(invalid[0].pos.line == 2);
  CHECK(invalid[0].pos.col == 11);
  CHECK(invalid[1].pos.line == 7);
  CHECK(invalid[1].pos.col == 5);
  CHECK(invalid[1].message.find("did you mean 'response'?") != std::string::npos);
}

}  // namespace
}  // namespace moat::lint::testing
