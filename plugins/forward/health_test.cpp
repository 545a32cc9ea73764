// Upstream health: failures start probes, failed probes mark an upstream down (after more than
// max_fails), down upstreams are skipped, a reply brings them back, and with every upstream
// down one is used anyway (or SERVFAIL with failfast_all_unhealthy_upstreams).
#include <doctest/doctest.h>

#include "plugins/forward/test_util.hpp"
#include "tests/support/fake_upstream.hpp"

namespace moat::plugins::forward {
namespace {

using moat::testing::FakeUpstream;
using testing::Harness;
using testing::block;
using testing::hasA;
using testing::query;
using namespace std::chrono_literals;


std::string closedAddress(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

TEST_CASE("forward: a failing upstream is probed, marked down, skipped, and recovers") {
  testing::ClosedPort closed;
  const uint16_t port = closed.port();
  FakeUpstream good;
  Harness h(block("forward . " + closedAddress(port) + " " + good.address() +
                  " {\n  policy sequential\n  max_fails 1\n  health_check 50ms\n}"));
  CHECK(hasA(h.ask(query("one.example.")).reply, "192.0.2.1"));
  // The refused attempt started probing; refused probes fail fast, two make it down.
  CHECK(h.runUntil([&] { return h.upstream(0, 0).down(1); }, 3000ms));
  const auto failedBefore = h.stats().failedAttempts.load();
  CHECK(hasA(h.ask(query("two.example.")).reply, "192.0.2.1"));
  CHECK(h.stats().failedAttempts.load() == failedBefore);  // the down upstream was not tried
  // Bring it up: the next probe gets a reply and resets the count.
  closed.release();
  FakeUpstream revived(port);
  CHECK(h.runUntil([&] { return h.upstream(0, 0).fails.load() == 0; }, 3000ms));
  CHECK_FALSE(h.upstream(0, 0).probing.load());
  revived.setAnswerAddress("192.0.2.99");
  CHECK(hasA(h.ask(query("three.example.")).reply, "192.0.2.99"));
  CHECK(h.upstream(0, 0).healthcheckFailures.load() >= 2);
}

TEST_CASE("forward: health probes ask `. IN NS` with RD, or as configured") {
  FakeUpstream up;
  up.setMode(FakeUpstream::Mode::Silent);
  SUBCASE("default") {
    Harness h(block("forward . " + up.address() +
                    " {\n  read_timeout 100ms\n  max_connect_attempts 1\n}"));
    CHECK(h.ask(query("q.example.")).reply.rcode == 2);
    CHECK(h.runUntil([&] { return up.received().size() >= 2; }, 3000ms));
    auto probe = up.received().at(1);
    CHECK(probe.name == ".");
    CHECK(probe.type == 2);
    CHECK(probe.rd);
  }
  SUBCASE("no_rec and domain") {
    Harness h(block("forward . " + up.address() +
                    " {\n  read_timeout 100ms\n  max_connect_attempts 1\n"
                    "  health_check 100ms no_rec domain health.example\n}"));
    CHECK(h.ask(query("q.example.")).reply.rcode == 2);
    CHECK(h.runUntil([&] { return up.received().size() >= 2; }, 3000ms));
    auto probe = up.received().at(1);
    CHECK(probe.name == "health.example.");
    CHECK_FALSE(probe.rd);
  }
}

TEST_CASE("forward: max_fails 0 disables health checking") {
  testing::ClosedPort closed;
  const uint16_t port = closed.port();
  Harness h(
      block("forward . " + closedAddress(port) + " {\n  max_fails 0\n  health_check 10ms\n}"));
  CHECK(h.ask(query("q.example.")).reply.rcode == 2);
  h.runFor(200ms);
  CHECK_FALSE(h.upstream(0, 0).probing.load());
  CHECK(h.upstream(0, 0).fails.load() == 0);
  CHECK(h.upstream(0, 0).healthcheckFailures.load() == 0);
}

TEST_CASE("forward: with every upstream down one is tried anyway, unless failfast") {
  testing::ClosedPort closed;
  const uint16_t port = closed.port();
  SUBCASE("random pick") {
    Harness h(
        block("forward . " + closedAddress(port) + " {\n  max_fails 1\n  health_check 20ms\n}"));
    CHECK(h.ask(query("a.example.")).reply.rcode == 2);
    CHECK(h.runUntil([&] { return h.upstream(0, 0).down(1); }, 3000ms));
    const auto attempts = h.stats().failedAttempts.load();
    auto o = h.ask(query("b.example."));
    CHECK(o.reply.rcode == 2);
    CHECK(h.stats().failedAttempts.load() == attempts + 1);  // sent, refused, given up
    CHECK(h.stats().healthcheckBroken.load() >= 1);
  }
  SUBCASE("failfast_all_unhealthy_upstreams") {
    Harness h(
        block("forward . " + closedAddress(port) +
              " {\n  max_fails 1\n  health_check 20ms\n  failfast_all_unhealthy_upstreams\n}"));
    CHECK(h.ask(query("a.example.")).reply.rcode == 2);
    CHECK(h.runUntil([&] { return h.upstream(0, 0).down(1); }, 3000ms));
    const auto attempts = h.stats().failedAttempts.load();
    auto o = h.start(query("b.example."));
    CHECK(o.verdict == Verdict::Answered);  // decided at once, nothing sent
    CHECK(o.reply.rcode == 2);
    CHECK(o.query->error == "no healthy proxies");
    CHECK(h.stats().failedAttempts.load() == attempts);
  }
}

TEST_CASE("forward: a handler rebuilt by a reload keeps a dead upstream down, and probes it") {
  testing::ClosedPort closed;
  const uint16_t port = closed.port();
  FakeUpstream good;
  const std::string config = "forward . " + closedAddress(port) + " " + good.address() +
                             " {\n  policy sequential\n  max_fails 1\n  health_check 50ms\n}";
  Harness old(block(config));
  CHECK(hasA(old.ask(query("one.example.")).reply, "192.0.2.1"));
  REQUIRE(old.runUntil([&] { return old.upstream(0, 0).down(1); }, 3000ms));

  // Built while the old one still serves, as a reload does: the dead upstream is not retried.
  Harness rebuilt(block(config));
  CHECK(rebuilt.upstream(0, 0).down(1));
  CHECK_FALSE(rebuilt.upstream(0, 1).down(1));
  CHECK(rebuilt.upstream(0, 0).probing.load());  // its probe loop restarted
  CHECK(hasA(rebuilt.ask(query("two.example.")).reply, "192.0.2.1"));
  CHECK(rebuilt.stats().failedAttempts.load() == 0);

  // Probed differently (another max_fails): nothing carried.
  Harness changed(block("forward . " + closedAddress(port) + " " + good.address() +
                        " {\n  policy sequential\n  max_fails 3\n  health_check 50ms\n}"));
  CHECK(changed.upstream(0, 0).fails.load() == 0);

  // The upstream comes back: the rebuilt handler's probe sees it.
  closed.release();
  FakeUpstream revived(port);
  CHECK(rebuilt.runUntil([&] { return rebuilt.upstream(0, 0).fails.load() == 0; }, 3000ms));
}

}  // namespace
}  // namespace moat::plugins::forward
