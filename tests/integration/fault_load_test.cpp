// Faults under load, against the real binary: a log nobody can write (stdout on /dev/full, or a
// pipe nobody reads) and a flood of distinct names (memory must stay within the caps). The
// control query (a hosts name) is asked after each.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dns/query.hpp"
#include "dns/server/worker.hpp"
#include "plugins/cache/config.hpp"
#include "tests/integration/fault_support.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/sanitizers.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace fault_load_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

// `moat` with its stdout on a descriptor of the test's choosing (ServerProcess always writes it
// to a file). Ready once its TCP listener accepts.
class Spawned {
 public:
  Spawned(const TempDir& dir, std::string corefile, int stdoutFd) {
    port_ = freePort();
    for (size_t at; (at = corefile.find("@PORT@")) != std::string::npos;) corefile.replace(at, 6, std::to_string(port_));
    const std::string conf = dir.write("Corefile", corefile);
    const std::string err = dir.path() + "/stderr";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(stdoutFd, 1);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(e, 2);
      ::close_range(3, ~0U, 0);  // the test's own descriptors stay the test's
      ::execl(MOAT_BINARY, MOAT_BINARY, "-conf", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE(eventually([&] { return exchangeTcp(port_, makeQuery({.name = "control.test."}), 200ms).size() > 0; }, 10s));
  }
  ~Spawned() { stop(2s); }
  uint16_t port() const { return port_; }
  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  // SIGTERM; true when it exited within `limit` (else it is killed).
  bool stop(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return false;
    ::kill(pid_, SIGTERM);
    bool exited = eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, limit);
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
    return exited;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// Sends `count` queries one after another on one socket; returns how many got the expected
// rcode with our ID (each waited for at most `timeout`).
int askMany(uint16_t port, const std::string& name, int count, int rcode, std::chrono::milliseconds timeout = 1s) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  int ok = 0, silentInARow = 0;
  std::vector<uint8_t> buf(4096);
  for (int i = 0; i < count && silentInARow < 3; ++i) {  // a server that stopped: give up early
    auto q = makeQuery({.name = name, .id = static_cast<uint16_t>(i)});
    ::send(fd, q.data(), q.size(), 0);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
      ++silentInARow;
      continue;
    }
    silentInARow = 0;
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 12 && (buf[0] << 8 | buf[1]) == (i & 0xFFFF) && (buf[3] & 0x0F) == rcode) ++ok;
  }
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("fault: a log nobody can write (/dev/full, a pipe nobody reads): the server keeps answering") {
  // A refused upstream makes every forwarded query an `errors` line as well as a `log` line.
  const uint16_t closedPort = freePort();
  const std::string corefile = ".:@PORT@ {\n  bind 127.0.0.1\n  errors\n  log\n  hosts {\n    " + kControlEntry +
                               "\n    fallthrough\n  }\n  forward . 127.0.0.1:" + std::to_string(closedPort) + "\n}\n";
  SUBCASE("stdout is /dev/full: every write fails at once") {
    int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    REQUIRE(full >= 0);
    TempDir dir;
    Spawned s(dir, corefile, full);
    ::close(full);
    CHECK(askMany(s.port(), "control.test.", 2000, 0) == 2000);
    CHECK(askMany(s.port(), "gone.example.", 500, 2) == 500);
    CHECK(controlAnswers(s.port()));
    CHECK(controlAnswers(s.port(), true));
    CHECK(s.stop(3s));
  }
  SUBCASE("stdout is a pipe nobody reads: writes block once 64 KiB are buffered") {
    int pipeFds[2];
    REQUIRE(::pipe2(pipeFds, O_CLOEXEC) == 0);
    TempDir dir;
    Spawned s(dir, corefile, pipeFds[1]);
    ::close(pipeFds[1]);
    // ~100-byte lines: 3000 log lines and 1000 error lines are far more than the pipe holds.
    CHECK(askMany(s.port(), "control.test.", 3000, 0) == 3000);
    CHECK(askMany(s.port(), "gone.example.", 1000, 2) == 1000);
    CHECK(controlAnswers(s.port()));
    CHECK(controlAnswers(s.port(), true));
    CHECK(s.alive());
    // Shutting down with the log still blocked must not hang either.
    CHECK(s.stop(5s));
    ::close(pipeFds[0]);
  }
}

namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

}  // namespace

TEST_CASE("fault: query log lines a stdout nobody reads drops are counted in moat_log_dropped_total") {
  int pipeFds[2];
  REQUIRE(::pipe2(pipeFds, O_CLOEXEC) == 0);
  const uint16_t metricsPort = freePort();
  TempDir dir;
  Spawned s(dir,
            ".:@PORT@ {\n  bind 127.0.0.1\n  log\n  prometheus 127.0.0.1:" + std::to_string(metricsPort) +
                "\n  hosts {\n    " + kControlEntry + "\n  }\n}\n",
            pipeFds[1]);
  ::close(pipeFds[1]);
  REQUIRE(waitListening(metricsPort));  // Spawned waited for the DNS port
  CHECK(metricValue(metricsPort, "moat_log_dropped_total") == 0.0);  // present at 0

  // One query at a time, so one line a batch: 12 000 lines are more than the pipe, the log
  // thread's buffer and the 8192 batches the queue holds together.
  constexpr int kQueries = 12000;
  REQUIRE(askMany(s.port(), "control.test.", kQueries, 0) == kQueries);
  const double dropped = metricOrZero(metricsPort, "moat_log_dropped_total");
  CHECK(dropped > 0);

  // Reading stdout now lets the log thread go: every UDP query's line is then either written
  // or counted (the readiness probes went over TCP and are not among them).
  std::string out;
  char buf[65536];
  double total = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{pipeFds[0], POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      const ssize_t n = ::read(pipeFds[0], buf, sizeof buf);
      if (n > 0) out.append(buf, static_cast<size_t>(n));
    }
    total = static_cast<double>(count(out, "\"A IN control.test. udp ")) +
            metricOrZero(metricsPort, "moat_log_dropped_total");
    if (total >= kQueries) break;
  }
  CHECK(total == kQueries);
  CHECK(metricOrZero(metricsPort, "moat_log_dropped_total") >= dropped);  // a counter never goes back
  // The warning: once (a minute has not passed), naming what was dropped by then.
  CHECK(count(out, "[WARNING] plugin/log: ") == 1);
  CHECK(out.find(" query log lines dropped since the last warning") != std::string::npos);
  CHECK(s.stop(5s));
  ::close(pipeFds[0]);
}

namespace {

long rssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Sends `count` queries for distinct names (`prefix`-N.flood.example.) as fast as the server
// takes them: at most `window` unanswered, and those unanswered for `writeOff` are given up
// (a silent upstream holds them for seconds). Returns how many replies had `rcode`.
int flood(uint16_t port, const std::string& prefix, int count, int rcode,
          std::chrono::milliseconds writeOff, int window = 256) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int big = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  int sent = 0, matched = 0, outstanding = 0;
  uint8_t buf[4096];
  auto drain = [&](int waitMs) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, waitMs) <= 0) return false;
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
      if (n >= 12 && (buf[3] & 0x0F) == rcode) ++matched;
      if (outstanding > 0) --outstanding;
    }
    return true;
  };
  while (sent < count) {
    for (; outstanding < window && sent < count; ++sent, ++outstanding) {
      auto q = makeQuery({.name = prefix + "-" + std::to_string(sent) + ".flood.example.",
                          .id = static_cast<uint16_t>(sent)});
      ::send(fd, q.data(), q.size(), 0);
    }
    if (!drain(static_cast<int>(writeOff.count()))) outstanding = 0;
  }
  while (drain(300)) {
  }
  ::close(fd);
  return matched;
}

// The sum of every series of `family` whose labels contain `label` (e.g. `type="success"`).
double metricSum(uint16_t metricsPort, const std::string& family, const std::string& label) {
  HttpReply r = httpGet(metricsPort, "/metrics");
  std::istringstream in(r.body);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family + "{", 0) == 0 && line.find(label) != std::string::npos) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

}  // namespace

// Under AddressSanitizer RSS is mostly shadow memory and the freed-memory quarantine, so the
// bound says nothing there; the caps are still exercised and the answers still checked.
#define CHECK_RSS(cond)                                                  \
  do {                                                                   \
    if (moat::testing::kAddressSanitizer) {                              \
      MESSAGE("ASan build: RSS bound not checked: " #cond);              \
    } else {                                                             \
      CHECK(cond);                                                       \
    }                                                                    \
  } while (0)

TEST_CASE("fault: memory stays bounded under a flood of distinct names (in-flight and cache caps)") {
  FakeUpstream upstream;
  upstream.setMode(FakeUpstream::Mode::Silent);
  const uint16_t metricsPort = freePort();
  TempDir dir;
  const std::string pidfile = dir.path() + "/moat.pid";
  ServerProcess s(dir,
                  ".:@PORT@ {\n  bind 127.0.0.1\n  prometheus 127.0.0.1:" + std::to_string(metricsPort) +
                      "\n  cache 30 flood.example\n  hosts {\n    " + kControlEntry + "\n    fallthrough\n  }\n  forward . " +
                      upstream.address() + " {\n    read_timeout 1s\n  }\n}\n",
                  {"-pidfile", pidfile});
  REQUIRE(eventually([&] { return std::filesystem::exists(pidfile); }, 2s));
  const pid_t pid = std::stoi(readFile(pidfile));
  REQUIRE(controlAnswers(s.port()));
  const long baseline = rssKiB(pid);
  REQUIRE(baseline > 0);
  // What the caps allow on top of the baseline: every query slot of every worker in use (the
  // request buffer, the reply's reserved capacity, forward's slot), and both caches full with
  // replies of these sizes (< 200 bytes each, ~300 with the entry and its index), plus 24 MiB
  // for allocator arenas and per-thread caches. Without the caps 100 000 names would need far
  // more: each held query alone is ~6 KiB.
  const long workers = moat::dns::server::cpusAvailable();
  const long perQuery = static_cast<long>(sizeof(moat::dns::Query)) + 1232 + 256;
  const long inFlight = workers * 4096 * perQuery / 1024;
  const long cache = 2L * moat::plugins::cache::kDefaultCapacity * 512 / 1024;
  const long bound = baseline + inFlight + cache + 24 * 1024;
  MESSAGE("RSS baseline " << baseline << " KiB, bound " << bound << " KiB (in flight " << inFlight
                          << ", cache " << cache << ")");

  // 50 000 names at a silent upstream: each holds a query slot for two 1 s attempts, so the
  // slots run out and the rest are REFUSED at once.
  flood(s.port(), "silent", 50000, 2, 5ms);
  const long afterSilent = rssKiB(pid);
  CHECK_RSS(afterSilent <= bound);
  // Answers resume once the held queries time out.
  CHECK(eventually([&] { return controlAnswers(s.port()); }, 4s));
  upstream.setMode(FakeUpstream::Mode::Answer);
  // The flood came from one socket, so one worker holds its slots: each until its two 1 s
  // attempts are over. Until then that worker answers REFUSED, whatever other workers do.
  std::this_thread::sleep_for(2500ms);
  CHECK(eventually([&] { return decode(exchangeUdp(s.port(), makeQuery({.name = "after.example."}))).answer.size() == 1; }, 3s));

  // 50 000 names answered: the cache fills to its cap and stops there.
  const int answered = flood(s.port(), "answered", 50000, 0, 100ms);
  CHECK(answered > static_cast<int>(moat::plugins::cache::kDefaultCapacity));  // more than fits
  const long afterAnswered = rssKiB(pid);
  CHECK_RSS(afterAnswered <= bound);
  CHECK(metricSum(metricsPort, "coredns_cache_entries", "type=\"success\"") <= moat::plugins::cache::kDefaultCapacity);
  CHECK(metricSum(metricsPort, "coredns_cache_entries", "type=\"success\"") > 0);
  MESSAGE("RSS after the silent flood " << afterSilent << " KiB, after the answered one " << afterAnswered << " KiB");
  CHECK(controlAnswers(s.port()));
  CHECK(controlAnswers(s.port(), true));
}

}  // namespace fault_load_test
