// File names to zone origins: the default rule, anchoring, templates with several and named
// groups, and names that are no domain names.
#include <doctest/doctest.h>

#include "plugins/auto/origin_rule.hpp"

using moat::plugins::auto_zone::OriginRule;

namespace {

OriginRule rule(const std::string& pattern, const std::string& originTemplate) {
  auto compiled = OriginRule::compile(moat::conf::Token{pattern, {}, false}, moat::conf::Token{originTemplate, {}, false});
  REQUIRE_MESSAGE(compiled.ok(), (compiled.ok() ? "" : compiled.error().str()));
  return *compiled;
}

struct Case {
  std::string pattern;
  std::string originTemplate;
  std::string fileName;
  std::string origin;  // "" when the file names no zone
};

}  // namespace

TEST_CASE("the default rule names zones after db., anywhere in the name, lowercased") {
  const OriginRule standard = OriginRule::standard();
  CHECK(standard.pattern() == R"(db\.(.*))");
  CHECK(standard.originTemplate() == "{1}");
  CHECK(standard.originOf("db.example.org") == "example.org.");
  CHECK(standard.originOf("db.Example.ORG.") == "example.org.");
  // Unanchored, as CoreDNS's: README's www.db.example.org example relies on it.
  CHECK(standard.originOf("www.db.example.org") == "example.org.");
  CHECK(standard.originOf("db.") == ".");
  CHECK_FALSE(standard.originOf("example.org").has_value());
  CHECK_FALSE(standard.originOf("DB.example.org").has_value());  // the pattern is case-sensitive
}

TEST_CASE("templates put groups together, absent groups are empty, other braces stay") {
  const Case cases[] = {
      {R"(^(.*)\.zone$)", "{1}", "example.org.zone", "example.org."},
      {R"(^(.*)\.zone$)", "{1}", "example.org.zone.bak", ""},
      {R"(^(\w+)\.(\w+)\.db$)", "{2}.{1}", "org.example.db", "example.org."},
      {R"(^(?P<host>\w+)_(?P<tld>\w+)$)", "{host}.{tld}", "example_net", "example.net."},
      {R"(^zone-(\w+)$)", "{1}.internal", "zone-lab", "lab.internal."},
      {R"(^(a)|(b)$)", "x{2}y", "a", "xy."},              // group 2 took no part
      {R"(^(\w+)$)", "{1}.{9}.test", "abc", ""},  // no group 9: an empty label, so no name
      {R"(^(\w+)$)", "{1}.{x", "abc", "abc.{x."},
      {R"(^(\w+)$)", "{1}.{nope}", "abc", "abc."},
      {R"(^(\w+)$)", "{1}", std::string(64, 'a'), ""},  // a label over 63 bytes
  };
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    CAPTURE(c.fileName);
    const auto origin = rule(c.pattern, c.originTemplate).originOf(c.fileName);
    if (c.origin.empty()) {
      CHECK_FALSE(origin.has_value());
    } else {
      CHECK(origin == c.origin);
    }
  }
}

TEST_CASE("a pattern without a group, one that does not compile, or one too long is refused") {
  auto compile = [](const std::string& pattern) {
    auto r = OriginRule::compile(moat::conf::Token{pattern, {"Corefile", 3, 19}, false}, moat::conf::Token{"{1}", {}, false});
    return r.ok() ? std::string() : r.error().str();
  };
  CHECK(compile("abc") == "Corefile:3:19: auto: regexp 'abc' has no group for the origin template to use");
  CHECK(compile("*").rfind("Corefile:3:19: auto: invalid regexp '*': ", 0) == 0);
  CHECK(compile("(" + std::string(OriginRule::kMaxPatternLength, 'a') + ")") ==
        "Corefile:3:19: auto: regexp too large (more than 10000 characters)");
  CHECK(compile("(a)").empty());
}
