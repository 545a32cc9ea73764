#include <doctest/doctest.h>

#include "plugins/log/classify.hpp"
#include "plugins/log/config.hpp"
#include "plugins/log/log_test_util.hpp"

namespace moat::plugins::log {
namespace {

conf::Result<Config> parse(std::string_view corefile) {
  auto p = test::stanzasOf(corefile, "log");
  return parseConfig(p.stanzas);
}

Config parseOk(std::string_view corefile) {
  auto r = parse(corefile);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().str()));
  return *r;
}

constexpr uint8_t kSuccess = static_cast<uint8_t>(ResponseClass::Success);
constexpr uint8_t kDenial = static_cast<uint8_t>(ResponseClass::Denial);
constexpr uint8_t kError = static_cast<uint8_t>(ResponseClass::Error);

const Format kCommon = compileFormat(kCommonFormat);

TEST_CASE("log with no arguments logs everything in the common format") {
  Config c = parseOk(". {\n  log\n}\n");
  REQUIRE(c.rules.size() == 1);
  CHECK(c.rules[0].zone == ".");
  CHECK(c.rules[0].zoneWire == dns::WireName{0});
  CHECK(c.rules[0].format == kCommon);
  CHECK(c.rules[0].classes == kAllClasses);
}

TEST_CASE("log NAME: one argument is always a name, made fully qualified and lowercase") {
  Config c = parseOk(". {\n  log Example.ORG\n}\n");
  REQUIRE(c.rules.size() == 1);
  CHECK(c.rules[0].zone == "example.org.");
  CHECK(c.rules[0].zoneWire == test::wire("example.org."));
  CHECK(c.rules[0].format == kCommon);

  // Even when it looks like a format.
  Config odd = parseOk(". {\n  log {common}\n}\n");
  REQUIRE(odd.rules.size() == 1);
  CHECK(odd.rules[0].zone == "{common}.");
  CHECK(odd.rules[0].format == kCommon);
}

TEST_CASE("log NAMES... FORMAT: the last argument is a format only if it holds a '{'") {
  Config c = parseOk(". {\n  log example.org example.net \"{name} {type}\"\n}\n");
  REQUIRE(c.rules.size() == 2);
  CHECK(c.rules[0].zone == "example.org.");
  CHECK(c.rules[1].zone == "example.net.");
  CHECK(c.rules[0].format.source == "{name} {type}");
  CHECK(c.rules[1].format == c.rules[0].format);

  Config names = parseOk(". {\n  log a.org b.org c.org\n}\n");
  REQUIRE(names.rules.size() == 3);
  CHECK(names.rules[2].zone == "c.org.");
  CHECK(names.rules[2].format == kCommon);

  Config two = parseOk(". {\n  log . {combined}\n}\n");
  REQUIRE(two.rules.size() == 1);
  CHECK(two.rules[0].zone == ".");
  CHECK(two.rules[0].format.source == combinedFormat());
}

TEST_CASE("{common} and {combined} expand inside a longer format") {
  Config c = parseOk(". {\n  log . \"{common} extra {combined}\"\n}\n");
  REQUIRE(c.rules.size() == 1);
  CHECK(c.rules[0].format.source ==
        std::string(kCommonFormat) + " extra " + combinedFormat());
}

TEST_CASE("class block: classes combine, repeat, and apply to every name of the stanza") {
  Config c = parseOk(
      ". {\n"
      "  log a.org b.org {common} {\n"
      "    class denial\n"
      "    class error\n"
      "  }\n"
      "  log c.org {\n"
      "    class success all\n"
      "  }\n"
      "  log\n"
      "}\n");
  REQUIRE(c.rules.size() == 4);
  CHECK(c.rules[0].classes == (kDenial | kError));
  CHECK(c.rules[1].classes == (kDenial | kError));
  CHECK(c.rules[2].classes == kAllClasses);
  CHECK(c.rules[3].classes == kAllClasses);
  CHECK(c.rules[3].zone == ".");

  Config one = parseOk(". {\n  log {\n    class success\n  }\n}\n");
  REQUIRE(one.rules.size() == 1);
  CHECK(one.rules[0].classes == kSuccess);
  CHECK(one.rules[0].zone == ".");

  Config empty = parseOk(". {\n  log example.org {\n  }\n}\n");
  CHECK(empty.rules[0].classes == kAllClasses);
}

TEST_CASE("several log stanzas keep Corefile order") {
  Config c = parseOk(". {\n  log example.org \"{name} A\"\n  whoami\n  log . \"{name} B\"\n}\n");
  REQUIRE(c.rules.size() == 2);
  CHECK(c.rules[0].zone == "example.org.");
  CHECK(c.rules[0].format.source == "{name} A");
  CHECK(c.rules[1].zone == ".");
  CHECK(c.rules[1].format.source == "{name} B");
}

TEST_CASE("errors name their position") {
  struct Case {
    std::string_view corefile;
    std::string_view where;
    std::string_view message;
  };
  for (Case c : {
           Case{". {\n    log {\n        class abracadabra\n    }\n}\n", "Corefile:3:15",
                "log: invalid class 'abracadabra' (want all, success, denial or error)"},
           Case{". {\n    log {\n        class\n    }\n}\n", "Corefile:3:9",
                "log: 'class' needs at least one of all, success, denial, error"},
           Case{". {\n    log {\n        unknown\n    }\n}\n", "Corefile:3:9",
                "log: unknown property 'unknown' (want 'class')"},
           Case{". {\n    log . {\n        class all\n        format x\n    }\n}\n", "Corefile:4:9",
                "log: unknown property 'format' (want 'class')"},
           Case{". {\n    log {\n        class denial {\n        }\n    }\n}\n", "Corefile:3:9",
                "log: 'class' takes no block"},
           Case{". {\n  log ok.org\n  log a..b\n}\n", "Corefile:3:7", "log: invalid name 'a..b'"},
       }) {
    CAPTURE(c.corefile);
    auto r = parse(c.corefile);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().str() == std::string(c.where) + ": " + std::string(c.message));
  }
}

}  // namespace
}  // namespace moat::plugins::log
