// forward and a query's deadline (what `cancel` sets): no attempt starts past it, as CoreDNS's
// forward stops its loop once the request's context is done; the attempt in flight finishes.
#include <doctest/doctest.h>

#include "plugins/forward/test_util.hpp"
#include "tests/support/fake_upstream.hpp"

namespace moat::plugins::forward {
namespace {

using moat::testing::FakeUpstream;
using testing::Harness;
using testing::block;
using testing::query;
using Mode = FakeUpstream::Mode;

TEST_CASE("forward: past the query's deadline no further attempt starts, SERVFAIL with the error") {
  FakeUpstream a, b;
  a.setMode(Mode::Silent);
  b.setMode(Mode::Silent);
  Harness h(block("forward . " + a.address() + " " + b.address() +
                  " {\n  policy sequential\n  read_timeout 300ms\n}"));
  h.cancelAfter = std::chrono::milliseconds(100);
  auto o = h.ask(query("cancelled.example."));
  REQUIRE(o.completed);
  CHECK(o.reply.rcode == 2);
  // The first attempt ran its read_timeout; without the deadline four would have (1.2 s).
  CHECK(o.seconds >= 0.25);
  CHECK(o.seconds < 0.9);
  CHECK(h.stats().timeouts.load() == 1);
  CHECK(b.udpQueries() == 0);
  CHECK(o.query->error.find("i/o timeout") != std::string_view::npos);
}

TEST_CASE("forward: a deadline later than the attempts leaves failover as it was") {
  FakeUpstream silent, good;
  silent.setMode(Mode::Silent);
  Harness h(block("forward . " + silent.address() + " " + good.address() +
                  " {\n  policy sequential\n  read_timeout 200ms\n}"));
  h.cancelAfter = std::chrono::milliseconds(3000);
  auto o = h.ask(query("late.example."));
  REQUIRE(o.completed);
  CHECK(o.reply.rcode == 0);
  CHECK(good.udpQueries() == 1);
}

}  // namespace
}  // namespace moat::plugins::forward
