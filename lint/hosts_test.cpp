// hosts/entry-typo: a line inside hosts { } meant as an option but read as an entry.
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

TEST_CASE("hosts/entry-typo: a word within two edits of an option, before fallthrough, warns") {
  TempDir dir;
  dir.write("hosts", "192.0.2.1 a.example.org\n");
  auto findings = lintText(dir, ". {\n    hosts @DIR@/hosts {\n        fallthroug\n    }\n    whoami\n}\n");
  CAPTURE(describe(findings));
  auto typo = withRule(findings, "hosts/entry-typo");
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].severity == Severity::Warning);
  CHECK(typo[0].pos.line == 3);
  CHECK(typo[0].pos.col == 9);
  CHECK(typo[0].message ==
        "'fallthroug' is read as a hosts entry without an address, which is skipped; did you "
        "mean the option 'fallthrough'?");

  struct Case {
    const char* line;
    const char* option;  // nullptr: no finding
  };
  const Case cases[] = {
      {"no_revers", "no_reverse"},
      {"tll 60", "ttl"},
      {"relaod 5s", "reload"},
      {"192.0.2.7 fallthroug.example", nullptr},  // an address: a real entry
      {"example.org", nullptr},                   // no address, but not near any option
      {"2001:db8::1 ttl.example", nullptr},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    auto found = withRule(lintText(dir, std::string(". {\n    hosts @DIR@/hosts {\n        ") + c.line +
                                            "\n        fallthrough\n    }\n}\n"),
                          "hosts/entry-typo");
    if (c.option == nullptr) {
      CHECK(found.empty());
    } else {
      REQUIRE(found.size() == 1);
      CHECK(found[0].message.find("the option '" + std::string(c.option) + "'") != std::string::npos);
    }
  }
  // After fallthrough an unknown word is an error of hosts' own setup, not this warning.
  auto after = lintText(dir, ". {\n    hosts @DIR@/hosts {\n        fallthrough\n        no_revers\n    }\n}\n");
  CAPTURE(describe(after));
  CHECK_FALSE(hasRule(after, "hosts/entry-typo"));
  CHECK(hasRule(after, "option/unknown"));
}

}  // namespace
}  // namespace moat::lint::testing
