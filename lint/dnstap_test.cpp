// dnstap in lint: its options checked as the server checks them (without connecting to the
// reader), and refused endpoints at their place.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("dnstap: CoreDNS's README Corefiles Moat runs lint clean, and nothing is dialled") {
  TempDir dir;
  for (const std::string corefile :
       {". {\n    dnstap /nonexistent/dnstap.sock full 1024 2048\n    whoami\n}\n",
        ". {\n    dnstap tcp://127.0.0.1:6000 full\n    dnstap unix:///tmp/dnstap.sock {\n"
        "        identity my-dns-server1\n        version MyDNSServer-1.2.3\n    }\n    whoami\n}\n"}) {
    auto findings = lintText(dir, corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "config/invalid"));
    CHECK_FALSE(hasRule(findings, "option/unknown"));
    CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  }
}

TEST_CASE("dnstap: a misspelt option is named at its place with a suggestion") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  dnstap /tmp/t.sock {\n    identiy x\n  }\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto invalid = withRule(findings, "option/unknown");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].pos.line == 3);
  CHECK(invalid[0].pos.col == 5);
  CHECK(invalid[0].message.find("did you mean 'identity'") != std::string::npos);
}

TEST_CASE("dnstap: a tls:// endpoint is refused at its place") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  dnstap tls://127.0.0.1:6000 full {\n    skipverify\n  }\n  whoami\n}\n");
  CAPTURE(describe(findings));
  REQUIRE_FALSE(findings.empty());
  bool found = false;
  for (const auto& f : findings) {
    if (f.message.find("tls://") != std::string::npos && f.pos.line == 2 && f.pos.col == 10) found = true;
  }
  CHECK(found);
}

}  // namespace
}  // namespace moat::lint::testing
