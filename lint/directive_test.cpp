// What the server itself would report at start, as findings: syntax, directives, options,
// other setup errors and warnings. Unlike the server, lint reports all of them, not the first.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("syntax/error: an unclosed block is a finding with its position, not exit 2") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  whoami\n");
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].rule == "syntax/error");
  CHECK(findings[0].severity == Severity::Error);
  CHECK(findings[0].pos.file == dir.path() + "/Corefile");

  CHECK(runCli({dir.path() + "/Corefile"}).code == 1);
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  whoami\n}\n"), "syntax/error"));
}

TEST_CASE("syntax/error: an import that matches no readable file") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  import @DIR@/missing.conf\n}\n");
  CAPTURE(describe(findings));
  CHECK((hasRule(findings, "syntax/error") || hasRule(findings, "config/warning")));
  dir.write("snippet.conf", "whoami\n");
  auto fine = lintText(dir, ". {\n  import @DIR@/snippet.conf\n}\n");
  CAPTURE(describe(fine));
  CHECK(fine.empty());
}

TEST_CASE("directive/unknown: a typo gets a did-you-mean, directive/unimplemented is not a typo") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forwrd . 192.0.2.1\n  etcd example.org\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto unknown = withRule(findings, "directive/unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].pos.line == 2);
  CHECK(unknown[0].pos.col == 3);
  CHECK(unknown[0].message.find("did you mean 'forward'?") != std::string::npos);

  auto missing = withRule(findings, "directive/unimplemented");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].pos.line == 3);
  CHECK(missing[0].message.find("not implemented by Moat") != std::string::npos);
  CHECK(missing[0].message.find("did you mean") == std::string::npos);

  auto clean = lintText(dir, ". {\n  whoami\n}\n");
  CHECK_FALSE(hasRule(clean, "directive/unknown"));
  CHECK_FALSE(hasRule(clean, "directive/unimplemented"));
}

TEST_CASE("directive/ignored: debug and pprof warn") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  debug\n  pprof\n  whoami\n}\n");
  auto ignored = withRule(findings, "directive/ignored");
  REQUIRE(ignored.size() == 2);
  CHECK(ignored[0].severity == Severity::Warning);
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  whoami\n}\n"), "directive/ignored"));
}

TEST_CASE("directive/duplicate: a once-per-block plugin twice names the first, log twice is fine") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  cache\n  whoami\n  cache 30\n}\n");
  auto dup = withRule(findings, "directive/duplicate");
  REQUIRE(dup.size() == 1);
  CHECK(dup[0].pos.line == 4);
  CHECK(dup[0].message.find(":2:3") != std::string::npos);
  CHECK_FALSE(hasRule(findings, "config/invalid"));  // the second stanza is not set up too

  CHECK_FALSE(hasRule(lintText(dir, ". {\n  log\n  log\n  whoami\n}\n"), "directive/duplicate"));
}

TEST_CASE("option/unknown: reported by the plugin's own setup, with did-you-mean") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.1 {\n    max_fail 3\n  }\n"
                                "  cache {\n    sucess 100\n  }\n}\n");
  CAPTURE(describe(findings));
  auto unknown = withRule(findings, "option/unknown");
  REQUIRE(unknown.size() == 2);  // every plugin is set up, not just the first that fails
  CHECK(unknown[0].pos.line == 3);
  CHECK(unknown[0].message.find("did you mean 'max_fails'?") != std::string::npos);
  CHECK(unknown[1].pos.line == 6);
  CHECK(unknown[1].message.find("did you mean 'success'?") != std::string::npos);

  CHECK_FALSE(hasRule(lintText(dir, ". {\n  forward . 192.0.2.1 {\n    max_fails 3\n  }\n}\n"),
                      "option/unknown"));
}

TEST_CASE("config/invalid: bad values, bad upstreams, bad keys, bad private stanzas") {
  TempDir dir;
  struct Case {
    const char* corefile;
    uint32_t line;
  };
  const Case cases[] = {
      {". {\n  forward . not-an-address\n}\n", 2},
      {". {\n  forward . https://192.0.2.1/dns-query\n}\n", 2},
      {". {\n  hosts {\n    ttl 0\n  }\n}\n", 3},
      {". {\n  kubernetes cluster.local {\n    pods sometimes\n  }\n}\n", 3},
      {"tls://. {\n  whoami\n}\n", 1},
      {". {\n  private .\n}\n", 2},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    auto findings = lintText(dir, c.corefile);
    CAPTURE(describe(findings));
    auto invalid = withRule(findings, "config/invalid");
    REQUIRE(invalid.size() == 1);
    CHECK(invalid[0].pos.line == c.line);
  }
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  forward . 192.0.2.1:5300\n}\n"), "config/invalid"));
}

TEST_CASE("config/invalid: kubernetes objects that do not load") {
  TempDir dir;
  dir.write("objects.yaml", "kind: Service\nmetadata: [unclosed\n");
  auto findings = lintText(dir, ". {\n  kubernetes cluster.local {\n    objects @DIR@/objects.yaml\n  }\n}\n");
  CAPTURE(describe(findings));
  CHECK(hasRule(findings, "config/invalid"));

  dir.write("objects.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n");
  auto fine = lintText(dir, ". {\n  kubernetes cluster.local {\n    objects @DIR@/objects.yaml\n  }\n}\n");
  CAPTURE(describe(fine));
  CHECK_FALSE(hasRule(fine, "config/invalid"));
  CHECK_FALSE(hasRule(fine, "config/warning"));

  // Not there yet (the objects feed writes it after start): a warning, not an error.
  auto later = lintText(dir, ". {\n  kubernetes cluster.local {\n    objects @DIR@/feed/cluster.json\n  }\n}\n");
  CAPTURE(describe(later));
  CHECK_FALSE(hasRule(later, "config/invalid"));
  CHECK(hasRule(later, "config/warning"));
}

TEST_CASE("config/warning: start-up warnings keep their position") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  hosts @DIR@/nowhere.hosts\n}\n");
  auto warnings = withRule(findings, "config/warning");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].pos.line == 2);
  CHECK(warnings[0].message.find("does not exist") != std::string::npos);

  dir.write("present.hosts", "192.0.2.1 a.example\n");
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  hosts @DIR@/present.hosts\n}\n"), "config/warning"));
}

}  // namespace
}  // namespace moat::lint::testing
