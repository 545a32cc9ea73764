// forward/loop and forward/unreachable.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("forward/loop: upstream is the server's own listen address") {
  TempDir dir;
  struct Case {
    const char* name;
    const char* corefile;
  };
  const Case loops[] = {
      {"loopback, every address", ".:53 {\n  forward . 127.0.0.1\n}\n"},
      {"loopback with port", ".:1053 {\n  forward . 127.0.0.1:1053\n}\n"},
      {"bound address", ".:53 {\n  bind 192.0.2.7\n  forward . 192.0.2.7\n}\n"},
      {"another block's port", "example.org:5300 {\n  whoami\n}\n.:53 {\n  forward . 127.0.0.1:5300\n}\n"},
      {"systemd-resolved stub", ".:5353 {\n  forward . 127.0.0.53\n}\n"},
  };
  for (const Case& c : loops) {
    CAPTURE(c.name);
    auto findings = lintText(dir, c.corefile);
    CAPTURE(describe(findings));
    auto loop = withRule(findings, "forward/loop");
    REQUIRE(loop.size() == 1);
    CHECK(loop[0].severity == Severity::Error);
  }
  const Case fine[] = {
      {"another port", ".:53 {\n  forward . 127.0.0.1:5300\n}\n"},
      {"bound elsewhere", ".:53 {\n  bind 192.0.2.7\n  forward . 127.0.0.1\n}\n"},
      {"remote", ".:53 {\n  forward . 192.0.2.1\n}\n"},
  };
  for (const Case& c : fine) {
    CAPTURE(c.name);
    CHECK_FALSE(hasRule(lintText(dir, c.corefile), "forward/loop"));
  }
}

TEST_CASE("forward/loop: a resolv.conf with only loopback nameservers, pointed at the file") {
  TempDir dir;
  dir.write("stub.conf", "nameserver 127.0.0.53\noptions edns0\n");
  auto findings = lintText(dir, ".:1053 {\n  forward . 192.0.2.1 @DIR@/stub.conf\n}\n");
  auto loop = withRule(findings, "forward/loop");
  REQUIRE(loop.size() == 1);
  CHECK(loop[0].pos.line == 2);
  CHECK(loop[0].pos.col == 23);  // the file argument
  CHECK(loop[0].message.find("only loopback") != std::string::npos);

  writeResolvConf(dir, "127.0.0.53 192.0.2.53");  // one real server: CoreDNS still uses it
  CHECK(withRule(lintText(dir, ".:1053 {\n  forward . @DIR@/resolv.conf\n}\n"), "forward/loop").size() == 1);
  writeResolvConf(dir, "192.0.2.53");
  CHECK_FALSE(hasRule(lintText(dir, ".:1053 {\n  forward . @DIR@/resolv.conf\n}\n"), "forward/loop"));
}

TEST_CASE("forward/unreachable: FROM outside the block") {
  TempDir dir;
  auto findings = lintText(dir, "example.org {\n  forward other.example 192.0.2.1\n}\n");
  auto dead = withRule(findings, "forward/unreachable");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].severity == Severity::Warning);
  CHECK(dead[0].pos.line == 2);
  CHECK_FALSE(hasRule(lintText(dir, "example.org {\n  forward sub.example.org 192.0.2.1\n}\n"),
                      "forward/unreachable"));
}

TEST_CASE("forward/unreachable: a later stanza under an earlier FROM") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.1\n  forward example.org 192.0.2.2\n}\n");
  auto dead = withRule(findings, "forward/unreachable");
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].pos.line == 3);
  CHECK(dead[0].message.find(":2:3") != std::string::npos);

  // Narrower first, an except that leaves the zone, or a private zone `.` may not send to.
  const char* fine[] = {
      ". {\n  forward example.org 192.0.2.2\n  forward . 192.0.2.1\n}\n",
      ". {\n  forward . 192.0.2.1 {\n    except example.org\n  }\n  forward example.org 192.0.2.2\n}\n",
      ". {\n  forward . 192.0.2.1\n  forward corp.internal 10.0.0.53\n}\n",
  };
  for (const char* corefile : fine) {
    CAPTURE(corefile);
    auto f = lintText(dir, corefile);
    CAPTURE(describe(f));
    CHECK_FALSE(hasRule(f, "forward/unreachable"));
  }
}

}  // namespace
}  // namespace moat::lint::testing
