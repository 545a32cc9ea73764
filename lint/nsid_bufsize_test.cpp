// nsid and bufsize in lint: what the server would say at start, every finding at its place.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("nsid and bufsize: CoreDNS's README Corefiles lint clean of config findings") {
  TempDir dir;
  dir.write("db.example.org", "$TTL 300\n. IN SOA ns.example.org. h.example.org. 1 7200 3600 1209600 300\n"
                              ". IN NS ns.example.org.\nns.example.org. IN A 192.0.2.53\n");
  for (const std::string corefile : {"example.org {\n    whoami\n    nsid Use The Force\n}\n",
                                     ". {\n    bufsize 1220\n    file db.example.org\n    log\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "config/warning"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("nsid and bufsize: bad options, a second nsid and a second bufsize, each at its place") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  nsid a\n  nsid b\n  bufsize 9000\n  whoami\n}\n"
                                "example.org {\n  bufsize 1100\n  bufsize 1400\n  nsid x {\n  }\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto duplicate = withRule(findings, "directive/duplicate");
  REQUIRE(duplicate.size() == 1);
  CHECK(duplicate[0].pos.line == 3);
  auto invalid = withRule(findings, "config/invalid");
  REQUIRE(invalid.size() == 2);
  CHECK(invalid[0].pos.line == 4);
  CHECK(invalid[0].pos.col == 11);
  CHECK(invalid[0].message.find("from 512 to 4096, got '9000'") != std::string::npos);
  CHECK(invalid[1].pos.line == 10);
  CHECK(invalid[1].message.find("'nsid' takes no block") != std::string::npos);
  auto ignored = withRule(findings, "config/warning");
  REQUIRE(ignored.size() == 1);
  CHECK(ignored[0].pos.line == 9);
  CHECK(ignored[0].severity == Severity::Warning);
}

}  // namespace
}  // namespace moat::lint::testing
