// Faults, against the real binary: upstreams that die, stall, answer garbage or come back; files
// that vanish or cannot be read; a Corefile replaced by garbage (fault_load_test.cpp has the log
// nobody can write and the flood of names). Each test asserts the answer during the fault and
// that the control query (a hosts name) is still answered afterwards. Waits are bounds for
// correctness, never speed claims.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "tests/integration/fault_support.hpp"
#include "tests/support/fake_upstream.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace fault_test {

using namespace moat::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string aRecord(const std::string& name, const std::string& address, int ttl = 300) {
  return name + " " + std::to_string(ttl) + " IN A " + address;
}

// One query (UDP, or TCP): the reply and how long it took.
struct Timed {
  Reply reply;
  Clock::duration took{};
};
Timed ask(uint16_t port, const std::string& name, bool tcp = false) {
  auto start = Clock::now();
  auto q = makeQuery({.name = name});
  Reply r = decode(tcp ? exchangeTcp(port, q, 5s) : exchangeUdp(port, q, 5s));
  return {r, Clock::now() - start};
}

std::string corefileFor(const std::string& upstreams, const std::string& forwardOptions,
                        const std::string& extra = "") {
  return ".:@PORT@ {\n  bind 127.0.0.1\n" + extra + "  hosts {\n    " + kControlEntry +
         "\n    fallthrough\n  }\n  forward . " + upstreams + " {\n" + forwardOptions + "  }\n}\n";
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void replaceFile(const TempDir& dir, const std::string& name, const std::string& text) {
  dir.write(name + ".new", text);
  std::filesystem::rename(dir.path() + "/" + name + ".new", dir.path() + "/" + name);
}

}  // namespace

TEST_CASE("fault: an upstream killed mid-load: SERVFAIL within the read timeout, answers when it returns") {
  auto upstream = std::make_unique<FakeUpstream>();
  const uint16_t upPort = upstream->port();
  TempDir dir;
  // One upstream: two attempts per query (CoreDNS's default cap), 400 ms each, +50 ms sweep.
  ServerProcess s(dir, corefileFor(upstream->address(), "    read_timeout 400ms\n"));
  const auto bound = 2 * 400ms + 1s;
  int n = 0;
  auto next = [&] { return "load-" + std::to_string(++n) + ".example."; };
  for (int i = 0; i < 5; ++i) {
    auto name = next();
    CHECK(ask(s.port(), name).reply.answer == std::vector<std::string>{aRecord(name, "192.0.2.1")});
  }
  // Silent (the process hangs): every query gets SERVFAIL, each within the bound.
  upstream->setMode(FakeUpstream::Mode::Silent);
  for (int i = 0; i < 3; ++i) {
    auto t = ask(s.port(), next());
    REQUIRE(t.reply.ok);
    CHECK(t.reply.rcode == 2);
    CHECK(t.took < bound);
    CHECK(controlAnswers(s.port()));
  }
  upstream->setMode(FakeUpstream::Mode::Answer);
  CHECK(eventually([&] { return ask(s.port(), next()).reply.rcode == 0; }, 3s));
  // Killed (the port closes): SERVFAIL again, within the same bound.
  upstream.reset();
  for (int i = 0; i < 3; ++i) {
    auto t = ask(s.port(), next());
    REQUIRE(t.reply.ok);
    CHECK(t.reply.rcode == 2);
    CHECK(t.took < bound);
    CHECK(controlAnswers(s.port()));
  }
  // Back on the same port: answers resume.
  upstream = std::make_unique<FakeUpstream>(upPort);
  CHECK(eventually([&] {
    auto name = next();
    return ask(s.port(), name).reply.answer == std::vector<std::string>{aRecord(name, "192.0.2.1")};
  }, 3s));
  CHECK(controlAnswers(s.port()));
}

TEST_CASE("fault: with two upstreams, the dead one is marked down, traffic moves over, and back when it returns") {
  FakeUpstream a, b;
  b.setAnswerAddress("192.0.2.2");
  const uint16_t metricsPort = freePort();
  TempDir dir;
  ServerProcess s(dir, corefileFor(a.address() + " " + b.address(),
                                   "    policy sequential\n    health_check 100ms\n    read_timeout 300ms\n",
                                   "  prometheus 127.0.0.1:" + std::to_string(metricsPort) + "\n"));
  auto probeFailures = [&](const FakeUpstream& u) {
    return metricOrZero(metricsPort, "coredns_proxy_healthcheck_failures_total{proxy_name=\"forward\",to=\"" +
                                         u.address() + "\"}");
  };
  int n = 0;
  auto next = [&] { return "hc-" + std::to_string(++n) + ".example."; };
  auto reachedA = [&](const std::string& name) {
    for (const auto& r : a.received()) {
      if (r.name == name) return true;
    }
    return false;
  };
  auto name = next();
  CHECK(ask(s.port(), name).reply.answer == std::vector<std::string>{aRecord(name, "192.0.2.1")});
  a.setMode(FakeUpstream::Mode::Silent);
  // At once: A times out, the attempt moves to B, the client gets B's answer (never SERVFAIL).
  name = next();
  auto t = ask(s.port(), name);
  CHECK(t.reply.answer == std::vector<std::string>{aRecord(name, "192.0.2.2")});
  CHECK(reachedA(name));
  // After a few failed health checks A is down: queries go straight to B, A never sees them.
  auto skipsA = [&] {
    for (int i = 0; i < 5; ++i) {
      auto q = next();
      if (ask(s.port(), q).reply.answer != std::vector<std::string>{aRecord(q, "192.0.2.2")}) return false;
      if (reachedA(q)) return false;
    }
    return true;
  };
  CHECK(eventually(skipsA, 5s));
  CHECK(probeFailures(a) > 2);  // down means more than max_fails (2) failed probes in a row
  CHECK(probeFailures(b) == 0);
  CHECK(controlAnswers(s.port()));
  // A returns: a health check sees it, and the sequential policy sends traffic back to it.
  a.setMode(FakeUpstream::Mode::Answer);
  CHECK(eventually([&] {
    auto q = next();
    return ask(s.port(), q).reply.answer == std::vector<std::string>{aRecord(q, "192.0.2.1")};
  }, 5s));
  CHECK(controlAnswers(s.port()));
}

TEST_CASE("fault: a slow upstream: past read_timeout SERVFAIL in bounded time, below it the answer") {
  FakeUpstream upstream;
  TempDir dir;
  ServerProcess s(dir, corefileFor(upstream.address(), "    read_timeout 300ms\n"));
  upstream.setDelay(800ms);
  for (bool tcp : {false, true}) {
    CAPTURE(tcp);
    auto t = ask(s.port(), tcp ? "slow-tcp.example." : "slow-udp.example.", tcp);
    REQUIRE(t.reply.ok);
    CHECK(t.reply.rcode == 2);
    CHECK(t.took < 2 * 300ms + 1s);
    CHECK(controlAnswers(s.port(), tcp));
  }
  upstream.setDelay(50ms);
  for (bool tcp : {false, true}) {
    CAPTURE(tcp);
    const std::string name = tcp ? "quick-tcp.example." : "quick-udp.example.";
    CHECK(ask(s.port(), name, tcp).reply.answer == std::vector<std::string>{aRecord(name, "192.0.2.1")});
  }
  CHECK(controlAnswers(s.port()));
}

TEST_CASE("fault: an upstream answering garbage: SERVFAIL, and answers again once it recovers") {
  FakeUpstream upstream;
  TempDir dir;
  ServerProcess s(dir, corefileFor(upstream.address(), "    read_timeout 300ms\n"));
  upstream.setMode(FakeUpstream::Mode::Garbage);
  for (bool tcp : {false, true}) {
    CAPTURE(tcp);
    auto t = ask(s.port(), tcp ? "junk-tcp.example." : "junk-udp.example.", tcp);
    REQUIRE(t.reply.ok);
    CHECK(t.reply.rcode == 2);
    CHECK(t.reply.answer.empty());
    CHECK(t.took < 2 * 300ms + 1s);
    CHECK(controlAnswers(s.port(), tcp));
  }
  CHECK(upstream.queries() >= 2);
  upstream.setMode(FakeUpstream::Mode::Answer);
  for (bool tcp : {false, true}) {
    const std::string name = tcp ? "fine-tcp.example." : "fine-udp.example.";
    CHECK(eventually([&] {
      return ask(s.port(), name, tcp).reply.answer == std::vector<std::string>{aRecord(name, "192.0.2.1")};
    }, 3s));
  }
}

TEST_CASE("fault: the hosts file deleted or unreadable: the last good entries keep answering") {
  TempDir dir;
  const std::string path = dir.write("hosts", kControlEntry + "\n192.0.2.20 kept.test\n");
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  hosts " + path + " {\n    reload 100ms\n  }\n}\n");
  auto kept = [&] {
    auto r = decode(exchangeUdp(s.port(), makeQuery({.name = "kept.test."})));
    return r.answer == std::vector<std::string>{"kept.test. 3600 IN A 192.0.2.20"};
  };
  REQUIRE(kept());
  // Deleted: many reload intervals later the entries are still served.
  std::filesystem::remove(path);
  CHECK(s.waitForOutput("plugin/hosts: cannot read", 1, 3s));
  std::this_thread::sleep_for(300ms);  // a few more reload intervals
  CHECK(kept());
  CHECK(controlAnswers(s.port()));
  // Back with a change: the reload is live (so "still served" above meant something).
  replaceFile(dir, "hosts", kControlEntry + "\n192.0.2.21 kept.test\n");
  auto moved = [&] {
    auto r = decode(exchangeUdp(s.port(), makeQuery({.name = "kept.test."})));
    return r.answer == std::vector<std::string>{"kept.test. 3600 IN A 192.0.2.21"};
  };
  CHECK(eventually(moved, 3s));
  // Unreadable, the way root cannot read it either: a directory in its place (EISDIR).
  std::filesystem::remove(path);
  std::filesystem::create_directory(path);
  CHECK(s.waitForOutput("plugin/hosts: cannot read", 2, 3s));  // once per outage
  CHECK(moved());
  CHECK(controlAnswers(s.port()));
  std::filesystem::remove(path);
  // Unreadable by permission: a changed file (new mtime) with mode 000. Root reads it anyway.
  replaceFile(dir, "hosts", kControlEntry + "\n192.0.2.22 kept.test\n");
  CHECK(eventually([&] {
    auto r = decode(exchangeUdp(s.port(), makeQuery({.name = "kept.test."})));
    return r.answer == std::vector<std::string>{"kept.test. 3600 IN A 192.0.2.22"};
  }, 3s));
  if (::geteuid() == 0) {
    MESSAGE("running as root: chmod 000 does not stop root's reads, that part is skipped "
            "(the directory case above covers an unreadable file)");
  } else {
    replaceFile(dir, "hosts", kControlEntry + "\n192.0.2.23 kept.test\n");
    ::chmod(path.c_str(), 0);
    CHECK(s.waitForOutput("plugin/hosts: cannot read", 3, 3s));
    auto r = decode(exchangeUdp(s.port(), makeQuery({.name = "kept.test."})));
    CHECK(r.answer == std::vector<std::string>{"kept.test. 3600 IN A 192.0.2.22"});
  }
  CHECK(controlAnswers(s.port()));
}

TEST_CASE("fault: the kubernetes objects file deleted: the last good snapshot keeps answering") {
  TempDir dir;
  const std::string objects = readText(std::string(MOAT_SOURCE_DIR) + "/conf/examples/cluster.objects.yaml");
  REQUIRE(objects.find("clusterIP: 10.96.0.1\n") != std::string::npos);
  const std::string path = dir.write("objects.yaml", objects);
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  hosts {\n    " + kControlEntry +
                           "\n    fallthrough\n  }\n  kubernetes cluster.local {\n    objects " + path +
                           "\n  }\n}\n");
  auto service = [&] {
    auto r = decode(exchangeUdp(s.port(), makeQuery({.name = "kubernetes.default.svc.cluster.local."})));
    return r.answer.size() == 1 ? r.answer[0] : std::string();
  };
  REQUIRE(service() == "kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1");
  std::filesystem::remove(path);
  // The store polls every second; the failed load is logged, and the snapshot stays.
  CHECK(s.waitForOutput("[ERROR] plugin/kubernetes:", 1, 4s));
  CHECK(service() == "kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1");
  CHECK(controlAnswers(s.port()));
  // Restored with a change: loaded again.
  std::string moved = objects;
  moved.replace(moved.find("clusterIP: 10.96.0.1\n"), 21, "clusterIP: 10.96.0.2\n");
  moved.replace(moved.find("clusterIPs: [10.96.0.1]"), 23, "clusterIPs: [10.96.0.2]");
  replaceFile(dir, "objects.yaml", moved);
  CHECK(eventually([&] { return service() == "kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.2"; }, 4s));
  CHECK(controlAnswers(s.port()));
}

TEST_CASE("fault: a Corefile replaced by garbage, then SIGUSR1: the old config answers, the error says where") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  hosts {\n    " + kControlEntry + "\n  }\n}\n");
  const std::string port = std::to_string(s.port());
  REQUIRE(controlAnswers(s.port()));
  replaceFile(dir, "Corefile", "\x7f" "ELF\x02\x01\x01 {{ }\n\xff\xfe garbage } } {\n.:" + port + " {\n  hosts {\n");
  REQUIRE(s.signal(SIGUSR1));
  std::regex where(R"(reload failed.*Corefile:\d+:\d+: )");
  CHECK(eventually([&] { return std::regex_search(s.stdoutText() + s.stderrText(), where); }, 3s));
  CHECK(controlAnswers(s.port()));
  CHECK(controlAnswers(s.port(), true));
  // A good Corefile afterwards still reloads.
  replaceFile(dir, "Corefile", ".:" + port + " {\n  bind 127.0.0.1\n  hosts {\n    " + kControlEntry +
                                   "\n    192.0.2.30 after.test\n  }\n}\n");
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] {
    return decode(exchangeUdp(s.port(), makeQuery({.name = "after.test."}))).answer ==
           std::vector<std::string>{"after.test. 3600 IN A 192.0.2.30"};
  }, 3s));
}

}  // namespace fault_test
