// block/duplicate and http/address-clash.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("block/duplicate: the same zone and port twice, both positions named") {
  TempDir dir;
  auto findings = lintText(dir, "example.org {\n  whoami\n}\n\nexample.org:53 {\n  whoami\n}\n");
  auto dup = withRule(findings, "block/duplicate");
  REQUIRE(dup.size() == 1);
  CHECK(dup[0].severity == Severity::Error);
  CHECK(dup[0].pos.line == 5);
  CHECK(dup[0].message.find(":1:1") != std::string::npos);

  const char* fine[] = {
      "example.org {\n  whoami\n}\nexample.org:1053 {\n  whoami\n}\n",                     // port
      "example.org {\n  bind 127.0.0.1\n  whoami\n}\nexample.org {\n  bind 127.0.0.2\n  whoami\n}\n",  // bind
      "example.org {\n  whoami\n}\nsub.example.org {\n  whoami\n}\n",                       // zone
  };
  for (const char* corefile : fine) {
    CAPTURE(corefile);
    CHECK_FALSE(hasRule(lintText(dir, corefile), "block/duplicate"));
  }
}

TEST_CASE("http/address-clash: different kinds on one address, or on a DNS port") {
  TempDir dir;
  struct Case {
    const char* name;
    const char* corefile;
    uint32_t line;
  };
  const Case cases[] = {
      {"health and ready", ". {\n  health :8080\n  ready :8080\n  whoami\n}\n", 3},
      {"any and loopback", ". {\n  health :9153\n  prometheus\n  whoami\n}\n", 3},
      {"on the DNS port", ".:1053 {\n  health :1053\n  whoami\n}\n", 2},
      {"across blocks", ". {\n  ready :8080\n  whoami\n}\nexample.org {\n  health\n  whoami\n}\n", 6},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto findings = lintText(dir, c.corefile);
    CAPTURE(describe(findings));
    auto clash = withRule(findings, "http/address-clash");
    REQUIRE(clash.size() == 1);
    CHECK(clash[0].pos.line == c.line);
  }
  // The defaults, and the same health address in two blocks (one listener serves both).
  const char* fine[] = {
      ". {\n  health\n  ready\n  prometheus\n  whoami\n}\n",
      ". {\n  health :8080\n  whoami\n}\nexample.org {\n  health :8080\n  whoami\n}\n",
  };
  for (const char* corefile : fine) {
    CAPTURE(corefile);
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "http/address-clash"));
  }
}

}  // namespace
}  // namespace moat::lint::testing
