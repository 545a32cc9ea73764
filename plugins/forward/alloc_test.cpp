// A warm worker forwards over UDP without touching the heap: onQuery, the send, the receive
// loop, the sweep timer and resume. Only this thread's allocations are counted, so the fake
// upstream (its own thread) does not disturb the count.
#include <doctest/doctest.h>

#include "plugins/forward/test_util.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/tls.hpp"

namespace moat::plugins::forward {
namespace {

using moat::testing::allocations;
using moat::testing::counting;
using moat::testing::FakeUpstream;
using testing::Harness;

// Forwards `rounds` queries through `h` after warming it up; the allocations made by this
// thread meanwhile.
size_t allocationsForwarding(Harness& h, int rounds) {
  dns::Query q;
  q.reply.reserve(512);  // the server's pooled queries keep their reply capacity
  h.runner.resumed.reserve(1024);
  const auto packet = moat::testing::makeQuery(testing::query("warm.example."));

  // One query from start to resume; true when it was answered in time.
  auto roundTrip = [&] {
    q.reset();
    moat::testing::loadQuery(q, packet);
    q.dispatcher = &h.runner;
    q.worker = 0;
    const size_t before = h.runner.resumed.size();
    if (h.forward->onQuery(q) != Verdict::Pending) return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    h.io.restart();
    while (h.runner.resumed.size() == before && std::chrono::steady_clock::now() < deadline) {
      h.io.run_one_for(std::chrono::milliseconds(20));
    }
    return h.runner.resumed.size() == before + 1;
  };

  for (int i = 0; i < 50; ++i) REQUIRE(roundTrip());  // warm: slots, ID table, asio's caches

  counting = true;  // the counter itself works
  allocations = 0;
  int* volatile probe = new int(1);  // volatile: the pair may not be optimised away
  delete probe;
  counting = false;
  REQUIRE(allocations == 1);

  counting = true;
  allocations = 0;
  int answered = 0;
  for (int i = 0; i < rounds; ++i) answered += roundTrip() ? 1 : 0;
  counting = false;
  CHECK(answered == rounds);
  CHECK(moat::testing::decode(q.reply).rcode == 0);
  return allocations;
}

TEST_CASE("forward: a warm worker forwards over UDP without allocating") {
  FakeUpstream up;
  Harness h(". {\n  forward . " + up.address() + "\n}\n");
  CHECK(allocationsForwarding(h, 200) == 0);
}

// Over TLS too: the query framed into the connection's queue, the write, the reader's
// coroutine and OpenSSL's records reuse what the warm-up left (unbound is the upstream).
TEST_CASE("forward: a warm worker forwards over TLS without allocating") {
  moat::testing::TempDir dir, unboundDir;
  moat::testing::TestPki pki(dir);
  moat::testing::UnboundDot up(unboundDir, moat::testing::freePort(), pki.serverCert(), pki.serverKey(),
                               {"warm.example. 300 IN A 192.0.2.1"});
  Harness h(". {\n  forward . tls://127.0.0.1:" + std::to_string(up.port()) + " {\n    tls " + pki.ca() +
            "\n    tls_servername dns.test\n  }\n}\n");
  CHECK(allocationsForwarding(h, 200) == 0);
}

}  // namespace
}  // namespace moat::plugins::forward
