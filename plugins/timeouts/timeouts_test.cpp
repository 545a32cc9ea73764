#include "plugins/timeouts/timeouts.hpp"

#include <doctest/doctest.h>

#include "tests/support/plugin_test_util.hpp"

namespace moat::plugins::timeouts {
namespace {

using namespace std::chrono_literals;

conf::Result<Timeouts> parse(const std::string& corefile) {
  auto parsed = moat::testing::stanzasOf(corefile, "timeouts");
  return parseTimeouts(parsed.stanzas);
}

TEST_CASE("timeouts: each option, bare seconds, and -1 for unlimited queries") {
  auto t = parse(". {\n  timeouts {\n    read 15\n    write 30s\n    idle 2m\n    maxtcpqueries -1\n  }\n}\n");
  REQUIRE(t);
  CHECK(t->read == 15s);
  CHECK(t->write == 30s);
  CHECK(t->idle == 120s);
  CHECK(t->maxTcpQueries == 0u);
  dns::server::TcpLimits limits;
  limits.maxQueries = 7;
  applyTo(*t, limits);
  CHECK(limits.read == 15s);
  CHECK(limits.idle == 120s);
  CHECK(limits.maxQueries == 0);
}

TEST_CASE("timeouts: options not written keep the listener's values, and the last stanza wins") {
  auto t = parse(". {\n  timeouts {\n    read 5s\n  }\n  timeouts {\n    maxtcpqueries 128\n    read 7s\n  }\n}\n");
  REQUIRE(t);
  dns::server::TcpLimits limits;
  applyTo(*t, limits);
  CHECK(limits.read == 7s);
  CHECK(limits.write == 5s);    // CoreDNS's defaults
  CHECK(limits.idle == 10s);
  CHECK(limits.maxQueries == 128);
  CHECK(limits.maxConnections == 256);
}

TEST_CASE("timeouts: errors name the place") {
  struct Case {
    const char* corefile;
    const char* error;
  };
  const Case cases[] = {
      {". {\n  timeouts\n}\n", ":2:3: timeouts: needs at least one of"},
      {". {\n  timeouts 5s {\n    read 1s\n  }\n}\n", ":2:12: timeouts: takes no arguments"},
      {". {\n  timeouts {\n    read 0.5s\n  }\n}\n", ":3:10: timeouts: '0.5s' must be from 1 second"},
      {". {\n  timeouts {\n    read 25h\n  }\n}\n", ":3:10: timeouts: '25h' must be from 1 second"},
      {". {\n  timeouts {\n    read soon\n  }\n}\n", ":3:10: timeouts: 'soon' is not a duration"},
      {". {\n  timeouts {\n    read 1s 2s\n  }\n}\n", ":3:13: timeouts: 'read' takes exactly 1 argument"},
      {". {\n  timeouts {\n    maxtcpqueries -2\n  }\n}\n", ":3:19: timeouts: maxtcpqueries"},
      {". {\n  timeouts {\n    idel 1s\n  }\n}\n", "did you mean 'idle'?"},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.corefile));
    auto t = parse(c.corefile);
    REQUIRE_FALSE(t);
    CHECK_MESSAGE(t.error().str().find(c.error) != std::string::npos, t.error().str());
  }
}

}  // namespace
}  // namespace moat::plugins::timeouts
