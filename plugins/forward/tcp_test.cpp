// The forward handler over TCP: transport follows the client, force_tcp, prefer_udp with the
// TC retry, connection pooling and expiry, TCP timeouts.
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
using Mode = FakeUpstream::Mode;
using dns::Proto;
using namespace std::chrono_literals;


TEST_CASE("forward: a TCP client is forwarded over TCP, ID restored") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  auto o = h.ask(query("tcp.example.", 0xCAFE), Proto::Tcp);
  REQUIRE(o.completed);
  CHECK(o.verdict == Verdict::Answered);
  CHECK(o.reply.id == 0xCAFE);
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(up.tcpQueries() == 1);
  CHECK(up.udpQueries() == 0);
}

TEST_CASE("forward: TCP connections are pooled and reused") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()));
  for (int i = 0; i < 3; ++i) {
    auto o = h.ask(query("pool" + std::to_string(i) + ".example."), Proto::Tcp);
    CHECK(o.reply.rcode == 0);
  }
  CHECK(h.stats().tcpConnects.load() == 1);
  CHECK(h.stats().tcpReused.load() == 2);
  CHECK(h.forward->worker(0).idleTcpConnections() == 1);
  CHECK(up.tcpQueries() == 3);
}

TEST_CASE("forward: idle connections expire") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address() + " {\n  expire 100ms\n}"));
  CHECK(h.ask(query("e.example."), Proto::Tcp).reply.rcode == 0);
  CHECK(h.forward->worker(0).idleTcpConnections() == 1);
  CHECK(h.runUntil([&] { return h.forward->worker(0).idleTcpConnections() == 0; }, 2000ms));
  CHECK(h.ask(query("f.example."), Proto::Tcp).reply.rcode == 0);
  CHECK(h.stats().tcpConnects.load() == 2);
}

TEST_CASE("forward: a pooled connection closed by the upstream is replaced transparently") {
  auto up = std::make_unique<FakeUpstream>();
  const uint16_t port = up->port();
  Harness h(block("forward . " + up->address()));
  CHECK(h.ask(query("a.example."), Proto::Tcp).reply.rcode == 0);
  up.reset();  // closes every connection
  up = std::make_unique<FakeUpstream>(port);
  h.runFor(50ms);
  auto o = h.ask(query("b.example."), Proto::Tcp);
  CHECK(o.reply.rcode == 0);
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(h.stats().tcpConnects.load() == 2);
}

TEST_CASE("forward: force_tcp sends UDP clients over TCP") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address() + " {\n  force_tcp\n}"));
  auto o = h.ask(query("forced.example.", 0x0101));
  CHECK(o.reply.id == 0x0101);
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(up.tcpQueries() == 1);
  CHECK(up.udpQueries() == 0);
}

TEST_CASE("forward: prefer_udp retries a truncated answer over TCP") {
  FakeUpstream up;
  up.setMode(Mode::Truncate);
  Harness h(block("forward . " + up.address() + " {\n  prefer_udp\n}"));
  SUBCASE("TCP client") {
    auto o = h.ask(query("big.example.", 0x5151), Proto::Tcp);
    CHECK(o.reply.id == 0x5151);
    CHECK_FALSE(o.reply.tc);
    CHECK(hasA(o.reply, "192.0.2.1"));
  }
  SUBCASE("UDP client (CoreDNS retries for any client)") {
    auto o = h.ask(query("big.example."));
    CHECK_FALSE(o.reply.tc);
    CHECK(hasA(o.reply, "192.0.2.1"));
  }
  CHECK(up.udpQueries() == 1);
  CHECK(up.tcpQueries() == 1);
}

TEST_CASE("forward: prefer_udp alone sends TCP clients over UDP") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address() + " {\n  prefer_udp\n}"));
  CHECK(h.ask(query("u.example."), Proto::Tcp).reply.rcode == 0);
  CHECK(up.udpQueries() == 1);
  CHECK(up.tcpQueries() == 0);
}

TEST_CASE("forward: large TCP answers are relayed whole") {
  FakeUpstream up;
  up.setMode(Mode::Large);
  up.setLargeCount(200);
  Harness h(block("forward . " + up.address()));
  auto o = h.ask(query("large.example."), Proto::Tcp);
  CHECK(o.reply.answer.size() == 200);
  CHECK(o.query->reply.size() > 3000);
}

TEST_CASE("forward: a silent TCP upstream times out into SERVFAIL") {
  FakeUpstream silent;
  silent.setMode(Mode::Silent);
  Harness h(block("forward . " + silent.address() + " {\n  read_timeout 300ms\n}"));
  auto o = h.ask(query("quiet.example."), Proto::Tcp);
  CHECK(o.reply.rcode == 2);
  CHECK(o.seconds < 2.0);
  CHECK(o.query->error.find("tcp ") == 0);
  CHECK(h.stats().timeouts.load() == 2);  // CoreDNS's default cap: two attempts per upstream
}

TEST_CASE("forward: a refused TCP connect fails over at once") {
  FakeUpstream good;
  const testing::ClosedPort closedPort;
  const uint16_t closed = closedPort.port();
  Harness h(block("forward . 127.0.0.1:" + std::to_string(closed) + " " + good.address() +
                  " {\n  policy sequential\n}"));
  auto o = h.ask(query("r.example."), Proto::Tcp);
  CHECK(hasA(o.reply, "192.0.2.1"));
  CHECK(o.seconds < 1.0);
  CHECK(good.tcpQueries() == 1);
}

}  // namespace
}  // namespace moat::plugins::forward
