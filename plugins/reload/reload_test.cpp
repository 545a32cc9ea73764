#include "plugins/reload/reload.hpp"

#include <doctest/doctest.h>

#include "conf/parser.hpp"

using namespace moat;
using namespace moat::plugins::reload;

namespace {
conf::Corefile parse(const std::string& text) {
  auto c = conf::parseCorefile(text, "Corefile");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().str()));
  return *c;
}
}  // namespace

TEST_CASE("the hash ignores comments and layout, and sees every key, directive and argument") {
  std::string base = corefileHash(parse(".:53 {\n  hosts {\n    192.0.2.1 a.test\n  }\n  reload\n}\n"));
  CHECK(base.size() == 128);
  CHECK(corefileHash(parse("# note\n.:53 {\n\n  reload   # again\n  hosts {\n 192.0.2.1   a.test\n}\n}\n")) != base);  // order of directives counts
  CHECK(corefileHash(parse("# note\n.:53 {\n  hosts {\n      192.0.2.1 a.test # x\n  }\n\n  reload\n}\n")) == base);
  CHECK(corefileHash(parse(".:53 {\n  hosts {\n    192.0.2.2 a.test\n  }\n  reload\n}\n")) != base);
  CHECK(corefileHash(parse(".:54 {\n  hosts {\n    192.0.2.1 a.test\n  }\n  reload\n}\n")) != base);
  CHECK(corefileHash(parse(".:53 {\n  hosts {\n    192.0.2.1 a.test\n  }\n  reload 10s\n}\n")) != base);
}

TEST_CASE("reload INTERVAL JITTER: CoreDNS's defaults and limits") {
  struct Case {
    const char* line;
    long interval, jitter;  // ms; -1: error expected
    const char* error;
  };
  const Case cases[] = {
      {"reload", 30000, 15000, ""},
      {"reload 10s", 10000, 5000, ""},
      {"reload 10s 2s", 10000, 2000, ""},
      {"reload 10s 0", 10000, 0, ""},
      {"reload 10s 8s", 10000, 5000, ""},  // capped at half the interval
      {"reload 1s", -1, -1, "Corefile:2:10: reload: interval must be at least 2s"},
      {"reload 10s 500ms", -1, -1, "Corefile:2:14: reload: jitter must be 0 or at least 1s"},
      {"reload 10s 2s 3s", -1, -1, "Corefile:2:17: reload: expected at most INTERVAL and JITTER"},
      {"reload ten", -1, -1, "Corefile:2:10:"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    auto corefile = parse(std::string(".:53 {\n  ") + c.line + "\n}\n");
    auto found = findConfig(corefile);
    if (c.interval < 0) {
      REQUIRE_FALSE(found.ok());
      CHECK(found.error().str().rfind(c.error, 0) == 0);
      continue;
    }
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->interval.count() == c.interval);
    CHECK((*found)->jitter.count() == c.jitter);
  }
  auto none = findConfig(parse(".:53 {\n  whoami\n}\n"));
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}
