// autopath in lint: the README's Corefiles, its argument checked as the server checks it (the
// @kubernetes requirements included), and its place in the chain.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("autopath: the README's Corefiles lint clean") {
  TempDir dir;
  dir.write("my-resolv.conf", "search example.org example.com\n");
  dir.write("cluster.yaml", "apiVersion: v1\nkind: List\nitems: []\n");
  for (const std::string corefile :
       {". {\n    autopath @DIR@/my-resolv.conf\n    forward . 192.0.2.53\n}\n",
        ".:53 {\n    errors\n    autopath @kubernetes\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
        "        pods verified\n        objects @DIR@/cluster.yaml\n        fallthrough in-addr.arpa ip6.arpa\n"
        "    }\n    forward . 192.0.2.53\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "option/unknown"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("autopath: @kubernetes without pods verified, a misspelt @plugin, an option, at their places") {
  TempDir dir;
  auto insecure = lintText(dir, ". {\n  autopath @kubernetes\n  kubernetes cluster.local {\n    pods insecure\n  }\n}\n");
  CAPTURE(describe(insecure));
  auto invalid = withRule(insecure, "config/invalid");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 2);
  CHECK(invalid[0].pos.col == 12);
  CHECK(invalid[0].message.find("pods verified") != std::string::npos);

  auto alone = lintText(dir, ". {\n  autopath @kubernetes\n  whoami\n}\n");
  CAPTURE(describe(alone));
  REQUIRE(withRule(alone, "config/invalid").size() == 1);
  CHECK(withRule(alone, "config/invalid")[0].message.find("needs a kubernetes plugin") != std::string::npos);

  auto typo = lintText(dir, ". {\n  autopath @kubernete\n  kubernetes cluster.local {\n    pods verified\n  }\n}\n");
  CAPTURE(describe(typo));
  REQUIRE(withRule(typo, "config/invalid").size() == 1);
  CHECK(withRule(typo, "config/invalid")[0].message.find("did you mean '@kubernetes'") != std::string::npos);

  auto option = lintText(dir, ". {\n  autopath @kubernetes {\n    fallthrough\n  }\n  kubernetes cluster.local {\n    pods verified\n  }\n}\n");
  CAPTURE(describe(option));
  auto unknown = withRule(option, "option/unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].pos.line == 3);
}

TEST_CASE("autopath: written after forward, it still runs before it (order/written)") {
  TempDir dir;
  dir.write("r.conf", "search example.org\n");
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.1\n  autopath @DIR@/r.conf\n}\n");
  CAPTURE(describe(findings));
  auto order = withRule(findings, "order/written");
  REQUIRE(order.size() == 1);
  CHECK(order[0].pos.line == 3);
}

}  // namespace
}  // namespace moat::lint::testing
