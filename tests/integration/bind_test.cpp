// bind through the real binary: every Corefile of CoreDNS's bind README (only the port made
// free), interface names resolved at start and again on a reload, and names that are neither an
// address nor an interface refused at start and at reload with file:line:col. The README blocks
// have no plugin besides bind, so every query is answered REFUSED: any reply shows a listener.
#include <net/if.h>
#include <signal.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>

#include "tests/integration/client_query.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace bind_test {

using namespace moat::testing;

namespace {

// Whether this machine has IPv6 loopback (::1 on lo); the IPv6 checks are skipped without it.
bool hasIpv6Loopback() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A client on the same loopback family as `address` gets a reply from address:port, over UDP,
// and TCP connects there.
bool answersOn(const std::string& address, uint16_t port) {
  const std::string from = address.find(':') != std::string::npos ? "::1" : "127.0.0.1";
  return askFrom(port, {.from = from, .to = address}) != "no reply" && tcpListening(address, port);
}

// Nothing listens on address:port: TCP is refused and a UDP query gets no reply (the kernel
// answers a closed UDP port with an ICMP error the unconnected client does not see, hence the
// short bound).
bool silentOn(const std::string& address, uint16_t port) {
  const std::string from = address.find(':') != std::string::npos ? "::1" : "127.0.0.1";
  QuerySpec spec;
  spec.name = "example.org.";
  return !tcpListening(address, port) &&
         udpFrom(from, address, port, makeQuery(spec), std::chrono::milliseconds(300)).empty();
}

void replaceCorefile(const TempDir& dir, const std::string& text) {
  dir.write("Corefile.new", text);
  std::rename((dir.path() + "/Corefile.new").c_str(), (dir.path() + "/Corefile").c_str());
}

// Runs `body` in a child process inside a network namespace of its own (only lo, brought up),
// so it may add and remove addresses without touching the host. The child reports what failed
// through a pipe; nullopt when no namespace can be made here (not root).
std::optional<std::string> inOwnNetwork(const std::function<std::string()>& body) {
  int report[2];
  REQUIRE(::pipe(report) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(report[0]);
    std::string failed;
    int code = 0;
    if (::unshare(CLONE_NEWNET) != 0) {
      code = 77;
    } else {
      try {
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
        int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        ::ioctl(fd, SIOCGIFFLAGS, &ifr);
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) failed = "cannot bring lo up";
        ::close(fd);
        if (failed.empty()) failed = body();
      } catch (...) {  // a REQUIRE of a helper: its message went to the child's doctest output
        failed += " (a helper's REQUIRE failed)";
      }
    }
    if (!failed.empty()) {
      const ssize_t written = ::write(report[1], failed.data(), failed.size());
      (void)written;  // nothing more to do if the parent cannot read it
    }
    ::close(report[1]);
    ::_exit(code != 0 ? code : failed.empty() ? 0 : 1);  // never run the rest of the suite here
  }
  ::close(report[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(report[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) return std::nullopt;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return text.empty() ? "child failed" : text;
  return std::string();
}

int ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  return runCommand(argv, out);
}

}  // namespace

TEST_CASE("bind README: bind to IP 127.0.0.1 (localhost)") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    bind 127.0.0.1\n}\n");
  CHECK(answersOn("127.0.0.1", s.port()));
  CHECK(silentOn("127.0.0.2", s.port()));  // only that address, not the whole loopback network
  if (hasIpv6Loopback()) CHECK(silentOn("::1", s.port()));
}

TEST_CASE("bind README: local host on both IPv4 and IPv6 stacks, bind 127.0.0.1 ::1") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    bind 127.0.0.1 ::1\n}\n");
  CHECK(answersOn("127.0.0.1", s.port()));
  if (hasIpv6Loopback()) CHECK((waitListening(s.port(), "::1") && answersOn("::1", s.port())));
  CHECK(silentOn("127.0.0.2", s.port()));
}

TEST_CASE("bind README: several bind directives are consolidated, bind 127.0.0.1 and bind ::1") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    bind 127.0.0.1\n    bind ::1\n}\n");
  CHECK(answersOn("127.0.0.1", s.port()));
  if (hasIpv6Loopback()) CHECK((waitListening(s.port(), "::1") && answersOn("::1", s.port())));
  CHECK(silentOn("127.0.0.2", s.port()));
}

TEST_CASE("bind README: bind lo listens on the interface's addresses, 127.0.0.1 and ::1") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    bind lo\n}\n");
  CHECK(answersOn("127.0.0.1", s.port()));
  if (hasIpv6Loopback()) CHECK((waitListening(s.port(), "::1") && answersOn("::1", s.port())));
  CHECK(silentOn("127.0.0.2", s.port()));  // lo has 127.0.0.1/8: its address, not its network
}

TEST_CASE("bind README: bind lo { except 127.0.0.1 } listens on ::1 only") {
  if (!hasIpv6Loopback()) {
    MESSAGE("no ::1 on this machine: lo minus 127.0.0.1 leaves nothing to listen on");
    return;
  }
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    bind lo {\n        except 127.0.0.1\n    }\n}\n", {}, "::1");
  CHECK(answersOn("::1", s.port()));
  CHECK(silentOn("127.0.0.1", s.port()));
}

TEST_CASE("bind with an interface and acl together: the server label names the interface's first address") {
  TempDir dir;
  const uint16_t metricsPort = freePort();
  ServerProcess s(dir, ".:@PORT@ {\n  bind lo\n  prometheus 127.0.0.1:" + std::to_string(metricsPort) +
                           "\n  acl {\n    block net 127.0.0.1\n  }\n}\n");
  CHECK(askFrom(s.port(), {.from = "127.0.0.1"}) == "REFUSED EDE 15");
  HttpReply r = httpGet(metricsPort, "/metrics");
  REQUIRE(r.status == 200);
  CAPTURE(r.body);
  CHECK(r.body.find("coredns_acl_blocked_requests_total{server=\"dns://127.0.0.1:" + std::to_string(s.port()) +
                    "\",view=\"\",zone=\".\"} 1") != std::string::npos);
}

TEST_CASE("a name that is neither an address nor an interface stops the start with file:line:col") {
  TempDir dir;
  const std::string path = dir.write("Corefile", ".:1053 {\n  bind lo nosuch0\n  whoami\n}\n");
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "-conf", path}, out) == 1);
  CHECK(out.find("Corefile:2:11: bind: 'nosuch0' is neither an IP address nor a network interface of this host") !=
        std::string::npos);
}

TEST_CASE("reload: a name that is not an interface keeps the running listeners, except applies per reload") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind lo\n  whoami\n}\n");
  const uint16_t port = s.port();
  const std::string p = std::to_string(port);
  REQUIRE(answersOn("127.0.0.1", port));

  replaceCorefile(dir, ".:" + p + " {\n  bind lo {\n    except nosuch0\n  }\n  whoami\n}\n");
  REQUIRE(s.signal(SIGUSR1));
  CHECK(s.waitForOutput("Corefile:3:12: bind: 'nosuch0' is neither", 1, std::chrono::seconds(5)));
  CHECK(answersOn("127.0.0.1", port));
  if (!hasIpv6Loopback()) return;
  CHECK((waitListening(port, "::1") && answersOn("::1", port)));  // ServerProcess waited for 127.0.0.1

  // Now a good one: lo without ::1. The ::1 listener closes, 127.0.0.1 never stops answering.
  replaceCorefile(dir, ".:" + p + " {\n  bind lo {\n    except ::1\n  }\n  whoami\n}\n");
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] { return silentOn("::1", port); }, std::chrono::seconds(5)));
  CHECK(answersOn("127.0.0.1", port));
}

TEST_CASE("bind lo follows the interface: an address added to lo is bound on the next SIGUSR1, a removed one closed") {
  auto report = inOwnNetwork([]() -> std::string {
    TempDir dir;
    ServerProcess s(dir, ".:@PORT@ {\n  bind lo\n  whoami\n}\n");
    const uint16_t port = s.port();
    if (!answersOn("127.0.0.1", port)) return "not answering on 127.0.0.1 at start";
    if (!silentOn("127.0.0.77", port)) return "answering on 127.0.0.77 before it was lo's";

    if (ip({"addr", "add", "127.0.0.77/32", "dev", "lo"}) != 0) return "ip addr add failed";
    if (!s.signal(SIGUSR1)) return "server gone";  // the Corefile is unchanged
    if (!eventually([&] { return answersOn("127.0.0.77", port); }, std::chrono::seconds(5))) {
      return "127.0.0.77 not bound after SIGUSR1: " + s.stdoutText();
    }
    if (!answersOn("127.0.0.1", port)) return "127.0.0.1 stopped answering";

    if (ip({"addr", "del", "127.0.0.77/32", "dev", "lo"}) != 0) return "ip addr del failed";
    if (!s.signal(SIGUSR1)) return "server gone";
    if (!eventually([&] { return silentOn("127.0.0.77", port); }, std::chrono::seconds(5))) {
      return "127.0.0.77 still bound after it left lo";
    }
    return answersOn("127.0.0.1", port) ? "" : "127.0.0.1 stopped answering at the end";
  });
  if (!report) {
    MESSAGE("no network namespace here (needs root): skipped");
    return;
  }
  CHECK_MESSAGE(report->empty(), *report);
}

}  // namespace bind_test
