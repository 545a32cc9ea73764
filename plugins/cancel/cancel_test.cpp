#include "plugins/cancel/cancel.hpp"

#include <doctest/doctest.h>

#include <memory>

#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::cancel {
namespace {

using namespace std::chrono_literals;
using moat::testing::stanzasOf;

conf::Result<std::chrono::nanoseconds> parse(const std::string& corefile) {
  auto parsed = stanzasOf(corefile, "cancel");
  return parseTimeout(parsed.stanzas);
}

TEST_CASE("setup: 5001 ms by default, a Go duration otherwise, the last line wins") {
  CHECK(*parse("example.org {\n    cancel\n    whoami\n}\n") == 5001ms);
  CHECK(*parse("example.org {\n    cancel 1s\n    whoami\n}\n") == 1s);
  CHECK(*parse(". {\n  cancel 1m30s\n}\n") == 90s);
  CHECK(*parse(". {\n  cancel 250ms\n  cancel 2s\n}\n") == 2s);
}

TEST_CASE("setup errors, each at its place") {
  struct Case {
    std::string corefile;
    int line, col;
    std::string says;
  };
  const std::vector<Case> cases = {
      {". {\n  cancel 5\n}\n", 2, 10, "must be a duration"},
      {". {\n  cancel abc\n}\n", 2, 10, "must be a duration"},
      {". {\n  cancel 0s\n}\n", 2, 10, "above zero"},
      {". {\n  cancel -1s\n}\n", 2, 10, "above zero"},
      {". {\n  cancel 1s 2s\n}\n", 2, 13, "cancel"},
      {". {\n  cancel {\n    x\n  }\n}\n", 2, 3, "takes no block"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    auto r = parse(c.corefile);
    REQUIRE_FALSE(r);
    CHECK(r.error().pos.line == c.line);
    CHECK(r.error().pos.col == c.col);
    CHECK_MESSAGE(r.error().message.find(c.says) != std::string::npos, r.error().message);
  }
}

TEST_CASE("every query gets its deadline from when it came in, and goes on, no allocation") {
  Cancel h(1s);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "example.org.", .type = 1}));
  q->start = std::chrono::steady_clock::now() - 300ms;
  testing::allocations = 0;
  testing::counting = true;
  const Verdict v = h.onQuery(*q);
  testing::counting = false;
  CHECK(testing::allocations == 0);
  CHECK(v == Verdict::Next);
  CHECK(q->deadline == q->start + 1s);
}

TEST_CASE("a sooner deadline already on the query (its parent's) stays") {
  Cancel h(5s);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "example.org.", .type = 1}));
  q->start = std::chrono::steady_clock::now();
  const auto sooner = q->start + 1s;
  q->deadline = sooner;
  h.onQuery(*q);
  CHECK(q->deadline == sooner);
  q->reset();
  CHECK(q->deadline == std::chrono::steady_clock::time_point{});
}

TEST_CASE("explain says what the deadline does") {
  Cancel h(1500ms);
  testing::TraceNotes notes;
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "example.org.", .type = 1}));
  q->trace = &notes;
  h.onQuery(*q);
  REQUIRE(notes.lines.size() == 1);
  CHECK(notes.lines[0] == "cancel: the query is given up after 1500 ms: forward starts no attempt past it");
}

}  // namespace
}  // namespace moat::plugins::cancel
