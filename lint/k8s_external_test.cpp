// k8s_external in lint: its README Corefiles lint clean, each option checked as the server
// checks it, and the kubernetes plugin it needs in its block.
#include <fstream>
#include <sstream>

#include "lint/test_util.hpp"
#include "tests/support/readme_blocks.hpp"

namespace moat::lint::testing {
namespace {

std::vector<std::string> k8sExternalReadmeCorefiles() {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/plugins/k8s_external/README.md");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> out;
  for (const moat::testing::ReadmeBlock& b : moat::testing::readmeBlocks(text.str())) {
    if (b.lang != "corefile") continue;
    std::string corefile;
    for (const std::string& line : b.text) corefile += line + "\n";
    out.push_back(corefile);
  }
  return out;
}

TEST_CASE("k8s_external: the README's Corefiles lint clean") {
  TempDir dir;
  dir.write("cluster.objects.yaml", "kind: Service\nmetadata: {name: test}\nspec:\n  externalIPs: [192.0.2.1]\n");
  const auto corefiles = k8sExternalReadmeCorefiles();
  REQUIRE(corefiles.size() == 4);
  for (const std::string& corefile : corefiles) {
    auto findings = lintText(dir, corefile);
    CAPTURE(corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "option/unknown"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
    CHECK_FALSE(hasRule(findings, "order/written"));
  }
}

TEST_CASE("k8s_external: a misspelt option is named at its place with a suggestion") {
  TempDir dir;
  dir.write("o.yaml", "");
  auto findings = lintText(dir, ". {\n  k8s_external example.org {\n    fallthrugh\n  }\n"
                                "  kubernetes cluster.local {\n    objects o.yaml\n  }\n}\n");
  CAPTURE(describe(findings));
  auto unknown = withRule(findings, "option/unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].pos.line == 3);
  CHECK(unknown[0].pos.col == 5);
  CHECK(unknown[0].message.find("did you mean 'fallthrough'") != std::string::npos);
}

TEST_CASE("k8s_external: without kubernetes in its block, invalid at its line") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  k8s_external example.org\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto invalid = withRule(findings, "config/invalid");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 2);
  CHECK(invalid[0].message.find("kubernetes plugin") != std::string::npos);
}

TEST_CASE("k8s_external: written after kubernetes, it still runs first (order/written)") {
  TempDir dir;
  dir.write("o.yaml", "");
  auto findings = lintText(dir, ". {\n  kubernetes cluster.local {\n    objects o.yaml\n  }\n"
                                "  k8s_external example.org\n}\n");
  CAPTURE(describe(findings));
  auto order = withRule(findings, "order/written");
  REQUIRE(order.size() == 1);
  CHECK(order[0].pos.line == 5);
}

}  // namespace
}  // namespace moat::lint::testing
