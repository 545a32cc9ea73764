// zone/*: a `file` zone checked line by line as named-checkzone would, and leak/private-delegation.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

const char* const kSoa = "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n";

TEST_CASE("zone/syntax and zone/no-soa: a zone that does not load is reported at its line, once") {
  TempDir dir;
  dir.write("db", std::string(kSoa) + "  IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.999\n");
  auto findings = lintText(dir, "example.org {\n    file @DIR@/db\n}\n");
  CAPTURE(describe(findings));
  auto syntax = withRule(findings, "zone/syntax");
  REQUIRE(syntax.size() == 1);
  CHECK(syntax[0].pos.file == dir.path() + "/db");
  CHECK(syntax[0].pos.line == 4);
  CHECK_FALSE(hasRule(findings, "config/invalid"));  // not again at the directive

  dir.write("db.example.org", "$ORIGIN example.org.\n" + std::string(kSoa));
  auto root = lintText(dir, ". {\n    file @DIR@/db.example.org\n}\n");
  CAPTURE(describe(root));
  auto noSoa = withRule(root, "zone/no-soa");
  REQUIRE(noSoa.size() == 1);
  CHECK(noSoa[0].message.find("name that zone") != std::string::npos);
}

TEST_CASE("zone/*: CNAME beside data, records outside the zone, missing glue, data below a cut") {
  TempDir dir;
  dir.write("db", std::string(kSoa) +
                      "  IN NS ns1\n"              // 2: ns1 has no address
                      "www IN CNAME web\n"         // 3
                      "www IN TXT \"x\"\n"         // 4
                      "web IN A 192.0.2.1\n"       // 5
                      "other.example.net. IN A 192.0.2.9\n"  // 6
                      "child IN NS ns.child\n"     // 7: glue missing
                      "child IN NS ns.elsewhere.net.\n"
                      "www.child IN A 192.0.2.7\n"  // 9: hidden below the cut
                  );
  auto findings = lintText(dir, "example.org {\n    file @DIR@/db\n}\n");
  CAPTURE(describe(findings));
  auto cname = withRule(findings, "zone/cname-and-other-data");
  REQUIRE(cname.size() == 1);
  CHECK(cname[0].pos.line == 3);
  auto outside = withRule(findings, "zone/out-of-zone");
  REQUIRE(outside.size() == 1);
  CHECK(outside[0].pos.line == 6);
  auto glue = withRule(findings, "zone/missing-glue");
  REQUIRE(glue.size() == 2);
  CHECK(glue[0].pos.line == 2);
  CHECK(glue[1].pos.line == 7);
  auto hidden = withRule(findings, "zone/below-delegation");
  REQUIRE(hidden.size() == 1);
  CHECK(hidden[0].pos.line == 9);

  dir.write("good", std::string(kSoa) + "  IN NS ns1\nns1 IN A 192.0.2.1\nchild IN NS ns.child\nns.child IN A 192.0.2.2\n");
  auto clean = lintText(dir, "example.org {\n    file @DIR@/good\n}\n");
  CAPTURE(describe(clean));
  for (const Finding& f : clean) CHECK(f.rule.rfind("zone/", 0) != 0);
}

TEST_CASE("leak/private-delegation: a private zone's name delegated to a server off the machine") {
  TempDir dir;
  dir.write("db", std::string(kSoa) +
                      "  IN NS ns1\nns1 IN A 127.0.0.1\n"
                      "team IN NS ns.team\nns.team IN A 10.1.2.3\n"
                      "lab IN NS ns.lab\nns.lab IN A 127.0.0.2\n");
  auto findings = lintText(dir, "internal.company {\n    private\n    file @DIR@/db\n}\n");
  CAPTURE(describe(findings));
  auto leak = withRule(findings, "leak/private-delegation");
  REQUIRE(leak.size() == 1);
  CHECK(leak[0].pos.line == 4);
  CHECK(leak[0].severity == Severity::Warning);
  CHECK_FALSE(hasRule(lintText(dir, "internal.company {\n    file @DIR@/db\n}\n"), "leak/private-delegation"));
}

}  // namespace
}  // namespace moat::lint::testing

namespace moat::lint::testing {
namespace {

TEST_CASE("plugin/unreachable: a file zone without fallthrough covering the block hides forward") {
  TempDir dir;
  dir.write("db", std::string(kSoa) + "  IN NS ns1\nns1 IN A 192.0.2.1\n");
  auto findings = lintText(dir, "example.org {\n    file @DIR@/db\n    forward . 192.0.2.53\n}\n");
  CAPTURE(describe(findings));
  auto dead = withRule(findings, "plugin/unreachable");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].pos.line == 3);
  auto fine = lintText(dir, "example.org {\n    file @DIR@/db {\n        fallthrough\n    }\n    forward . 192.0.2.53\n}\n");
  CHECK_FALSE(hasRule(fine, "plugin/unreachable"));
}

}  // namespace
}  // namespace moat::lint::testing
