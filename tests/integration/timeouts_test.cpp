// The timeouts README's Corefile examples through the real binary, and what each limit does to a
// TCP client: the connection closed after `maxtcpqueries` replies, and a listener's `read` and
// `idle` told apart from another listener's by which connection the server closes first (an
// order, not a duration, so a slow machine does not fail it).
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace timeouts_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<uint8_t>;

// The example with its key on `port` and its upstream a test server instead of the host's.
std::string adapted(std::string corefile, const std::string& port, const std::string& upstream) {
  const size_t brace = corefile.find(" {");
  std::string key = corefile.substr(0, brace);
  if (const size_t colon = key.find(':'); colon != std::string::npos) key.resize(colon);
  corefile = key + ":" + port + corefile.substr(brace);
  const std::string resolv = "/etc/resolv.conf";
  corefile.replace(corefile.find(resolv), resolv.size(), upstream);
  return corefile;
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

Bytes framed(const Bytes& message) {
  Bytes out{static_cast<uint8_t>(message.size() >> 8), static_cast<uint8_t>(message.size())};
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

// Reads until the peer closes `fd` (or `limit` passes): how many whole framed replies came, -1
// if the connection was still open at the end.
int repliesUntilClosed(int fd, std::chrono::milliseconds limit) {
  Bytes got;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    uint8_t chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      int frames = 0;
      for (size_t at = 0; at + 2 <= got.size(); at += 2 + (size_t{got[at]} << 8 | got[at + 1])) ++frames;
      return frames;
    }
    got.insert(got.end(), chunk, chunk + n);
  }
  return -1;
}

// True once the peer closed `fd` (EOF or reset), waiting at most `limit`.
bool closedByPeer(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  uint8_t buf[512];
  return ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0;
}

}  // namespace

TEST_CASE("timeouts README: both examples load and forward, and maxtcpqueries 128 closes after 128 replies") {
  const auto examples = pluginCorefiles("timeouts");
  REQUIRE(examples.size() == 2);
  FakeUpstream upstream;
  TempDir dir;
  const uint16_t second = freePort();
  ServerProcess s(dir, adapted(joined(examples[0]), "@PORT@", upstream.address()) +
                           adapted(joined(examples[1]), std::to_string(second), upstream.address()));
  REQUIRE(waitListening(second));
  for (uint16_t port : {s.port(), second}) {
    CAPTURE(port);
    const std::string out = dig(port, {"+tcp", "www.example.org", "A", "+short"});
    CHECK(out == "192.0.2.1\n");
  }
  // 130 queries written at once on one connection: 128 are read and answered, then it closes.
  int fd = connectTcp(second);
  REQUIRE(fd >= 0);
  Bytes stream;
  for (uint16_t i = 0; i < 130; ++i) {
    const Bytes one = framed(makeQuery({.name = "www.example.org.", .id = i}));
    stream.insert(stream.end(), one.begin(), one.end());
  }
  REQUIRE(::send(fd, stream.data(), stream.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(stream.size()));
  CHECK(repliesUntilClosed(fd, 20s) == 128);
  ::close(fd);
  // The first example has no bound: the same 130 are all answered, and the connection stays.
  fd = connectTcp(s.port());
  REQUIRE(fd >= 0);
  REQUIRE(::send(fd, stream.data(), stream.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(stream.size()));
  Bytes got;
  size_t frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (frames < 130 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    uint8_t chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    got.insert(got.end(), chunk, chunk + n);
    frames = 0;
    for (size_t at = 0; at + 2 <= got.size(); at += 2 + (size_t{got[at]} << 8 | got[at + 1])) {
      if (at + 2 + (size_t{got[at]} << 8 | got[at + 1]) <= got.size()) ++frames;
    }
  }
  CHECK(frames == 130);
  CHECK_FALSE(closedByPeer(fd, 0ms));
  ::close(fd);
}

TEST_CASE("timeouts: a listener's read and idle limits close its connections before another's") {
  TempDir dir;
  const uint16_t slow = freePort();
  // Two listeners: `quick` gives a client 1 s for its first query and 1 s between queries,
  // `slow` 20 s for both. whoami answers.
  ServerProcess s(dir, ".:@PORT@ {\n    timeouts {\n        read 1\n        idle 1s\n    }\n    whoami\n}\n"
                       ".:" + std::to_string(slow) +
                       " {\n    timeouts {\n        read 20s\n        idle 20s\n    }\n    whoami\n}\n");
  REQUIRE(waitListening(slow));
  const uint16_t quick = s.port();
  // On each listener: one connection that never sends, one that asks once and then waits.
  int silentQuick = connectTcp(quick), silentSlow = connectTcp(slow);
  int askedQuick = connectTcp(quick), askedSlow = connectTcp(slow);
  for (int fd : {silentQuick, silentSlow, askedQuick, askedSlow}) REQUIRE(fd >= 0);
  const Bytes one = framed(makeQuery({.name = "example.org."}));
  for (int fd : {askedQuick, askedSlow}) {
    REQUIRE(::send(fd, one.data(), one.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(one.size()));
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);  // its reply; the idle wait starts
    uint8_t buf[512];
    REQUIRE(::recv(fd, buf, sizeof buf, 0) > 0);
  }
  // The quick listener closes both of its connections; by then the slow one has closed neither.
  CHECK(closedByPeer(silentQuick, 15s));
  CHECK(closedByPeer(askedQuick, 15s));
  CHECK_FALSE(closedByPeer(silentSlow, 0ms));
  CHECK_FALSE(closedByPeer(askedSlow, 0ms));
  for (int fd : {silentQuick, silentSlow, askedQuick, askedSlow}) ::close(fd);
}

TEST_CASE("timeouts: a bad option is an error at its place, and the server does not start") {
  struct Case {
    const char* option;
    const char* error;
  };
  const Case cases[] = {
      {"maxtcpqueries 0", "Corefile:3:23: timeouts: maxtcpqueries (-1 for unlimited) must be"},
      {"raed 3s", "Corefile:3:9: timeouts: unknown option 'raed', did you mean 'read'?"},
      {"idle 500ms", "Corefile:3:14: timeouts: '500ms' must be from 1 second to 24 hours"},
      {"write", "Corefile:3:9: timeouts:"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.option);
    TempDir dir;
    const std::string path =
        dir.write("Corefile", std::string(".:1053 {\n    timeouts {\n        ") + c.option + "\n    }\n    whoami\n}\n");
    std::string out;
    CHECK(runCommand({MOAT_BINARY, "-conf", path}, out) == 1);
    CHECK_MESSAGE(out.find(c.error) != std::string::npos, out);
  }
}

}  // namespace timeouts_test
