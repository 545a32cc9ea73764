// view/shadowed, view/never, view/split-horizon-leak and acl/unreachable-rule; block/duplicate
// with views.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

std::string viewBlock(const std::string& name, const std::string& expr, const std::string& body) {
  return ".:1053 {\n  bind 127.0.0.1\n  view " + name + " {\n    expr " + expr + "\n  }\n" + body + "}\n";
}

TEST_CASE("block/duplicate: blocks with a view share a zone and port with any others") {
  TempDir dir;
  const std::string corefile = viewBlock("a", "incidr(client_ip(), '10.0.0.0/8')", "  whoami\n") +
                               viewBlock("b", "incidr(client_ip(), '192.168.0.0/16')", "  whoami\n") +
                               ".:1053 {\n  bind 127.0.0.1\n  whoami\n}\n";
  const auto findings = lintText(dir, corefile);
  CAPTURE(describe(findings));
  CHECK_FALSE(hasRule(findings, "block/duplicate"));
  CHECK_FALSE(hasRule(findings, "view/shadowed"));
  // Two without a view still clash.
  CHECK(hasRule(lintText(dir, corefile + ".:1053 {\n  bind 127.0.0.1\n  whoami\n}\n"), "block/duplicate"));
}

TEST_CASE("view/shadowed: after a block without a view, or after a broader client view") {
  TempDir dir;
  SUBCASE("a view-less block first takes every query") {
    const auto findings = lintText(dir, ".:1053 {\n  bind 127.0.0.1\n  whoami\n}\n" +
                                            viewBlock("office", "incidr(client_ip(), '10.0.0.0/8')", "  whoami\n"));
    const auto shadowed = withRule(findings, "view/shadowed");
    REQUIRE(shadowed.size() == 1);
    CHECK(shadowed[0].pos.line == 7);
    CHECK(shadowed[0].severity == Severity::Warning);
    CHECK(shadowed[0].message.find("view office never takes a query for zone . on port 1053: the block without a view at") != std::string::npos);
  }
  SUBCASE("an earlier view that takes in every network of the later one") {
    const auto findings = lintText(
        dir, viewBlock("lan", "incidr(client_ip(), '10.0.0.0/8') || incidr(client_ip(), '::1/128')", "  whoami\n") +
                 viewBlock("office", "incidr(client_ip(), '10.1.0.0/16')", "  whoami\n") +
                 viewBlock("typed", "incidr(client_ip(), '10.2.0.0/16')\n    expr type() == 'A'", "  whoami\n") +
                 viewBlock("other", "incidr(client_ip(), '192.168.0.0/16')", "  whoami\n"));
    CAPTURE(describe(findings));
    const auto shadowed = withRule(findings, "view/shadowed");
    REQUIRE(shadowed.size() == 2);  // office and typed; other is not inside lan
    CHECK(shadowed[0].message.find("view office never takes a query") != std::string::npos);
    CHECK(shadowed[0].message.find("view lan at") != std::string::npos);
    CHECK(shadowed[1].message.find("view typed") != std::string::npos);
  }
  SUBCASE("not when the earlier view also asks for something else") {
    const auto findings = lintText(
        dir, viewBlock("lan", "incidr(client_ip(), '10.0.0.0/8')\n    expr type() == 'A'", "  whoami\n") +
                 viewBlock("office", "incidr(client_ip(), '10.1.0.0/16')", "  whoami\n"));
    CHECK_FALSE(hasRule(findings, "view/shadowed"));
  }
}

TEST_CASE("view/never: client networks that do not meet") {
  TempDir dir;
  const auto findings = lintText(
      dir, viewBlock("nobody", "incidr(client_ip(), '10.0.0.0/8')\n    expr incidr(client_ip(), '192.168.0.0/16')",
                     "  whoami\n") +
               viewBlock("some", "incidr(client_ip(), '10.0.0.0/8')\n    expr incidr(client_ip(), '10.3.0.0/16')",
                         "  whoami\n"));
  const auto never = withRule(findings, "view/never");
  REQUIRE(never.size() == 1);
  CHECK(never[0].pos.line == 3);
  CHECK(never[0].message.find("view nobody can never take a query") != std::string::npos);
}

// The office answers internal.company from hosts; guests and everyone else forward.
std::string splitHorizon(const TempDir& dir, const std::string& guestsExtra, const std::string& extra = "") {
  dir.write("office.hosts", "10.0.0.5 api.internal.company\n");
  return viewBlock("office", "incidr(client_ip(), '127.0.0.2/32')",
                   extra + "  hosts @DIR@/office.hosts {\n    fallthrough\n  }\n  forward . 192.0.2.53\n") +
         viewBlock("guests", "incidr(client_ip(), '127.0.0.3/32')", guestsExtra + "  forward . 192.0.2.53\n") +
         ".:1053 {\n  bind 127.0.0.1\n  forward . 192.0.2.53\n}\n";
}

TEST_CASE("view/split-horizon-leak: another view forwards what one view answers locally") {
  TempDir dir;
  SUBCASE("guests and everyone else send internal.company upstream") {
    const auto leaks = withRule(lintText(dir, splitHorizon(dir, "")), "view/split-horizon-leak");
    REQUIRE(leaks.size() == 2);
    CHECK(leaks[0].severity == Severity::Error);
    CHECK(leaks[0].pos.line == 16);
    CHECK(leaks[0].message.find("view guests forwards names under internal.company. upstream (forward . 192.0.2.53), "
                                "while view office answers them locally from hosts") != std::string::npos);
    CHECK(leaks[0].message.find("e.g. api.internal.company.") != std::string::npos);
    CHECK(leaks[0].message.find("Fix: `private internal.company`") != std::string::npos);
    CHECK(leaks[1].message.find("the block without a view at") != std::string::npos);
  }
  SUBCASE("private keeps it in for every view") {
    const auto findings = lintText(dir, splitHorizon(dir, "", "  private internal.company\n"));
    CHECK_FALSE(hasRule(findings, "view/split-horizon-leak"));
  }
  SUBCASE("an acl refusing the zone in the guests' view leaves only everyone else") {
    const auto leaks = withRule(lintText(dir, splitHorizon(dir, "  acl internal.company {\n    block\n  }\n")),
                                "view/split-horizon-leak");
    REQUIRE(leaks.size() == 1);
    CHECK(leaks[0].message.find("the block without a view") != std::string::npos);
  }
}

TEST_CASE("acl/unreachable-rule: lines after one that matches everything") {
  TempDir dir;
  const auto findings = lintText(dir, ". {\n  acl {\n    allow\n    block net 10.0.0.0/8\n    drop type ANY\n  }\n"
                                      "  acl example.org {\n    block type * net *\n    allow\n  }\n"
                                      "  acl example.net {\n    block net 10.0.0.0/8\n    allow\n  }\n  whoami\n}\n");
  CAPTURE(describe(findings));
  const auto dead = withRule(findings, "acl/unreachable-rule");
  REQUIRE(dead.size() == 3);
  CHECK(dead[0].pos.line == 4);
  CHECK(dead[0].message.find("'allow' at") != std::string::npos);
  CHECK(dead[1].pos.line == 5);
  CHECK(dead[2].pos.line == 9);
  CHECK(dead[2].message.find("'block' at") != std::string::npos);
}

TEST_CASE("the split-horizon example is clean at --fail-on warning") {
  std::vector<Finding> findings;
  std::string why;
  REQUIRE(lintFile(std::string(MOAT_SOURCE_DIR) + "/conf/examples/split-horizon.Corefile", findings, why));
  for (const Finding& f : findings) {
    CAPTURE(f.message);
    CHECK(f.severity == Severity::Info);
  }
}

}  // namespace
}  // namespace moat::lint::testing
