// Cache poisoning by an off-path attacker, against the real binary (issue 11). Moat forwards to a
// slow upstream (tests/spoof/spoof_upstream.cpp) with its cache on. Beside the upstream, sharing
// its address and port as a spoofer would, an attacker that learned the source port of the
// previous forwarded query (it asked a name of its own through Moat first) floods that port
// with forged answers for a name it has just asked, each with another random ID, while the real
// answer is held back. Every answer the client gets, first from the upstream and then from the
// cache, must be the real one.
//
// The attacker is given more than an off-path one has: its forgeries are sent the moment the
// query reaches the upstream, so all of them land while the query waits.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "tests/integration/fault_support.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace spoof_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

// tests/spoof/spoof_upstream, started with `args`; ready once it printed the port it bound.
class SpoofUpstream {
 public:
  explicit SpoofUpstream(std::vector<std::string> args) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    args.insert(args.begin(), MOAT_SPOOF_UPSTREAM);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close_range(3, ~0U, 0);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c = 0;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10'000) > 0 &&
           ::read(out[0], &c, 1) == 1) {
      line += c;
    }
    ::close(out[0]);
    unsigned port = 0;
    REQUIRE_MESSAGE(std::sscanf(line.c_str(), "PORT %u", &port) == 1, "spoof_upstream: " << line);
    port_ = static_cast<uint16_t>(port);
  }
  ~SpoofUpstream() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  uint16_t port() const { return port_; }

  // Its tally (see spoof_upstream.cpp): "forged=F attempts=A port_hits=P id_hits=I tcp=T".
  std::string stats() const {
    Reply r = decode(exchangeUdp(port_, makeQuery({.name = "stats.", .type = 16})));
    if (r.answer.size() != 1) return {};
    const auto& rr = r.answer[0];
    auto open = rr.find('"');
    return open == std::string::npos ? rr : rr.substr(open + 1, rr.rfind('"') - open - 1);
  }
  uint64_t stat(const std::string& key) const {
    std::istringstream in(stats());
    for (std::string field; in >> field;) {
      if (field.rfind(key + "=", 0) == 0) return std::stoull(field.substr(key.size() + 1));
    }
    FAIL("no " << key << " in spoof_upstream's stats: " << stats());
    return 0;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// One client socket for every query, as an attacker would keep: its queries all reach the same
// worker of Moat, so the port it learns is the one that worker used last.
class Client {
 public:
  Client() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Client() { ::close(fd_); }

  Reply ask(uint16_t port, const std::string& name) {
    auto query = makeQuery({.name = name, .id = ++id_});
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd_, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    std::vector<uint8_t> buf(65535);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) continue;
      Reply r = decode(buf.data(), static_cast<size_t>(n));
      if (r.ok && r.id == id_) return r;  // an earlier query's late answer is not this one's
    }
    return {};
  }

 private:
  int fd_ = -1;
  uint16_t id_ = 0x4000;
};

// Sum of every series of `name` on /metrics (each label set).
double metricSum(uint16_t metricsPort, const std::string& name) {
  std::istringstream in(httpGet(metricsPort, "/metrics").body);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) == 0 && (line[name.size()] == '{' || line[name.size()] == ' ')) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

struct Outcome {
  int attempts = 0;
  int poisoned = 0;  // attempts whose answer, fresh or cached, was the forged one
  int unanswered = 0;  // questions still without an answer after a stub's three tries
  int retried = 0;     // tries after the first
};

// Asked as a stub resolver asks (dig, glibc): up to three tries. The flood of forgeries shares
// the loopback with the genuine reply, and on a loaded machine one datagram in thousands can
// be lost, as on any network; a client that never retries would make the test fail by chance.
Reply askLikeAStub(Client& client, uint16_t port, const std::string& name, Outcome& o) {
  Reply r;
  for (int tries = 0; tries < 3; ++tries) {
    if (tries > 0) ++o.retried;
    r = client.ask(port, name);
    if (r.ok && !r.answer.empty()) break;
  }
  return r;
}

Outcome attack(uint16_t port, int attempts) {
  Client client;
  Outcome o;
  const std::string forged = "6.6.6.6";
  for (int k = 0; k < attempts; ++k) {
    // The attacker's own name first: the upstream side records the port it came from.
    client.ask(port, "probe-" + std::to_string(k) + ".attack.test.");
    const std::string victim = "victim-" + std::to_string(k) + ".attack.test.";
    bool poisoned = false;
    for (int asked = 0; asked < 2; ++asked) {  // from the upstream, then from the cache
      Reply r = askLikeAStub(client, port, victim, o);
      if (!r.ok || r.answer.empty()) {
        ++o.unanswered;
        continue;
      }
      for (const auto& rr : r.answer) poisoned |= rr.find(forged) != std::string::npos;
    }
    o.poisoned += poisoned ? 1 : 0;
    ++o.attempts;
  }
  return o;
}

std::string corefile(uint16_t upstream, uint16_t metrics) {
  return ".:@PORT@ {\n  bind 127.0.0.1\n  prometheus 127.0.0.1:" + std::to_string(metrics) +
         "\n  cache\n  forward . 127.0.0.1:" + std::to_string(upstream) + "\n}\n";
}

}  // namespace

TEST_CASE("spoofing: forged answers aimed at the previous query's source port poison nothing") {
  // 4096 forgeries per attempt: with the port known, each attempt would succeed with
  // probability 1/16 by the ID alone.
  SpoofUpstream upstream({"--forged", "4096", "--delay-ms", "150"});
  TempDir dir;
  const uint16_t metrics = freePort();
  ServerProcess s(dir, corefile(upstream.port(), metrics));
  REQUIRE(eventually([&] { return httpGet(metrics, "/metrics").status == 200; }, 10s));

  const Outcome o = attack(s.port(), 40);
  const double rejected = metricSum(metrics, "moat_forward_replies_rejected_total");
  MESSAGE("spoofing: " << o.attempts << " attempts, " << upstream.stats() << "; poisoned "
                       << o.poisoned << ", replies rejected by moat " << rejected
                       << ", unanswered " << o.unanswered << ", retried " << o.retried);
  CHECK(o.poisoned == 0);
  CHECK(o.unanswered == 0);
  CHECK(upstream.stat("forged") >= 40u * 4096u);
}

TEST_CASE("spoofing: an attacker who knows the port and sends the right ID after a wrong one "
          "poisons nothing; the query moves to TCP") {
  // The attacker sees each query's port, as one on the path would, and its forgeries include
  // the right ID, but not first: RFC 5452 9.1's defence, abandoning UDP for TCP once a forged
  // answer shows up, must then win every time.
  SpoofUpstream upstream({"--forged", "1000", "--delay-ms", "150", "--include-real-id"});
  TempDir dir;
  const uint16_t metrics = freePort();
  ServerProcess s(dir, corefile(upstream.port(), metrics));
  REQUIRE(eventually([&] { return httpGet(metrics, "/metrics").status == 200; }, 10s));

  const Outcome o = attack(s.port(), 10);
  const double rejected = metricSum(metrics, "moat_forward_replies_rejected_total");
  MESSAGE("spoofing on the path: " << o.attempts << " attempts, " << upstream.stats()
                                   << "; poisoned " << o.poisoned << ", replies rejected by moat "
                                   << rejected);
  CHECK(o.poisoned == 0);
  CHECK(o.unanswered == 0);
  CHECK(upstream.stat("id_hits") == 10);
  CHECK(upstream.stat("tcp") >= 10);
  CHECK(rejected >= 10);
}

}  // namespace spoof_test
