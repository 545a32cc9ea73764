// Parsing `acl` stanzas: every rule form CoreDNS accepts, ZONES defaulting to the block's, and
// each kind of bad input reported at its file:line:col.
#include <doctest/doctest.h>

#include <string>

#include "plugins/acl/config.hpp"
#include "plugins/acl/test_support.hpp"

namespace moat::plugins::acl {
namespace {

using testing::parseError;

AclConfig parse(std::string_view corefile, std::vector<std::string> zones = {"."},
                std::vector<conf::Diag>* warnings = nullptr) {
  auto parsed = moat::testing::stanzasOf(corefile, "acl");
  auto config = parseConfig(parsed.stanzas, zones, warnings);
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? std::string() : config.error().str()));
  return std::move(*config);
}

IpKey ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return IpKey{true, Uint128{a} << 24 | Uint128{b} << 16 | Uint128{c} << 8 | d};
}
const IpKey kLoopback6{false, 1};

TEST_CASE("every rule form: action alone, type, net, both, in either order, repeated sections") {
  AclConfig c = parse(R"(. {
  acl {
    allow
    block type A
    filter net 192.168.0.0/16
    drop type AAAA MX net 10.0.0.0/8 ::1
    allow net 172.16.0.0/12 type TXT
    block type A net 10.0.0.1 type AAAA net 10.0.0.2
  }
})");
  REQUIRE(c.rules.size() == 1);
  const std::vector<Policy>& p = c.rules[0].policies;
  REQUIRE(p.size() == 6);

  CHECK(p[0].action == Action::Allow);
  CHECK(p[0].types.everything());  // no type section: every type
  CHECK(p[0].nets.contains(ip4(203, 0, 113, 1)));  // no net section: every address
  CHECK(p[0].nets.contains(kLoopback6));

  CHECK(p[1].action == Action::Block);
  CHECK(p[1].types.contains(dns::rrtype::A));
  CHECK_FALSE(p[1].types.contains(dns::rrtype::AAAA));
  CHECK(p[1].nets.contains(ip4(8, 8, 8, 8)));

  CHECK(p[2].action == Action::Filter);
  CHECK(p[2].types.everything());
  CHECK(p[2].nets.contains(ip4(192, 168, 3, 4)));
  CHECK_FALSE(p[2].nets.contains(ip4(192, 169, 0, 1)));

  CHECK(p[3].action == Action::Drop);
  CHECK(p[3].types.contains(dns::rrtype::AAAA));
  CHECK(p[3].types.contains(dns::rrtype::MX));
  CHECK_FALSE(p[3].types.contains(dns::rrtype::A));
  CHECK(p[3].nets.contains(ip4(10, 9, 9, 9)));
  CHECK(p[3].nets.contains(kLoopback6));
  CHECK_FALSE(p[3].nets.contains(ip4(11, 0, 0, 1)));

  CHECK(p[4].types.contains(dns::rrtype::TXT));  // net before type
  CHECK(p[4].nets.contains(ip4(172, 20, 0, 1)));

  CHECK(p[5].types.contains(dns::rrtype::A));  // a section given twice adds up
  CHECK(p[5].types.contains(dns::rrtype::AAAA));
  CHECK(p[5].nets.contains(ip4(10, 0, 0, 1)));
  CHECK(p[5].nets.contains(ip4(10, 0, 0, 2)));
  CHECK_FALSE(p[5].nets.contains(ip4(10, 0, 0, 3)));
}

TEST_CASE("words: actions and section names in any case, query types exactly as miekg/dns spells them") {
  AclConfig c = parse(". {\n  acl {\n    BLOCK TYPE NSAP-PTR CAA Net 10.0.0.0/8\n    Allow type None\n  }\n}\n");
  const std::vector<Policy>& p = c.rules[0].policies;
  REQUIRE(p.size() == 2);
  CHECK(p[0].action == Action::Block);
  CHECK(p[0].types.contains(23));
  CHECK(p[0].types.contains(257));
  CHECK(p[1].types.everything());  // `None` is type 0, which CoreDNS reads as `*`
}

TEST_CASE("`*` means every type or every address, what follows it in the section is ignored, with a warning") {
  std::vector<conf::Diag> warnings;
  AclConfig c = parse(". {\n  acl {\n    block type * BOGUS net *\n    allow net * not-a-cidr type A\n  }\n}\n",
                      {"."}, &warnings);
  const std::vector<Policy>& p = c.rules[0].policies;
  REQUIRE(p.size() == 2);
  CHECK(p[0].types.everything());
  CHECK(p[0].nets.contains(ip4(1, 2, 3, 4)));
  CHECK(p[0].nets.contains(kLoopback6));
  CHECK(p[1].nets.contains(ip4(1, 2, 3, 4)));
  CHECK(p[1].types.contains(dns::rrtype::A));
  CHECK_FALSE(p[1].types.contains(dns::rrtype::AAAA));
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].str() == "Corefile:3:16: acl: '*' matches everything; the 1 token(s) after it in this section are ignored");
  CHECK(warnings[1].pos.line == 4);
  CHECK(warnings[1].severity == conf::Severity::Warning);
}

TEST_CASE("ZONES: the block's by default, else the stanza's (normalised, CIDRs as reverse zones), stanzas stay in order") {
  AclConfig c = parse(R"(example.org example.net {
  acl {
    block
  }
  acl A.Example.ORG 10.0.0.0/8 {
    allow
  }
  acl
})", {"example.org.", "example.net."});
  REQUIRE(c.rules.size() == 3);
  CHECK(c.rules[0].zones == std::vector<std::string>{"example.org.", "example.net."});
  CHECK(c.rules[1].zones == std::vector<std::string>{"a.example.org.", "10.in-addr.arpa."});
  CHECK(c.rules[1].policies.size() == 1);
  CHECK(c.rules[2].policies.empty());  // no block: a rule that decides nothing
  CHECK(c.rules[2].pos.line == 8);

  AclConfig root = parse(". {\n  acl\n}\n", {});
  CHECK(root.rules[0].zones == std::vector<std::string>{"."});
}

TEST_CASE("bad input: each error names the file:line:col of the offending word") {
  struct Case {
    const char* corefile;
    const char* error;
  };
  const Case cases[] = {
      {". {\n  acl {\n    deny net 10.0.0.0/8\n  }\n}\n",
       "Corefile:3:5: acl: unknown action 'deny': expected allow, block, filter or drop"},
      {". {\n  acl {\n    block 10.0.0.0/8\n  }\n}\n",
       "Corefile:3:11: acl: expected 'type' or 'net', got '10.0.0.0/8'"},
      {". {\n  acl {\n    block type\n  }\n}\n",
       "Corefile:3:11: acl: 'type' needs at least one query type (or '*')"},
      {". {\n  acl {\n    block type net 10.0.0.0/8\n  }\n}\n",
       "Corefile:3:11: acl: 'type' needs at least one query type (or '*')"},
      {". {\n  acl {\n    block type A net\n  }\n}\n",
       "Corefile:3:18: acl: 'net' needs at least one address or CIDR (or '*')"},
      {". {\n  acl {\n    block type A BOGUS\n  }\n}\n",
       "Corefile:3:18: acl: unknown query type 'BOGUS'"},
      {". {\n  acl {\n    block type aaaa\n  }\n}\n",
       "Corefile:3:16: acl: unknown query type 'aaaa' (query types are written in upper case: 'AAAA')"},
      {". {\n  acl {\n    block type TYPE65\n  }\n}\n",
       "Corefile:3:16: acl: unknown query type 'TYPE65'"},
      {". {\n  acl {\n    block net 10.0.0.0/33\n  }\n}\n",
       "Corefile:3:15: acl: invalid network '10.0.0.0/33': expected an IP address or a CIDR such as "
       "192.0.2.0/24 or 2001:db8::/32"},
      {". {\n  acl {\n    allow net 192.168.1.0/24\n    block net 192.168.0.0/16 fe80::1%eth0\n  }\n}\n",
       "Corefile:4:30: acl: invalid network 'fe80::1%eth0': expected an IP address or a CIDR such as "
       "192.0.2.0/24 or 2001:db8::/32"},
      {". {\n  acl {\n    block net example.org\n  }\n}\n",
       "Corefile:3:15: acl: invalid network 'example.org': expected an IP address or a CIDR such as "
       "192.0.2.0/24 or 2001:db8::/32"},
      {". {\n  acl {\n    block {\n      net 10.0.0.0/8\n    }\n  }\n}\n",
       "Corefile:3:5: acl: a rule takes no '{' block"},
      {". {\n  acl ftp://example.org {\n    block\n  }\n}\n",
       "Corefile:2:7: unknown transport 'ftp://' in zone 'ftp://example.org'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    CHECK(parseError(c.corefile) == c.error);
  }
}

}  // namespace
}  // namespace moat::plugins::acl
