// Building and destroying the handler around running and stopped loops: a reload builds the new
// handler and drops the old one while the workers run; shutdown drops it after they stopped; a
// failed start drops it before they ever ran. None of these may crash or resume a query late.
#include <doctest/doctest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "plugins/forward/test_util.hpp"
#include "tests/support/fake_upstream.hpp"

namespace moat::plugins::forward {
namespace {

namespace asio = boost::asio;
using moat::testing::FakeUpstream;
using namespace std::chrono_literals;

std::vector<Stanza> stanzas(const FakeUpstream& up, const std::string& options = "") {
  auto parsed = testing::parse(". {\n  forward . " + up.address() + " {\n" + options + "\n  }\n}\n");
  REQUIRE(parsed.ok());
  return std::move(*parsed);
}

// Runs `fn` on the loop's thread and waits for its result.
template <class Fn>
auto onLoop(asio::io_context& io, Fn fn) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto result = task.get_future();
  asio::post(io, [&task] { task(); });
  return result.get();
}

TEST_CASE("forward: built and dropped while the loops run (reload)") {
  FakeUpstream up;
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  std::vector<asio::io_context*> loops{&io};
  testing::RecordingRunner runner;
  dns::Query answered, pending;

  auto fwd = std::make_shared<Forward>(stanzas(up), std::span(loops));
  auto ask = [&](dns::Query& q, const char* name) {
    return onLoop(io, [&] {
      moat::testing::loadQuery(q, moat::testing::makeQuery(testing::query(name)));
      q.dispatcher = &runner;
      q.worker = 0;
      return fwd->onQuery(q);
    });
  };
  CHECK(ask(answered, "first.example.") == Verdict::Pending);
  for (int i = 0; i < 100 && onLoop(io, [&] { return runner.resumed.size(); }) == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(onLoop(io, [&] { return runner.resumed.size(); }) == 1);

  // A query still pending when the handler goes is abandoned, never resumed.
  up.setMode(FakeUpstream::Mode::Silent);
  CHECK(ask(pending, "second.example.") == Verdict::Pending);
  fwd.reset();  // from this thread, while the loop runs: shutdown is posted to the loop
  std::this_thread::sleep_for(300ms);
  CHECK(onLoop(io, [&] { return runner.resumed.size(); }) == 1);

  guard.reset();
  io.stop();
  loop.join();
}

TEST_CASE("forward: dropped after the loops stopped (shutdown)") {
  FakeUpstream up;
  asio::io_context io;
  std::vector<asio::io_context*> loops{&io};
  auto fwd = std::make_shared<Forward>(stanzas(up, "    force_tcp"), std::span(loops));
  testing::RecordingRunner runner;
  dns::Query q;
  io.poll();
  moat::testing::loadQuery(q, moat::testing::makeQuery(testing::query("x.example.")));
  q.dispatcher = &runner;
  q.worker = 0;
  CHECK(fwd->onQuery(q) == Verdict::Pending);
  io.run_for(50ms);  // mid-exchange, or done: either way nothing may outlive the loop badly
  io.stop();
  fwd.reset();  // the loop is stopped: closes everything from this thread
  CHECK(io.stopped());
}

TEST_CASE("forward: dropped before the loops ever ran (failed start)") {
  FakeUpstream up;
  auto io = std::make_unique<asio::io_context>();
  std::vector<asio::io_context*> loops{io.get()};
  auto fwd = std::make_shared<Forward>(stanzas(up), std::span(loops));
  fwd.reset();
  io.reset();  // queued start() and shutdown() are destroyed unrun
  CHECK(up.queries() == 0);
}

TEST_CASE("forward: two workers on two threads share upstream health, not in-flight state") {
  FakeUpstream good;
  const testing::ClosedPort closedPort;
  const uint16_t closed = closedPort.port();
  auto parsed = testing::parse(". {\n  forward . 127.0.0.1:" + std::to_string(closed) + " " +
                               good.address() +
                               " {\n    policy sequential\n    max_fails 1\n"
                               "    health_check 20ms\n  }\n}\n");
  REQUIRE(parsed.ok());
  asio::io_context io0, io1;
  auto guard0 = asio::make_work_guard(io0);
  auto guard1 = asio::make_work_guard(io1);
  std::thread t0([&] { io0.run(); });
  std::thread t1([&] { io1.run(); });
  std::vector<asio::io_context*> loops{&io0, &io1};
  auto fwd = std::make_shared<Forward>(std::move(*parsed), std::span(loops));
  testing::RecordingRunner runners[2];
  std::vector<std::unique_ptr<dns::Query>> queries;
  for (int i = 0; i < 40; ++i) queries.push_back(std::make_unique<dns::Query>());

  // The first queries meet the dead upstream; probes run on loop 0, both workers read the result.
  for (int i = 0; i < 40; ++i) {
    const unsigned w = static_cast<unsigned>(i % 2);
    auto& io = w == 0 ? io0 : io1;
    CHECK(onLoop(io, [&, i, w] {
            auto& q = *queries[static_cast<size_t>(i)];
            moat::testing::loadQuery(
                q, moat::testing::makeQuery(testing::query("m" + std::to_string(i) + ".example.")));
            q.dispatcher = &runners[w];
            q.worker = w;
            return fwd->onQuery(q);
          }) == Verdict::Pending);
    if (i == 1) {
      // Wait until the dead upstream is marked down by the probes on loop 0.
      for (int k = 0; k < 300 && !fwd->shared().stanzas[0]->upstreams[0]->down(1); ++k) {
        std::this_thread::sleep_for(10ms);
      }
      CHECK(fwd->shared().stanzas[0]->upstreams[0]->down(1));
    }
  }
  auto resumed = [&] {
    return onLoop(io0, [&] { return runners[0].resumed.size(); }) +
           onLoop(io1, [&] { return runners[1].resumed.size(); });
  };
  for (int k = 0; k < 300 && resumed() < 40; ++k) std::this_thread::sleep_for(10ms);
  CHECK(resumed() == 40);
  CHECK(good.queries() >= 40);
  fwd.reset();
  guard0.reset();
  guard1.reset();
  io0.stop();
  io1.stop();
  t0.join();
  t1.join();
}

TEST_CASE("forward: built without loops answers SERVFAIL for its names, Next for others") {
  FakeUpstream up;
  auto parsed = testing::parse(". {\n  forward example.org " + up.address() + "\n}\n");
  REQUIRE(parsed.ok());
  Forward fwd(std::move(*parsed), {});
  dns::Query q;
  moat::testing::loadQuery(q, moat::testing::makeQuery(testing::query("a.example.org.")));
  CHECK(fwd.onQuery(q) == Verdict::Answered);
  CHECK(moat::testing::decode(q.reply).rcode == 2);
  moat::testing::loadQuery(q, moat::testing::makeQuery(testing::query("a.example.net.")));
  CHECK(fwd.onQuery(q) == Verdict::Next);
}

}  // namespace
}  // namespace moat::plugins::forward
