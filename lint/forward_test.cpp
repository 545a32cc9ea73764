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
      // Another block of this server that answers (or refuses) what it gets: no way back.
      {"another block's port", "example.org:5300 {\n  whoami\n}\n.:53 {\n  forward . 127.0.0.1:5300\n}\n"},
      {"bound elsewhere", ".:53 {\n  bind 192.0.2.7\n  forward . 127.0.0.1\n}\n"},
      {"remote", ".:53 {\n  forward . 192.0.2.1\n}\n"},
  };
  for (const Case& c : fine) {
    CAPTURE(c.name);
    CHECK_FALSE(hasRule(lintText(dir, c.corefile), "forward/loop"));
  }
}

TEST_CASE("forward/loop: CoreDNS's DoT example goes through two blocks of this server, no loop") {
  // plugin/forward/README.md: `.` spreads queries over two local blocks, each forwarding
  // elsewhere over TLS.
  TempDir dir;
  const std::string dot =
      ". {\n    forward . 127.0.0.1:5301 127.0.0.1:5302\n}\n\n"
      ".:5301 {\n    forward . tls://8.8.8.8 tls://8.8.4.4 {\n        tls_servername dns.google\n    }\n}\n\n"
      ".:5302 {\n    forward . tls://1.1.1.1 tls://1.0.0.1 {\n        tls_servername cloudflare-dns.com\n    }\n}\n";
  auto findings = lintText(dir, dot);
  CAPTURE(describe(findings));
  CHECK_FALSE(hasRule(findings, "forward/loop"));
  CHECK_FALSE(hasRule(findings, "config/invalid"));  // tls:// upstreams load since issue 15

  // The same with plain upstreams: nothing at warning or above.
  const std::string plain =
      ". {\n    forward . 127.0.0.1:5301 127.0.0.1:5302\n}\n"
      ".:5301 {\n    forward . 192.0.2.1\n}\n"
      ".:5302 {\n    forward . 192.0.2.2\n}\n";
  auto clean = lintText(dir, plain);
  CAPTURE(describe(clean));
  for (const Finding& f : clean) CHECK(f.severity == Severity::Info);
}

TEST_CASE("forward/loop: a path through other blocks that comes back is a loop, named hop by hop") {
  TempDir dir;
  // . -> .:5301 -> back to .:53: both forwards are on the loop.
  auto back = lintText(dir,
                       ". {\n  forward . 127.0.0.1:5301\n}\n"
                       ".:5301 {\n  forward . 127.0.0.1:53\n}\n");
  CAPTURE(describe(back));
  auto loops = withRule(back, "forward/loop");
  REQUIRE(loops.size() == 2);
  CHECK(loops[0].pos.line == 2);
  CHECK(loops[0].message ==
        "upstream 127.0.0.1:5301 is this server's block .:5301 (" + dir.path() +
            "/Corefile:4:1), whose forward at " + dir.path() + "/Corefile:5:3 sends . on to block .:53 (" +
            dir.path() + "/Corefile:1:1), this forward's own: every forwarded query for . loops");
  CHECK(loops[1].pos.line == 5);

  // Three blocks in a ring; a fourth that only feeds the ring is not on it.
  auto ring = lintText(dir,
                       ".:5301 {\n  forward . 127.0.0.1:5302\n}\n"
                       ".:5302 {\n  forward . 127.0.0.1:5303\n}\n"
                       ".:5303 {\n  forward . 127.0.0.1:5301\n}\n"
                       ".:5304 {\n  forward . 127.0.0.1:5301\n}\n");
  CAPTURE(describe(ring));
  auto ringLoops = withRule(ring, "forward/loop");
  REQUIRE(ringLoops.size() == 3);
  for (const Finding& f : ringLoops) CHECK(f.pos.line < 9);

  // Names the next block answers itself never come back: hosts without fallthrough.
  dir.write("hosts", "192.0.2.1 a.example.org\n");
  auto answered = lintText(dir,
                           "example.org {\n  forward . 127.0.0.1:5301\n}\n"
                           "example.org:5301 {\n  hosts @DIR@/hosts\n  forward . 127.0.0.1:53\n}\n");
  CAPTURE(describe(answered));
  CHECK_FALSE(hasRule(answered, "forward/loop"));

  // Only the names the other block takes back loop: a block for a zone inside the forwarded
  // one sends its own names back.
  auto narrow = lintText(dir,
                         ". {\n  forward . 127.0.0.1:5301\n}\n"
                         "example.org:5301 {\n  forward . 127.0.0.1:53\n}\n");
  CAPTURE(describe(narrow));
  auto narrowLoops = withRule(narrow, "forward/loop");
  REQUIRE(narrowLoops.size() == 2);
  CHECK(narrowLoops[0].message.find("every forwarded query for example.org. loops") != std::string::npos);
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
