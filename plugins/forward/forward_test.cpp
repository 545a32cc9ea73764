// The forward handler over UDP, driven directly: routing (FROM, except, several stanzas),
// relaying, ID restoration, timeouts, failover, policies, max_concurrent, spoofed replies.
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
using testing::rejected;
using Mode = FakeUpstream::Mode;


TEST_CASE("forward: relays an A answer over UDP and restores the client's ID") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  auto o = h.ask(query("www.Example.org.", 0xBEEF));
  REQUIRE(o.pending);
  REQUIRE(o.completed);
  CHECK(o.verdict == Verdict::Answered);
  CHECK(o.reply.ok);
  CHECK(o.reply.id == 0xBEEF);
  CHECK(o.reply.rcode == 0);
  CHECK(o.reply.qr);
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(up.udpQueries() == 1);
  CHECK(up.tcpQueries() == 0);
  REQUIRE(up.names().size() == 1);
  CHECK(up.names()[0] == "www.Example.org.");  // the client's spelling travels upstream
  CHECK(h.forward->worker(0).inFlight() == 0);
}

TEST_CASE("forward: upstream rcodes are relayed verbatim") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  CHECK(h.ask(query("a.nx.")).reply.rcode == 3);
  up.setMode(Mode::ServFail);
  auto o = h.ask(query("b.example."));
  CHECK(o.reply.rcode == 2);
  CHECK(o.query->error.empty());  // a reply, not a failure
  up.setMode(Mode::Truncate);     // without prefer_udp a TC reply goes back as is
  auto tc = h.ask(query("c.example."));
  CHECK(tc.reply.tc);
  CHECK(tc.reply.answer.empty());
  CHECK(up.tcpQueries() == 0);
}

TEST_CASE("forward: names outside FROM or excepted go to the next plugin") {
  FakeUpstream up;
  Harness h(block("forward example.org " + up.address() + " {\n  except private.example.org\n}"));
  for (const char* name :
       {"example.net.", "org.", "private.example.org.", "a.PRIVATE.example.org."}) {
    CAPTURE(name);
    auto o = h.start(query(name));
    CHECK(o.verdict == Verdict::Next);
  }
  CHECK(h.ask(query("example.org.")).verdict == Verdict::Answered);
  CHECK(h.ask(query("public.example.org.")).verdict == Verdict::Answered);
  h.runFor(std::chrono::milliseconds(20));
  CHECK(up.udpQueries() == 2);
  CHECK(h.runner.resumed.size() == 2);
}

TEST_CASE("forward: several stanzas, the first matching one takes the query") {
  FakeUpstream lab, rest;
  lab.setAnswerAddress("192.0.2.10");
  rest.setAnswerAddress("192.0.2.20");
  Harness h(block("forward lab.example " + lab.address() + "\nforward . " + rest.address()));
  CHECK(hasA(h.ask(query("host.lab.example.")).reply, "192.0.2.10"));
  CHECK(hasA(h.ask(query("host.other.example.")).reply, "192.0.2.20"));
  CHECK(lab.queries() == 1);
  CHECK(rest.queries() == 1);
}

TEST_CASE("forward: dead upstreams end in SERVFAIL within the attempt budget") {
  FakeUpstream a, b;
  a.setMode(Mode::Silent);
  b.setMode(Mode::Silent);
  Harness h(block("forward . " + a.address() + " " + b.address() + " {\n  read_timeout 500ms\n}"));
  auto o = h.ask(query("dead.example.", 0x4242));
  REQUIRE(o.completed);
  CHECK(o.verdict == Verdict::Answered);
  CHECK(o.reply.rcode == 2);
  CHECK(o.reply.id == 0x4242);
  CHECK(o.seconds < 3.0);  // 4 attempts (2 per upstream, CoreDNS's default cap) x 500 ms
  CHECK(o.seconds > 1.5);
  CHECK(o.query->errorPlugin.empty());  // CoreDNS prints forward errors bare
  CHECK(o.query->error.find("i/o timeout") != std::string_view::npos);
  CHECK(a.udpQueries() >= 1);
  CHECK(b.udpQueries() >= 1);
  CHECK(h.stats().timeouts.load() == 4);
  CHECK(h.stats().servfails.load() == 1);
}

TEST_CASE("forward: a closed port fails over at once (ICMP refused on a connected socket)") {
  FakeUpstream good;
  const testing::ClosedPort closedPort;
  const uint16_t closed = closedPort.port();
  Harness h(block("forward . 127.0.0.1:" + std::to_string(closed) + " " + good.address() +
                  " {\n  policy sequential\n}"));
  auto o = h.ask(query("refused.example."));
  CHECK(o.verdict == Verdict::Answered);
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(o.seconds < 1.0);  // far below read_timeout (2s)
  CHECK(good.udpQueries() == 1);
}

TEST_CASE("forward: a silent first upstream fails over to the second") {
  FakeUpstream silent, good;
  silent.setMode(Mode::Silent);
  Harness h(block("forward . " + silent.address() + " " + good.address() +
                  " {\n  policy sequential\n  read_timeout 300ms\n}"));
  auto o = h.ask(query("slow.example."));
  CHECK(o.verdict == Verdict::Answered);
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(o.seconds >= 0.25);
  CHECK(o.seconds < 2.0);
  CHECK(testing::countName(silent, "slow.example.") == 1);
  CHECK(good.udpQueries() == 1);
}

TEST_CASE("forward: failover rcodes try the next upstream, the last reply is returned") {
  FakeUpstream bad, good;
  bad.setMode(Mode::ServFail);
  SUBCASE("next upstream answers") {
    Harness h(block("forward . " + bad.address() + " " + good.address() +
                    " {\n  policy sequential\n  failover SERVFAIL\n}"));
    auto o = h.ask(query("x.example."));
    CHECK(o.reply.rcode == 0);
    CHECK(hasA(o.reply, "192.0.2.1"));
  }
  SUBCASE("every upstream fails over: the last reply goes back") {
    good.setMode(Mode::Refused);
    Harness h(block("forward . " + bad.address() + " " + good.address() +
                    " {\n  policy sequential\n  failover SERVFAIL REFUSED\n}"));
    auto o = h.ask(query("x.example."));
    CHECK(o.reply.rcode == 5);
    CHECK(bad.queries() == 1);
    CHECK(good.queries() == 1);
  }
  SUBCASE("without failover the SERVFAIL is relayed") {
    Harness h(
        block("forward . " + bad.address() + " " + good.address() + " {\n  policy sequential\n}"));
    CHECK(h.ask(query("x.example.")).reply.rcode == 2);
    CHECK(good.queries() == 0);
  }
}

TEST_CASE("forward: next RCODE hands the query to the following forward stanza") {
  FakeUpstream first, second;
  first.setMode(Mode::Refused);
  second.setAnswerAddress("192.0.2.77");
  Harness h(block("forward . " + first.address() + " {\n  next REFUSED\n}\nforward . " +
                  second.address()));
  auto o = h.ask(query("n.example."));
  CHECK(hasA(o.reply, "192.0.2.77"));
  CHECK(first.queries() == 1);
  CHECK(second.queries() == 1);
}

TEST_CASE("forward: policy decides the order of upstreams") {
  FakeUpstream a, b;
  a.setAnswerAddress("192.0.2.1");
  b.setAnswerAddress("192.0.2.2");
  SUBCASE("sequential always starts with the first") {
    Harness h(block("forward . " + a.address() + " " + b.address() + " {\n  policy sequential\n}"));
    for (int i = 0; i < 6; ++i) CHECK(hasA(h.ask(query("s.example.")).reply, "192.0.2.1"));
    CHECK(a.queries() == 6);
    CHECK(b.queries() == 0);
  }
  SUBCASE("round_robin alternates") {
    Harness h(
        block("forward . " + a.address() + " " + b.address() + " {\n  policy round_robin\n}"));
    for (int i = 0; i < 6; ++i) h.ask(query("r.example."));
    CHECK(a.queries() == 3);
    CHECK(b.queries() == 3);
  }
  SUBCASE("random uses both") {
    Harness h(block("forward . " + a.address() + " " + b.address()));
    for (int i = 0; i < 40; ++i) h.ask(query("x.example."));
    CHECK(a.queries() > 0);
    CHECK(b.queries() > 0);
    CHECK(a.queries() + b.queries() == 40);
  }
}

TEST_CASE("forward: max_concurrent answers REFUSED beyond the limit") {
  FakeUpstream silent;
  silent.setMode(Mode::Silent);
  Harness h(
      block("forward . " + silent.address() + " {\n  max_concurrent 1\n  read_timeout 200ms\n}"));
  auto first = h.start(query("one.example."));
  CHECK(first.pending);
  auto second = h.start(query("two.example.", 0x7777));
  CHECK(second.verdict == Verdict::Answered);
  CHECK(second.reply.rcode == 5);
  CHECK(second.reply.id == 0x7777);
  CHECK(h.stats().maxConcurrentRejects.load() == 1);
  h.wait(first);  // the slot frees once the first query ends (SERVFAIL)
  CHECK(first.reply.rcode == 2);
  silent.setMode(Mode::Answer);
  CHECK(h.ask(query("three.example.")).reply.rcode == 0);
}

TEST_CASE("forward: spoofed replies are ignored") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  SUBCASE("wrong ID: the query moves to TCP (RFC 5452 9.1)") {
    up.setMode(Mode::SpoofId);
    auto o = h.ask(query("victim.example."));
    CHECK(hasA(o.reply, "192.0.2.1"));
    CHECK_FALSE(hasA(o.reply, std::string(FakeUpstream::kSpoofAddress)));
    CHECK(rejected(h, Reject::Id) >= 1);
    CHECK(h.stats().spoofingSuspected.load() == 1);
    CHECK(up.tcpQueries() == 1);
  }
  SUBCASE("wrong question: another query's answer, ignored while ours still comes") {
    up.setMode(Mode::SpoofQuestion);
    auto o = h.ask(query("victim.example."));
    CHECK(hasA(o.reply, "192.0.2.1"));
    CHECK(rejected(h, Reject::Question) == 1);
    CHECK(h.stats().spoofingSuspected.load() == 0);
    CHECK(up.tcpQueries() == 0);
  }
}

TEST_CASE("forward: many queries in flight on one worker") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  std::vector<testing::Outcome> outcomes;
  for (int i = 0; i < 200; ++i) {
    outcomes.push_back(h.start(query("q" + std::to_string(i) + ".example.", uint16_t(i))));
  }
  for (auto& o : outcomes) h.wait(o);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    CAPTURE(i);
    CHECK(outcomes[i].reply.id == i);
    CHECK(outcomes[i].reply.rcode == 0);
  }
  CHECK(up.udpQueries() == 200);
  CHECK(h.forward->worker(0).inFlight() == 0);
}

}  // namespace
}  // namespace moat::plugins::forward
