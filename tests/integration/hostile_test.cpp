// Hostile input over the wire, against the real binary: packets no client should send, TCP
// clients that stall or flood, and upstream replies that did not come from the upstream. Each
// gets the answer a careful resolver gives (or silence), is counted in /metrics, and the server
// answers the control query (a hosts name) after each one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <future>
#include <vector>

#include "dns/server/worker.hpp"
#include "tests/integration/fault_support.hpp"
#include "tests/support/fake_upstream.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace hostile_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
  Bytes out;
  for (uint16_t v : {id, flags, qd, an, ns, ar}) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Bytes kTypeClassA = {0, 1, 0, 1};
const Bytes kExampleName = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0};

// A server in front of a FakeUpstream: hosts holds the control name and passes the rest on.
struct Front {
  FakeUpstream upstream;
  uint16_t metricsPort = freePort();
  TempDir dir;
  ServerProcess server{dir, ".:@PORT@ {\n  bind 127.0.0.1\n  prometheus 127.0.0.1:" +
                                std::to_string(metricsPort) + "\n  hosts {\n    " + kControlEntry +
                                "\n    fallthrough\n  }\n  forward . " + upstream.address() +
                                " {\n    read_timeout 500ms\n  }\n}\n"};
  uint16_t port() const { return server.port(); }
  double counter(const std::string& series) const { return metricOrZero(metricsPort, series); }
};

enum class Expect { Silence, FormErr, NotImp, BadVers };

struct Case {
  const char* what;
  Bytes packet;
  Expect expect;
};

std::vector<Case> udpCases() {
  const Bytes query = makeQuery({.name = "example.test.", .id = 0x2222});
  Bytes oversized = query;
  oversized.resize(5000, 0);  // a valid query, then more than the 4096 bytes any query needs
  Bytes response = query;
  response[2] |= 0x80;
  Bytes longLabel = {64};
  longLabel.insert(longLabel.end(), 64, 'a');
  longLabel.push_back(0);
  Bytes longName;  // four 63-byte labels: 257 bytes with the root
  for (int i = 0; i < 4; ++i) {
    longName.push_back(63);
    longName.insert(longName.end(), 63, 'b');
  }
  longName.push_back(0);
  auto withOpcode = [&](uint8_t opcode) {
    Bytes p = query;
    p[2] = static_cast<uint8_t>((p[2] & 0x87) | opcode << 3);
    return p;
  };
  Bytes ednsV1 = makeQuery({.name = "example.test.", .id = 0x2222, .edns = 1232});
  ednsV1[ednsV1.size() - 5] = 1;  // the OPT's version byte
  return {
      {"an empty datagram", {}, Expect::Silence},
      {"11 bytes: less than a header", Bytes(query.begin(), query.begin() + 11), Expect::Silence},
      {"QDCOUNT 0", header(0x2222, 0x0100, 0), Expect::FormErr},
      {"QDCOUNT 0 with a question behind it", header(0x2222, 0x0100, 0) + kExampleName + kTypeClassA, Expect::FormErr},
      {"QDCOUNT 2", header(0x2222, 0x0100, 2) + kExampleName + kTypeClassA + kExampleName + kTypeClassA, Expect::FormErr},
      {"a compression pointer to itself as the question", header(0x2222, 0x0100, 1) + Bytes{0xC0, 12} + kTypeClassA, Expect::FormErr},
      {"two pointers pointing at each other", header(0x2222, 0x0100, 1) + Bytes{0xC0, 14, 0xC0, 12} + kTypeClassA, Expect::FormErr},
      {"a label of 64 bytes", header(0x2222, 0x0100, 1) + longLabel + kTypeClassA, Expect::FormErr},
      {"a name of 257 bytes", header(0x2222, 0x0100, 1) + longName + kTypeClassA, Expect::FormErr},
      {"a 5000-byte datagram", oversized, Expect::FormErr},
      {"a response (QR=1) arriving as a query", response, Expect::Silence},
      {"opcode IQUERY (1)", withOpcode(1), Expect::NotImp},
      {"opcode STATUS (2)", withOpcode(2), Expect::NotImp},
      {"opcode NOTIFY (4)", withOpcode(4), Expect::NotImp},
      {"opcode UPDATE (5)", withOpcode(5), Expect::NotImp},
      {"EDNS version 1", ednsV1, Expect::BadVers},
  };
}

// Checks one reply against what the case expects; `reply` is empty when nothing came.
void checkReply(const Case& c, const Bytes& reply) {
  const std::string what = c.what;
  CAPTURE(what);
  if (c.expect == Expect::Silence) {
    CHECK(reply.empty());
    return;
  }
  REQUIRE(reply.size() >= 12);
  CHECK(reply[0] == 0x22);  // ID echoed
  CHECK(reply[1] == 0x22);
  CHECK((reply[2] & 0x80) != 0);  // QR
  const int rcode = reply[3] & 0x0F;
  switch (c.expect) {
    case Expect::FormErr:
      CHECK(rcode == 1);
      CHECK(reply.size() == 12);  // nothing of the request is trusted, not even the question
      break;
    case Expect::NotImp: {
      CHECK(rcode == 4);
      CHECK((reply[2] & 0x78) == (c.packet[2] & 0x78));  // opcode echoed
      auto r = decode(reply);
      CHECK(r.ok);
      CHECK(r.answer.empty());
      break;
    }
    case Expect::BadVers: {
      CHECK(rcode == 0);  // BADVERS = 16: low bits 0 in the header, 1 in the OPT's extended rcode
      REQUIRE(reply.size() >= 12 + 11);
      const uint8_t* opt = reply.data() + reply.size() - 11;
      CHECK(opt[0] == 0);
      CHECK((opt[1] << 8 | opt[2]) == 41);
      CHECK(opt[5] == 1);
      CHECK(opt[6] == 0);  // our version
      CHECK((reply[10] << 8 | reply[11]) == 1);  // ARCOUNT: that one OPT
      break;
    }
    case Expect::Silence:
      break;
  }
}

int countOf(const std::vector<Case>& cases, Expect e) {
  return static_cast<int>(std::count_if(cases.begin(), cases.end(), [e](const Case& c) { return c.expect == e; }));
}

int connectTcp(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True once the peer closed `fd` (EOF or reset), waiting at most `limit`.
bool closedByPeer(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  uint8_t buf[512];
  return ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0;
}

}  // namespace

TEST_CASE("hostile: malformed UDP queries get FORMERR, NOTIMP, BADVERS or silence, each counted") {
  Front f;
  REQUIRE(controlAnswers(f.port()));
  const double dropped0 = f.counter(kDroppedSeries), formerr0 = f.counter(kFormErrSeries);
  const std::string notimp = "moat_queries_rejected_total{rcode=\"NOTIMP\"}";
  const std::string badvers = "moat_queries_rejected_total{rcode=\"BADVERS\"}";
  const double notimp0 = f.counter(notimp), badvers0 = f.counter(badvers);
  const auto cases = udpCases();
  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    auto wait = c.expect == Expect::Silence ? 300ms : 2000ms;
    checkReply(c, exchangeUdp(f.port(), c.packet, wait));
    CHECK(controlAnswers(f.port()));
  }
  CHECK(f.upstream.queries() == 0);  // none of them reached a plugin
  CHECK(f.counter(kDroppedSeries) - dropped0 == countOf(cases, Expect::Silence));
  CHECK(f.counter(kFormErrSeries) - formerr0 == countOf(cases, Expect::FormErr));
  CHECK(f.counter(notimp) - notimp0 == countOf(cases, Expect::NotImp));
  CHECK(f.counter(badvers) - badvers0 == countOf(cases, Expect::BadVers));
  CHECK(controlAnswers(f.port(), true));
}

TEST_CASE("hostile: over TCP, a malformed message gets FORMERR on a connection that stays usable") {
  Front f;
  // QDCOUNT 0, then a good query on the same connection: both answered, in order.
  int fd = connectTcp(f.port());
  REQUIRE(fd >= 0);
  Bytes bad = header(0x2222, 0x0100, 0);
  Bytes good = makeQuery({.name = "control.test.", .id = 0x0C0C});
  Bytes stream = {0, 12};
  stream = stream + bad + Bytes{0, static_cast<uint8_t>(good.size())} + good;
  REQUIRE(::send(fd, stream.data(), stream.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(stream.size()));
  // Two framed replies: the FORMERR, then the control answer.
  std::vector<Bytes> frames;
  Bytes got;
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (frames.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    uint8_t chunk[1024];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    got.insert(got.end(), chunk, chunk + n);
    while (got.size() >= 2 && got.size() >= 2u + (got[0] << 8 | got[1])) {
      const size_t len = got[0] << 8 | got[1];
      frames.emplace_back(got.begin() + 2, got.begin() + 2 + static_cast<long>(len));
      got.erase(got.begin(), got.begin() + 2 + static_cast<long>(len));
    }
  }
  ::close(fd);
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].size() == 12);
  CHECK((frames[0][3] & 0x0F) == 1);  // FORMERR
  auto second = decode(frames[1]);
  CHECK(second.id == 0x0C0C);
  CHECK(second.answer == std::vector<std::string>{kControlAnswer});
  CHECK(controlAnswers(f.port(), true));
}

TEST_CASE("hostile: TCP length prefixes out of range, or promising more than is sent, close the connection") {
  Front f;
  const double dropped0 = f.counter(kDroppedSeries);
  const Bytes query = makeQuery({.name = "example.test."});
  struct TcpCase {
    const char* what;
    Bytes bytes;
  };
  const TcpCase cases[] = {
      {"length 0", {0, 0}},
      {"length 5: less than a header", Bytes{0, 5} + Bytes(5, 0)},
      {"length 65535: more than any query", Bytes{0xFF, 0xFF} + query},
      {"length 300, then the client closes after 30 bytes", Bytes{1, 44} + query},
      {"one byte of a length prefix, then the client closes", Bytes{0}},
  };
  for (const TcpCase& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    int fd = connectTcp(f.port());
    REQUIRE(fd >= 0);
    REQUIRE(::send(fd, c.bytes.data(), c.bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(c.bytes.size()));
    ::shutdown(fd, SHUT_WR);
    CHECK(closedByPeer(fd, 2s));
    ::close(fd);
    CHECK(controlAnswers(f.port(), true));
  }
  CHECK(eventually([&] { return f.counter(kDroppedSeries) - dropped0 == std::size(cases); }, 2s));
  CHECK(f.upstream.queries() == 0);
}

TEST_CASE("hostile: wrong class: REFUSED where no plugin takes other classes, as CoreDNS") {
  // CoreDNS refuses non-IN classes before any plugin unless the listener has forward (or chaos);
  // a second listener without forward shows both sides.
  FakeUpstream upstream;
  const uint16_t bare = freePort();
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  hosts {\n    " + kControlEntry +
                           "\n    fallthrough\n  }\n  forward . " + upstream.address() + "\n}\n" +
                           ".:" + std::to_string(bare) + " {\n  bind 127.0.0.1\n  hosts {\n    " +
                           kControlEntry + "\n  }\n}\n");
  REQUIRE(waitListening(bare));  // ServerProcess waited for the first port only
  for (uint16_t klass : {uint16_t{3}, uint16_t{4}, uint16_t{255}}) {  // CH, HS, ANY
    CAPTURE(klass);
    auto r = decode(exchangeUdp(bare, makeQuery({.name = "control.test.", .klass = klass})));
    REQUIRE(r.ok);
    CHECK(r.rcode == 5);
    CHECK(r.answer.empty());
    CHECK(controlAnswers(bare));
  }
  // With forward on the listener the query enters the chain: hosts answers its IN record, as
  // CoreDNS's hosts does (it never looks at the class); other names go upstream in class CH.
  auto viaChain = decode(exchangeUdp(s.port(), makeQuery({.name = "control.test.", .klass = 3})));
  REQUIRE(viaChain.ok);
  CHECK(viaChain.rcode == 0);
  CHECK(viaChain.answer == std::vector<std::string>{kControlAnswer});
  auto forwarded = decode(exchangeUdp(s.port(), makeQuery({.name = "version.bind.", .type = 16, .klass = 3})));
  REQUIRE(forwarded.ok);
  CHECK(forwarded.rcode == 0);
  CHECK(upstream.names() == std::vector<std::string>{"version.bind."});
  CHECK(controlAnswers(s.port()));
}

TEST_CASE("hostile: TCP clients that stall mid-message block nobody, and the read timeout closes them") {
  Front f;
  const double dropped0 = f.counter(kDroppedSeries);
  const Bytes query = makeQuery({.name = "example.test."});
  // Several connections so every worker likely holds some: half a message, half a prefix, and
  // nothing at all (idle, not malformed).
  std::vector<int> partialBody, partialPrefix, idle;
  for (int i = 0; i < 4; ++i) {
    int fd = connectTcp(f.port());
    REQUIRE(fd >= 0);
    Bytes half = Bytes{0, static_cast<uint8_t>(query.size())} + Bytes(query.begin(), query.begin() + 10);
    ::send(fd, half.data(), half.size(), MSG_NOSIGNAL);
    partialBody.push_back(fd);
  }
  for (int i = 0; i < 2; ++i) {
    int fd = connectTcp(f.port());
    REQUIRE(fd >= 0);
    uint8_t one = 0;
    ::send(fd, &one, 1, MSG_NOSIGNAL);
    partialPrefix.push_back(fd);
  }
  for (int i = 0; i < 2; ++i) idle.push_back(connectTcp(f.port()));
  // Everyone else is served meanwhile, over both transports, forwarded names included.
  for (int i = 0; i < 5; ++i) {
    CHECK(controlAnswers(f.port()));
    CHECK(controlAnswers(f.port(), true));
  }
  auto fwd = decode(exchangeTcp(f.port(), makeQuery({.name = "other.example."})));
  CHECK(fwd.answer == std::vector<std::string>{"other.example. 300 IN A 192.0.2.1"});
  for (int fd : partialBody) CHECK_FALSE(closedByPeer(fd, 0ms));  // held open meanwhile
  // None of them completed a first query within the read timeout (3 s, CoreDNS's default):
  // every stalled connection is closed well within this.
  auto deadline = std::chrono::steady_clock::now() + 12s;
  for (const auto* group : {&partialBody, &partialPrefix, &idle}) {
    for (int fd : *group) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      CHECK(closedByPeer(fd, std::max(left, 1ms)));
      ::close(fd);
    }
  }
  CHECK(eventually([&] { return f.counter(kDroppedSeries) - dropped0 == 6; }, 2s));
  CHECK(controlAnswers(f.port(), true));
}

TEST_CASE("hostile: a flood of TCP connections: the cap holds, UDP keeps answering, TCP returns once they close") {
  // moat runs one worker per CPU it may use, each taking at most 256 connections (TcpLimits).
  const size_t cap = 256 * moat::dns::server::cpusAvailable();
  const size_t flood = cap + cap / 2 + 64;  // enough that every worker (SO_REUSEPORT spreads them) is full
  if (flood > 12000) {  // many CPUs: more connections than a test should open
    MESSAGE("skipped: " << flood << " connections needed to fill every worker");
    return;
  }
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < flood + 64) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, flood + 256);
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  REQUIRE(files.rlim_cur >= flood + 64);
  Front f;
  const std::string rejectedSeries = "moat_tcp_connections_rejected_total";
  const double rejected0 = f.counter(rejectedSeries);
  std::vector<int> fds;
  for (size_t i = 0; i < flood; ++i) {
    int fd = connectTcp(f.port());
    REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  // Those over the cap are accepted and closed at once; the rest stay open.
  CHECK(eventually([&] { return f.counter(rejectedSeries) - rejected0 == flood - cap; }, 3s));
  std::vector<int> held;
  size_t closed = 0;
  for (int fd : fds) {
    if (closedByPeer(fd, 0ms)) {
      ++closed;
      ::close(fd);
    } else {
      held.push_back(fd);
    }
  }
  CHECK(closed == flood - cap);
  CHECK(held.size() == cap);
  // UDP is not affected; a new TCP connection is turned away (closed, not left hanging).
  CHECK(controlAnswers(f.port()));
  CHECK(exchangeTcp(f.port(), makeQuery({.name = "control.test."}), 2s).empty());
  // Once the flood goes away, TCP is served again.
  for (int fd : held) ::close(fd);
  CHECK(eventually([&] { return controlAnswers(f.port(), true); }, 3s));
  CHECK(controlAnswers(f.port()));
}

TEST_CASE("hostile: spoofed upstream replies (wrong ID, wrong question, wrong source) are ignored") {
  Front f;
  const std::string real = "192.0.2.1";
  for (auto mode : {FakeUpstream::Mode::SpoofId, FakeUpstream::Mode::SpoofQuestion}) {
    CAPTURE(static_cast<int>(mode));
    f.upstream.setMode(mode);
    const std::string name = mode == FakeUpstream::Mode::SpoofId ? "spoof-id.example." : "spoof-q.example.";
    auto r = decode(exchangeUdp(f.port(), makeQuery({.name = name})));
    REQUIRE(r.ok);
    CHECK(r.answer == std::vector<std::string>{name + " 300 IN A " + real});
    CHECK(controlAnswers(f.port()));
  }
  // Wrong source: while the upstream takes its time, a third party sends forward's socket a
  // perfect reply (right ID, right question) from another port. The socket is connected to the
  // upstream, so the kernel never delivers it; the upstream's answer arrives later and wins.
  f.upstream.setMode(FakeUpstream::Mode::Answer);
  f.upstream.setDelay(300ms);
  f.upstream.clear();
  const std::string name = "spoof-src.example.";
  auto pending = std::async(std::launch::async, [&] { return exchangeUdp(f.port(), makeQuery({.name = name})); });
  REQUIRE(eventually([&] { return f.upstream.received().size() == 1; }, 2s));
  const auto seen = f.upstream.received()[0];
  REQUIRE(seen.sourcePort != 0);
  Bytes forged = header(seen.id, 0x8180, 1, 1) + Bytes{9, 's', 'p', 'o', 'o', 'f', '-', 's', 'r', 'c',
                                                        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0} + kTypeClassA;
  forged = forged + Bytes{0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 66};
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(seen.sourcePort);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 3; ++i) {
    ::sendto(fd, forged.data(), forged.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  ::close(fd);
  auto r = decode(pending.get());
  REQUIRE(r.ok);
  CHECK(r.answer == std::vector<std::string>{name + " 300 IN A " + real});
  CHECK(controlAnswers(f.port()));
}

}  // namespace hostile_test
