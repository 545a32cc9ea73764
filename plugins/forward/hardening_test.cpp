// What an off-path attacker would have to beat (issue 11): randomized name case (DNS 0x20) and its
// check, health probes that accept only their own answer, a late reply that matches nothing,
// and random IDs and ports on the wire. spoof_test.cpp runs the attack itself on the binary.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "plugins/forward/test_util.hpp"
#include "tests/support/fake_upstream.hpp"

namespace moat::plugins::forward {
namespace {

using moat::testing::FakeUpstream;
using Mode = FakeUpstream::Mode;
using testing::Harness;
using testing::block;
using testing::hasA;
using testing::query;
using testing::rejected;
using namespace std::chrono_literals;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// 40 letters: the chance that randomization leaves every one as written is 2^-40.
const std::string kLongName = "abcdefghijklmnopqrst.uvwxyzabcdefghijklmn.Example.";

TEST_CASE("forward: randomize_case sends the name in random case and gives it back as asked") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address() + " {\n  randomize_case\n}"));
  auto o = h.ask(query(kLongName));
  REQUIRE(hasA(o.reply, "192.0.2.1"));
  const auto received = up.received().at(0);
  CHECK(received.name != kLongName);
  CHECK(lower(received.name) == lower(kLongName));
  // The client's own spelling in the question of its answer (ldns prints the question owner as
  // the answer's owner here: the fake compresses the answer name to the question).
  CHECK(o.query->reply.size() > 12 + 1);
  const std::string echoed(o.query->reply.begin() + 13, o.query->reply.begin() + 13 + 20);
  CHECK(echoed == "abcdefghijklmnopqrst");
  CHECK(o.reply.answer.at(0).rfind("abcdefghijklmnopqrst.uvwxyzabcdefghijklmn.Example.", 0) == 0);
  CHECK(rejected(h, Reject::Case) == 0);
}

TEST_CASE("forward: randomize_case with an upstream that folds case: the check fails, TCP answers") {
  FakeUpstream up;
  up.setMode(Mode::CaseFold);
  Harness h(block("forward . " + up.address() + " {\n  randomize_case\n}"));
  auto o = h.ask(query(kLongName));
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(rejected(h, Reject::Case) == 1);
  CHECK(h.stats().spoofingSuspected.load() == 1);
  CHECK(up.tcpQueries() == 1);
}

TEST_CASE("forward: without randomize_case the name goes out as the client wrote it") {
  FakeUpstream up;
  up.setMode(Mode::CaseFold);  // would fail a case check, so none is made
  Harness h(block("forward . " + up.address()));
  auto o = h.ask(query(kLongName));
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(up.received().at(0).name == kLongName);
  CHECK(up.tcpQueries() == 0);
}

TEST_CASE("forward: a health probe accepts only a response with its own ID") {
  FakeUpstream up;
  up.setMode(Mode::Silent);
  Harness h(block("forward . " + up.address() +
                  " {\n  read_timeout 100ms\n  max_connect_attempts 1\n  health_check 50ms\n}"));
  CHECK(h.ask(query("q.example.")).reply.rcode == 2);  // the failure starts the probes
  // Probes now get a forged-looking reply (another ID) first, then their own.
  up.setMode(Mode::SpoofId);
  const auto& shared = h.forward->shared();
  CHECK(h.runUntil(
      [&] {
        return shared.stats.probeRejected[static_cast<size_t>(Reject::Id)].load() >= 1 &&
               !h.upstream(0, 0).probing.load();
      },
      3000ms));
  CHECK(h.upstream(0, 0).fails.load() == 0);  // the genuine reply still counted
}

TEST_CASE("forward: a reply arriving after its attempt timed out matches nothing") {
  FakeUpstream up;
  up.setMode(Mode::Numbered);  // the first query is answered 192.0.2.1, the second 192.0.2.2
  // Attempt 1 times out at 200 ms; attempt 2 (same upstream) is sent then and answered 150 ms
  // later. Attempt 1's reply arrives at 300 ms, while attempt 2 waits: it must not answer it.
  up.setDelays({300ms, 150ms});
  Harness h(block("forward . " + up.address() + " {\n  read_timeout 200ms\n  max_fails 0\n}"));
  auto o = h.ask(query("late.example."));
  CHECK(hasA(o.reply, "192.0.2.2"));
  CHECK_FALSE(hasA(o.reply, "192.0.2.1"));
  CHECK(h.stats().timeouts.load() == 1);
  const auto sent = up.received();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].sourcePort != sent[1].sourcePort);  // the retry left from another socket
  CHECK(h.stats().spoofingSuspected.load() == 0);
}

TEST_CASE("forward: IDs and source ports vary from query to query") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  for (int k = 0; k < 100; ++k) {
    REQUIRE(hasA(h.ask(query("q" + std::to_string(k) + ".example.", 0x1111)).reply, "192.0.2.1"));
  }
  std::set<uint16_t> ids, ports;
  for (const auto& r : up.received()) {
    ids.insert(r.id);
    ports.insert(r.sourcePort);
  }
  // 100 draws of 16 bits; 100 picks among 1024 sockets (each on its own random port).
  CHECK(ids.size() >= 95);
  CHECK(ports.size() >= 80);
}

}  // namespace
}  // namespace moat::plugins::forward
