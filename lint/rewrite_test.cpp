// rewrite in lint: its rules checked as the server checks them (did-you-mean for rule types,
// match types and answer kinds), its place in the chain, and rules that map private names out.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("rewrite: CoreDNS's README rules lint clean") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  rewrite name suffix .schmoogle.com. .google.com.\n"
                                "  rewrite continue {\n    ttl regex (.*)\\.coredns\\.rocks 15\n  }\n  whoami\n}\n");
  CAPTURE(describe(findings));
  CHECK_FALSE(hasRule(findings, "config/invalid"));
  CHECK_FALSE(hasRule(findings, "option/unknown"));
  CHECK_FALSE(hasRule(findings, "directive/unimplemented"));
  CHECK_FALSE(hasRule(findings, "rewrite/private-escape"));
}

TEST_CASE("rewrite: a misspelt rule type or match type is named at its place with a suggestion") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  rewrite nmae a b\n  rewrite name sufix a b\n  whoami\n}\n");
  CAPTURE(describe(findings));
  auto unknown = withRule(findings, "option/unknown");
  REQUIRE(unknown.size() == 1);  // setup stops at the first bad stanza, as the server does
  CHECK(unknown[0].pos.line == 2);
  CHECK(unknown[0].pos.col == 11);
  CHECK(unknown[0].message.find("did you mean 'name'") != std::string::npos);
}

TEST_CASE("rewrite/private-escape: a private name mapped out of its zone warns, within it does not") {
  TempDir dir;
  auto out = lintText(dir, ". {\n  rewrite name suffix .internal. .example.com.\n  forward . 192.0.2.1\n}\n");
  CAPTURE(describe(out));
  auto escape = withRule(out, "rewrite/private-escape");
  REQUIRE(escape.size() == 1);
  CHECK(escape[0].pos.line == 2);
  CHECK(escape[0].message.find("private zone internal.") != std::string::npos);
  auto exact = lintText(dir, ". {\n  private corp.example\n  rewrite name db.corp.example db.example.com\n  whoami\n}\n");
  CHECK(hasRule(exact, "rewrite/private-escape"));
  auto target = lintText(dir, ". {\n  rewrite cname suffix .corp.internal. .example.com.\n  whoami\n}\n");
  auto cname = withRule(target, "rewrite/private-escape");
  REQUIRE(cname.size() == 1);
  CHECK(cname[0].message.find("CNAME targets under corp.internal.") != std::string::npos);
  auto within = lintText(dir, ". {\n  rewrite name suffix .a.internal. .b.internal.\n  whoami\n}\n");
  CHECK_FALSE(hasRule(within, "rewrite/private-escape"));
}

TEST_CASE("rewrite: edns0 and cname rules lint clean, a misspelt EDNS0 action is option/unknown") {
  TempDir dir;
  auto clean = lintText(dir, ". {\n  rewrite continue edns0 local set 0xffee {client_ip} revert\n"
                             "  rewrite continue edns0 subnet set 24 56\n"
                             "  rewrite cname regex (.*).cdn.example.net. {1}.other.cdn.com.\n  whoami\n}\n");
  CAPTURE(describe(clean));
  CHECK_FALSE(hasRule(clean, "config/invalid"));
  CHECK_FALSE(hasRule(clean, "option/unknown"));
  CHECK_FALSE(hasRule(clean, "directive/unimplemented"));
  auto bad = lintText(dir, ". {\n  rewrite edns0 nsid sett\n  whoami\n}\n");
  auto unknown = withRule(bad, "option/unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].pos.col == 22);
  CHECK(unknown[0].message.find("did you mean 'set'") != std::string::npos);
  auto bits = lintText(dir, ". {\n  rewrite edns0 subnet set 24 200\n  whoami\n}\n");
  CHECK(hasRule(bits, "config/invalid"));
}

TEST_CASE("rewrite: written after forward, it still runs before it (order/written)") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n  forward . 192.0.2.1\n  rewrite name a.org b.org\n}\n");
  CAPTURE(describe(findings));
  CHECK(withRule(findings, "order/written").size() == 1);
}

}  // namespace
}  // namespace moat::lint::testing
