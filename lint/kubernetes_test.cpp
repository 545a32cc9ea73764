// kubernetes/reverse-fallthrough, kubernetes/upstream, kubernetes/api-option, kubernetes/no-probes.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("kubernetes/reverse-fallthrough: reverse zones need their fallthrough") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  kubernetes cluster.local in-addr.arpa ip6.arpa\n}\n");
  auto reverse = withRule(findings, "kubernetes/reverse-fallthrough");
  REQUIRE(reverse.size() == 1);
  CHECK(reverse[0].severity == Severity::Warning);
  CHECK(reverse[0].pos.line == 2);
  CHECK(reverse[0].message.find("fallthrough in-addr.arpa ip6.arpa") != std::string::npos);

  const char* fine[] = {
      ". {\n  kubernetes cluster.local in-addr.arpa ip6.arpa {\n    fallthrough in-addr.arpa ip6.arpa\n  }\n}\n",
      ". {\n  kubernetes cluster.local in-addr.arpa {\n    fallthrough\n  }\n}\n",
      ". {\n  kubernetes cluster.local\n}\n",
  };
  for (const char* corefile : fine) {
    CAPTURE(corefile);
    CHECK_FALSE(hasRule(lintText(dir, corefile), "kubernetes/reverse-fallthrough"));
  }
}

TEST_CASE("kubernetes/upstream: the removed option has its own id, at the option") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  kubernetes cluster.local {\n    upstream 1.1.1.1\n  }\n}\n");
  auto upstream = withRule(findings, "kubernetes/upstream");
  REQUIRE(upstream.size() == 1);
  CHECK(upstream[0].pos.line == 3);
  CHECK(upstream[0].severity == Severity::Warning);
  for (const Finding& f : withRule(findings, "config/warning")) {
    CHECK(f.pos.line != 3);
  }
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  kubernetes cluster.local\n}\n"), "kubernetes/upstream"));
}

TEST_CASE("kubernetes/api-option: CoreDNS API-client options are named as ignored") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  kubernetes cluster.local {\n    endpoint https://10.0.0.1:6443\n"
                                "    pods insecure\n    kubeconfig /root/.kube/config\n  }\n}\n");
  auto api = withRule(findings, "kubernetes/api-option");
  REQUIRE(api.size() == 2);
  CHECK(api[0].severity == Severity::Info);
  CHECK(api[0].pos.line == 3);
  CHECK(api[1].pos.line == 5);
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  kubernetes cluster.local {\n    pods insecure\n  }\n}\n"),
                      "kubernetes/api-option"));
}

TEST_CASE("kubernetes/no-probes: info unless some block loads both health and ready") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  kubernetes cluster.local\n  health\n}\n");
  auto probes = withRule(findings, "kubernetes/no-probes");
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].severity == Severity::Info);
  CHECK(probes[0].message.find("ready") != std::string::npos);

  auto fine = lintText(dir, ". {\n  kubernetes cluster.local\n  health\n}\nexample.org {\n  ready\n  whoami\n}\n");
  CHECK_FALSE(hasRule(fine, "kubernetes/no-probes"));
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  whoami\n}\n"), "kubernetes/no-probes"));
}

}  // namespace
}  // namespace moat::lint::testing
