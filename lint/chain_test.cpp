// plugin/unreachable, order/written and ttl/range.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("plugin/unreachable: hosts without fallthrough in `.` hides the plugins after it") {
  TempDir dir;
  dir.write("hosts", "192.0.2.1 a.example\n");
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.53\n  hosts @DIR@/hosts\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto dead = withRule(findings, "plugin/unreachable");
  REQUIRE(dead.size() == 2);  // forward and whoami
  CHECK(dead[0].pos.line == 2);
  CHECK(dead[1].pos.line == 4);
  CHECK(dead[0].message.find("hosts at 3:3") != std::string::npos);

  const char* fine[] = {
      ". {\n  hosts @DIR@/hosts {\n    fallthrough\n  }\n  forward . 192.0.2.53\n}\n",
      ". {\n  hosts @DIR@/hosts example.org\n  forward . 192.0.2.53\n}\n",  // only its zone
      ". {\n  hosts @DIR@/hosts\n  cache\n}\n",                           // cache runs before
  };
  for (const char* corefile : fine) {
    CAPTURE(corefile);
    CHECK_FALSE(hasRule(lintText(dir, corefile), "plugin/unreachable"));
  }
}

TEST_CASE("plugin/unreachable: kubernetes owning the whole block") {
  TempDir dir;
  auto findings = lintText(dir, "cluster.local {\n  kubernetes\n  forward . 192.0.2.53\n}\n");
  auto dead = withRule(findings, "plugin/unreachable");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].pos.line == 3);
  CHECK_FALSE(hasRule(lintText(dir, "cluster.local {\n  kubernetes {\n    fallthrough\n  }\n"
                                    "  forward . 192.0.2.53\n}\n"),
                      "plugin/unreachable"));
}

TEST_CASE("order/written: one finding per block, at the first plugin written too late") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.53\n  log\n  cache\n  errors\n}\n");
  auto order = withRule(findings, "order/written");
  REQUIRE(order.size() == 1);
  CHECK(order[0].severity == Severity::Warning);
  CHECK(order[0].pos.line == 3);  // log, written after forward
  CHECK(order[0].message.find("errors, log, cache, forward") != std::string::npos);

  // Execution order as written; server-only plugins (health, prometheus) anywhere.
  CHECK_FALSE(hasRule(lintText(dir, ". {\n  prometheus\n  errors\n  log\n  health\n  cache\n"
                                    "  forward . 192.0.2.53\n  ready\n}\n"),
                      "order/written"));
}

TEST_CASE("order/written and plugin/unreachable know any and chaos: they run right after log") {
  TempDir dir;
  // CoreDNS's any README writes whoami first; any runs first all the same.
  auto readme = lintText(dir, "example.org {\n    whoami\n    any\n}\n");
  CAPTURE(describe(readme));
  auto order = withRule(readme, "order/written");
  REQUIRE(order.size() == 1);
  CHECK(order[0].pos.line == 3);
  CHECK(order[0].message.find("'any' is written after 'whoami'") != std::string::npos);
  CHECK(order[0].message.find("here: any, whoami") != std::string::npos);

  CHECK_FALSE(hasRule(lintText(dir, ". {\n  errors\n  log\n  any\n  chaos\n  cache\n"
                                    "  forward . 192.0.2.53\n}\n"),
                      "order/written"));
  auto late = withRule(lintText(dir, ". {\n  cache\n  chaos\n}\n"), "order/written");
  REQUIRE(late.size() == 1);
  CHECK(late[0].message.find("here: chaos, cache") != std::string::npos);

  // hosts owning the block hides what runs after it, never any or chaos, which run before.
  dir.write("hosts", "192.0.2.1 a.example\n");
  auto dead = withRule(lintText(dir, ". {\n  hosts @DIR@/hosts\n  any\n  chaos\n  whoami\n}\n"),
                       "plugin/unreachable");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].pos.line == 5);  // whoami only
}

TEST_CASE("a second chaos in a block is a warning: CoreDNS reads only the first") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  chaos v1\n  chaos v2\n}\n");
  CAPTURE(describe(findings));
  auto warned = withRule(findings, "config/warning");
  REQUIRE(warned.size() == 1);
  CHECK(warned[0].pos.line == 3);
  CHECK(warned[0].message.find("only the block's first 'chaos' (at 2:3) counts") != std::string::npos);
  CHECK_FALSE(hasRule(findings, "config/invalid"));
}

TEST_CASE("ttl/range: kubernetes ttl 0, hosts ttl above an hour, cache above an hour") {
  TempDir dir;
  dir.write("hosts", "192.0.2.1 a.example\n");
  struct Case {
    std::string corefile;
    uint32_t line;
  };
  const Case cases[] = {
      {"cluster.local {\n  kubernetes {\n    ttl 0\n  }\n}\n", 3},
      {". {\n  hosts @DIR@/hosts {\n    ttl 7200\n  }\n}\n", 3},
      {". {\n  cache 86400\n  whoami\n}\n", 2},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    auto ttl = withRule(lintText(dir, c.corefile), "ttl/range");
    REQUIRE(ttl.size() == 1);
    CHECK(ttl[0].pos.line == c.line);
  }
  const char* fine[] = {
      "cluster.local {\n  kubernetes {\n    ttl 30\n  }\n}\n",
      ". {\n  hosts @DIR@/hosts {\n    ttl 60\n  }\n}\n",
      ". {\n  cache 300\n  whoami\n}\n",
  };
  for (const char* corefile : fine) {
    CAPTURE(corefile);
    CHECK_FALSE(hasRule(lintText(dir, corefile), "ttl/range"));
  }
}

}  // namespace
}  // namespace moat::lint::testing
