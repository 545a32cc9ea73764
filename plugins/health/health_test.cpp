#include <doctest/doctest.h>

#include "conf/parser.hpp"
#include "plugins/health/health.hpp"

namespace moat::plugins::health {
namespace {

struct Setup {
  conf::Result<HandlerPtr> result = HandlerPtr();
  std::vector<HttpRoute> routes;
  std::chrono::milliseconds lameduck{0};
};

// Runs setupHealth on every block's `health` stanzas, as the runtime does, sharing the route
// list and the lameduck between blocks.
Setup run(std::string_view corefile) {
  Setup s;
  auto cf = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? std::string() : cf.error().str()));
  for (const conf::ServerBlock& block : cf->blocks) {
    SetupContext ctx;
    ctx.http = &s.routes;
    ctx.lameduck = &s.lameduck;
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "health") ctx.stanzas.push_back(&d);
    }
    s.result = setupHealth(ctx);
    if (!s.result) break;
  }
  return s;
}

TEST_CASE("health: address and lameduck") {
  struct Case {
    std::string_view corefile;
    std::string_view address;
    long long lameduckMs;
  };
  const Case cases[] = {
      {". {\n  health\n}\n", ":8080", 0},
      {". {\n  health localhost:8091\n}\n", "localhost:8091", 0},
      {". {\n  health [::1]:8080\n}\n", "[::1]:8080", 0},
      {". {\n  health 127.0.0.1:0\n}\n", "127.0.0.1:0", 0},
      {". {\n  health :8080 {\n    lameduck 5s\n  }\n}\n", ":8080", 5000},
      {". {\n  health {\n    lameduck 1.5s\n  }\n}\n", ":8080", 1500},
      {". {\n  health {\n    lameduck 0\n  }\n}\n", ":8080", 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    Setup s = run(c.corefile);
    REQUIRE_MESSAGE(s.result.ok(), (s.result.ok() ? std::string() : s.result.error().str()));
    CHECK(*s.result == nullptr);  // no query-path role
    REQUIRE(s.routes.size() == 1);
    CHECK(s.routes[0].address == c.address);
    CHECK(s.routes[0].path == "/health");
    HttpResponse r = s.routes[0].handle();
    CHECK(r.status == 200);
    CHECK(r.body == "OK");
    CHECK(r.contentType == "text/plain; charset=utf-8");
    CHECK(s.lameduck.count() == c.lameduckMs);
  }
}

TEST_CASE("health: several blocks each add their route, the longest lameduck wins") {
  Setup s = run(
      "a.test {\n  health :8080 {\n    lameduck 2s\n  }\n}\n"
      "b.test {\n  health :8080 {\n    lameduck 500ms\n  }\n}\n"
      "c.test {\n  health 127.0.0.1:8082\n}\n");
  REQUIRE(s.result.ok());
  REQUIRE(s.routes.size() == 3);  // the HTTP server keeps the first for :8080/health
  CHECK(s.routes[2].address == "127.0.0.1:8082");
  CHECK(s.lameduck == std::chrono::milliseconds(2000));
}

TEST_CASE("health: errors name their position") {
  struct Case {
    std::string_view corefile;
    std::string_view error;
  };
  const Case cases[] = {
      {". {\n  health 8080\n}\n", "Corefile:2:10: health: address must be host:port (e.g. :8080), got '8080'"},
      {". {\n  health localhost\n}\n",
       "Corefile:2:10: health: address must be host:port (e.g. :8080), got 'localhost'"},
      {". {\n  health :8080 :8081\n}\n", "Corefile:2:16: health: 'health' takes at most 1 argument, got 2"},
      {". {\n  health {\n    lameduck\n  }\n}\n",
       "Corefile:3:5: health: 'lameduck' takes exactly 1 argument, got 0"},
      {". {\n  health {\n    lameduck 5\n  }\n}\n",
       "Corefile:3:14: health: lameduck must be a duration such as 5s, 500ms or 1m30s, got '5'"},
      {". {\n  health {\n    lameduck -1s\n  }\n}\n",
       "Corefile:3:14: health: lameduck must not be negative, got '-1s'"},
      {". {\n  health {\n    lameduk 5s\n  }\n}\n",
       "Corefile:3:5: health: unknown option 'lameduk', did you mean 'lameduck'?"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    Setup s = run(c.corefile);
    REQUIRE_FALSE(s.result.ok());
    CHECK(s.result.error().str() == c.error);
  }
}

}  // namespace
}  // namespace moat::plugins::health
