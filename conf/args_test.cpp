#include "conf/args.hpp"

#include <doctest/doctest.h>

#include <limits>

namespace moat::conf {
namespace {

Token tok(std::string text, uint32_t line = 3, uint32_t col = 7) {
  return Token{std::move(text), Pos{"Corefile", line, col}, false};
}

Directive dir(std::string name, std::vector<std::string> args) {
  Directive d;
  d.name = tok(std::move(name), 2, 3);
  uint32_t col = 10;
  for (auto& a : args) {
    d.args.push_back(tok(std::move(a), 2, col));
    col += 5;
  }
  return d;
}

TEST_CASE("parseInt accepts integers inside the range") {
  struct Case {
    const char* text;
    int64_t want;
  };
  const Case cases[] = {{"1", 1}, {"65535", 65535}, {"300", 300}, {"+7", 7}, {"007", 7}};
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parseInt(tok(c.text), "hosts", "ttl", 1, 65535);
    REQUIRE(r.ok());
    CHECK(*r == c.want);
  }
}

TEST_CASE("parseInt handles the extremes of int64") {
  auto lo = parseInt(tok("-9223372036854775808"), "p", "n", std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::max());
  REQUIRE(lo.ok());
  CHECK(*lo == std::numeric_limits<int64_t>::min());
  auto hi = parseInt(tok("9223372036854775807"), "p", "n", 0,
                     std::numeric_limits<int64_t>::max());
  REQUIRE(hi.ok());
  CHECK(*hi == std::numeric_limits<int64_t>::max());
  CHECK_FALSE(parseInt(tok("9223372036854775808"), "p", "n", 0,
                       std::numeric_limits<int64_t>::max())
                  .ok());
}

TEST_CASE("parseInt rejects non-integers and out-of-range values with a positioned message") {
  const char* bad[] = {"x", "", "0", "65536", "-1", "1.5", "1e3", "12a", "+", "99999999999999999999"};
  for (const char* text : bad) {
    CAPTURE(text);
    auto r = parseInt(tok(text), "hosts", "ttl", 1, 65535);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          std::string("hosts: ttl must be an integer from 1 to 65535, got '") + text + "'");
    CHECK(r.error().pos.line == 3);
    CHECK(r.error().pos.col == 7);
    CHECK(r.error().severity == Severity::Error);
  }
}

TEST_CASE("parseDuration accepts Go duration syntax") {
  using namespace std::chrono;
  struct Case {
    const char* text;
    nanoseconds want;
  };
  const Case cases[] = {
      {"0", 0ns},
      {"-0", 0ns},
      {"5s", 5s},
      {"500ms", 500ms},
      {"1m30s", 90s},
      {"2h", 2h},
      {"1.5s", 1500ms},
      {".5s", 500ms},
      {"1.s", 1s},
      {"10ns", 10ns},
      {"3us", 3us},
      {"3\xC2\xB5s", 3us},
      {"3\xCE\xBCs", 3us},
      {"1h2m3s4ms5us6ns", 1h + 2min + 3s + 4ms + 5us + 6ns},
      {"-1.5h", -90min},
      {"+5s", 5s},
      {"0s", 0ns},
      {"2562047h", 2562047h},
      {"0.000000001s", 1ns},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto r = parseDuration(tok(c.text), "hosts", "reload");
    REQUIRE(r.ok());
    CHECK(r->count() == c.want.count());
  }
}

TEST_CASE("parseDuration rejects bare numbers, unknown units and overflow") {
  const char* bad[] = {"5",    "",    "s",     "1x",   "1S",   "1.5",       ".",
                       "-",    "5 s", "1h-2m", "1..5s", "ms",  "2562048h", "1e3s"};
  for (const char* text : bad) {
    CAPTURE(text);
    auto r = parseDuration(tok(text), "hosts", "reload");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          std::string("hosts: reload must be a duration such as 5s, 500ms or 1m30s, got '") +
              text + "'");
    CHECK(r.error().pos.str() == "Corefile:3:7");
  }
}

TEST_CASE("errorAt prefixes the plugin name and keeps the token position") {
  Diag d = errorAt(tok("x", 9, 4), "forward", "expected IP[:port] or a file, got 'x'");
  CHECK(d.str() == "Corefile:9:4: forward: expected IP[:port] or a file, got 'x'");
  CHECK(d.severity == Severity::Error);
  CHECK(errorAt(tok("x"), "", "bare").message == "bare");
}

TEST_CASE("unknownOption names the option and suggests the closest known one") {
  Directive polcy = dir("polcy", {"random"});
  Diag d = unknownOption(polcy, "forward", {"policy", "force_tcp", "expire"});
  CHECK(d.message == "forward: unknown option 'polcy', did you mean 'policy'?");
  CHECK(d.pos.line == 2);
  CHECK(d.pos.col == 3);

  Directive far = dir("zzzzzz", {});
  CHECK(unknownOption(far, "forward", {"policy", "expire"}).message ==
        "forward: unknown option 'zzzzzz'");
}

TEST_CASE("didYouMean returns the closest candidate within distance 2") {
  struct Case {
    const char* word;
    const char* want;
  };
  const Case cases[] = {
      {"polcy", "policy"},         // deletion
      {"fallthrought", "fallthrough"},
      {"ttl", "ttl"},              // exact
      {"tlls", "tls"},
      {"forwrd", "forward"},
      {"kubernets", "kubernetes"},
      {"xyz", ""},                 // distance 3 from everything
      {"", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.word);
    CHECK(didYouMean(c.word, {"policy", "fallthrough", "ttl", "tls", "forward", "kubernetes"}) ==
          c.want);
  }
}

TEST_CASE("didYouMean prefers the smaller distance, then the earlier candidate") {
  CHECK(didYouMean("cach", {"catch", "cache"}) == "catch");  // both at distance 1: first wins
  CHECK(didYouMean("cachee", {"cacheeee", "cache"}) == "cache");  // 1 beats 2
}

TEST_CASE("expectArgs accepts counts inside the range") {
  CHECK(expectArgs(dir("ttl", {"5"}), "hosts", 1, 1).ok());
  CHECK(expectArgs(dir("no_reverse", {}), "hosts", 0, 0).ok());
  CHECK(expectArgs(dir("except", {"a", "b", "c"}), "forward", 1,
                   std::numeric_limits<size_t>::max())
            .ok());
}

TEST_CASE("expectArgs explains the expected count and points at the culprit") {
  struct Case {
    std::vector<std::string> args;
    size_t min, max;
    const char* message;
    uint32_t col;
  };
  const size_t many = std::numeric_limits<size_t>::max();
  const Case cases[] = {
      {{}, 1, 1, "hosts: 'opt' takes exactly 1 argument, got 0", 3},
      {{"a", "b"}, 1, 1, "hosts: 'opt' takes exactly 1 argument, got 2", 15},
      {{"a"}, 0, 0, "hosts: 'opt' takes no arguments, got 1", 10},
      {{}, 2, many, "hosts: 'opt' takes at least 2 arguments, got 0", 3},
      {{"a", "b", "c"}, 0, 2, "hosts: 'opt' takes at most 2 arguments, got 3", 20},
      {{"a"}, 2, 3, "hosts: 'opt' takes 2 to 3 arguments, got 1", 3},
      {{"a", "b"}, 3, 3, "hosts: 'opt' takes exactly 3 arguments, got 2", 3},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    auto r = expectArgs(dir("opt", c.args), "hosts", c.min, c.max);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
    CHECK(r.error().pos.line == 2);
    CHECK(r.error().pos.col == c.col);
  }
}

}  // namespace
}  // namespace moat::conf
