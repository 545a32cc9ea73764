// template in lint: its options checked as the server checks them, and its place in the chain.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("template: CoreDNS's README Corefiles lint without invalid options") {
  TempDir dir;
  for (const std::string corefile :
       {". {\n    template ANY ANY {\n      rcode NXDOMAIN\n    }\n}\n",
        ". {\n    forward . 192.0.2.1\n    template ANY ANY invalid {\n      rcode NXDOMAIN\n      authority \"invalid. 60 "
        "{{ .Class }} SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)\"\n      ederror 21 \"Blocked\"\n    }\n}\n",
        ". {\n  template IN ANY foogle.com {\n    match \"^foogle\\.com\\.$\"\n    answer \"foogle.com 60 IN CNAME "
        "google.com\"\n  }\n  forward . 192.0.2.1\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "option/unknown"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("template: a misspelt option is named at its place with a suggestion") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  template IN A {\n    fallthruogh\n  }\n}\n");
  CAPTURE(describe(findings));
  auto invalid = withRule(findings, "option/unknown");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 3);
  CHECK(invalid[0].pos.col == 5);
  CHECK(invalid[0].message.find("did you mean 'fallthrough'") != std::string::npos);
}

TEST_CASE("template: a template that does not compile is invalid configuration at its column") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  template IN A {\n    answer \"{{ .Nmae }} A 1.2.3.4\"\n  }\n}\n");
  CAPTURE(describe(findings));
  auto invalid = withRule(findings, "config/invalid");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 3);
  CHECK(invalid[0].pos.col == 16);
}

TEST_CASE("template: written after forward, it still runs first (order/written)") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.1\n  template IN A example {\n    answer \"x. A 1.2.3.4\"\n  }\n}\n");
  CAPTURE(describe(findings));
  auto order = withRule(findings, "order/written");
  REQUIRE(order.size() == 1);
  CHECK(order[0].pos.line == 3);
}

}  // namespace
}  // namespace moat::lint::testing
