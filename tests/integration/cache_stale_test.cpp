// The cache over real sockets. serve_stale verify: the upstream answers once, then fails
// (SERVFAIL, then silence); after the entry's TTL the client still gets the answer it had, with
// TTL 0, and /metrics counts it in coredns_cache_served_stale_total. Reload: a new
// configuration whose cache did not change keeps its entries; one whose cache changed does not.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <sstream>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace cache_stale_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

// Every query from one UDP socket: the kernel hands a flow to one worker (SO_REUSEPORT), and
// each worker has its own cache, so a fresh source port could land on a cache that never saw
// the name.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    REQUIRE(fd_ >= 0);
    timeval tv{4, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(port);
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Client() { ::close(fd_); }

  Reply ask() {
    const auto query = makeQuery({.name = "www.example.org.", .id = ++id_});
    REQUIRE(::sendto(fd_, query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&to_),
                     sizeof to_) == static_cast<ssize_t>(query.size()));
    std::vector<uint8_t> buf(4096);
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return decode(buf);
  }

 private:
  int fd_;
  sockaddr_in to_{};
  uint16_t id_ = 0;
};

bool hasLine(const std::string& body, const std::string& line) {
  std::istringstream in(body);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("cache serve_stale verify: an expired answer outlives a failing upstream") {
  FakeUpstream upstream;
  TempDir dir;
  const uint16_t metricsPort = freePort();
  ServerProcess s(dir, ".:@PORT@ {\n"
                       "  bind 127.0.0.1\n"
                       "  prometheus 127.0.0.1:" + std::to_string(metricsPort) + "\n"
                       "  cache 1 {\n"
                       "    serve_stale 1h verify\n"
                       "  }\n"
                       "  forward . " + upstream.address() + " {\n"
                       "    read_timeout 300ms\n"
                       "  }\n"
                       "}\n");
  REQUIRE(s.running());
  Client client(s.port());

  auto first = client.ask();
  REQUIRE(first.ok);
  CHECK(first.answer == std::vector<std::string>{"www.example.org. 1 IN A 192.0.2.1"});  // cache 1 caps it
  const uint64_t seen = upstream.queries();

  upstream.setMode(FakeUpstream::Mode::ServFail);
  std::this_thread::sleep_for(2100ms);  // two whole seconds of age: expired, not just at TTL 0
  auto servfail = client.ask();
  REQUIRE(servfail.ok);
  CHECK(servfail.rcode == 0);
  CHECK(servfail.answer == std::vector<std::string>{"www.example.org. 0 IN A 192.0.2.1"});
  CHECK(upstream.queries() > seen);  // verify asked upstream first

  upstream.setMode(FakeUpstream::Mode::Silent);
  auto silent = client.ask();
  REQUIRE(silent.ok);
  CHECK(silent.rcode == 0);
  CHECK(silent.answer == std::vector<std::string>{"www.example.org. 0 IN A 192.0.2.1"});

  upstream.setMode(FakeUpstream::Mode::Answer);
  upstream.setAnswerAddress("192.0.2.7");
  auto back = client.ask();
  CHECK(back.answer == std::vector<std::string>{"www.example.org. 1 IN A 192.0.2.7"});

  HttpReply m = httpGet(metricsPort, "/metrics");
  REQUIRE(m.status == 200);
  CAPTURE(m.body);
  const std::string labels = "{server=\"dns://127.0.0.1:" + std::to_string(s.port()) +
                             "\",view=\"\",zones=\".\"}";
  CHECK(hasLine(m.body, "coredns_cache_served_stale_total" + labels + " 2"));
  CHECK(s.stop() == 0);
}

namespace {

std::string reloadCorefile(const std::string& port, const FakeUpstream& upstream, const std::string& cache,
                           const std::string& extra) {
  return ".:" + port + " {\n  bind 127.0.0.1\n" + cache + extra + "  forward . " + upstream.address() + "\n}\n";
}

void replaceCorefile(const TempDir& dir, const std::string& text) {
  dir.write("Corefile.new", text);  // renamed, so no reload reads it half-written
  std::rename((dir.path() + "/Corefile.new").c_str(), (dir.path() + "/Corefile").c_str());
}

}  // namespace

TEST_CASE("cache: a reload keeps the entries when the cache did not change, not when it did") {
  FakeUpstream upstream;
  TempDir dir;
  const std::string cache = "  cache 300\n";
  ServerProcess s(dir, reloadCorefile("@PORT@", upstream, cache, ""));
  REQUIRE(s.running());
  const std::string port = std::to_string(s.port());
  Client client(s.port());
  REQUIRE(client.ask().answer == std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.1"});
  REQUIRE(upstream.queries() == 1);

  // Another plugin added and a serving option changed: the cache's entries stay.
  replaceCorefile(dir, reloadCorefile(port, upstream, "  cache 300 {\n    serve_stale\n  }\n",
                                      "  hosts {\n    192.0.2.99 other.test\n    fallthrough\n  }\n"));
  REQUIRE(s.signal(SIGUSR1));
  REQUIRE(s.waitForOutput("Reloading", 1));
  std::this_thread::sleep_for(1100ms);  // a second of age, so a hit shows 299
  CHECK(client.ask().answer == std::vector<std::string>{"www.example.org. 299 IN A 192.0.2.1"});
  CHECK(upstream.queries() == 1);

  // The capacity changed: a new, empty cache.
  replaceCorefile(dir, reloadCorefile(port, upstream, "  cache 300 {\n    success 5000\n  }\n", ""));
  REQUIRE(s.signal(SIGUSR1));
  REQUIRE(s.waitForOutput("Reloading", 2));
  CHECK(client.ask().answer == std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.1"});
  CHECK(upstream.queries() == 2);
  CHECK(s.stop() == 0);
}

}  // namespace cache_stale_test
