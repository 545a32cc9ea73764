// What happens at the edges: bad Corefiles at start, names no block serves, malformed packets,
// a silent upstream, `except`, hosts without fallthrough, and the shipped default config.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace edge_test {

using namespace moat::testing;

namespace {

// A UDP socket that takes queries and never answers: an upstream that is down.
class SilentUpstream {
 public:
  SilentUpstream() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentUpstream() { ::close(fd_); }
  uint16_t port() const { return port_; }
  // Datagrams that arrived (and were never answered).
  int drain() const {
    int n = 0;
    uint8_t buf[1500];
    while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) ++n;
    return n;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int runMoat(const std::vector<std::string>& args, std::string& out) {
  std::vector<std::string> argv = {MOAT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, out);
}

}  // namespace

TEST_CASE("a bad Corefile stops the start with file:line:col and exit code 1") {
  TempDir dir;
  struct Case {
    const char* corefile;
    const char* expect;
  };
  const Case cases[] = {
      {".:1053 {\n  hosts {\n    ttl nope\n  }\n}\n", "Corefile:3:9"},
      {".:1053 {\n  wheami\n}\n", "Corefile:2:3: unknown directive 'wheami' (did you mean 'whoami'?)"},
      {".:1053 {\n  etcd\n}\n", "Corefile:2:3: plugin 'etcd' is not implemented by Moat"},
      {".:1053 {\n  hosts\n  hosts\n}\n", "Corefile:3:3: plugin 'hosts' may appear only once"},
      {".:1053 {\n  forward . 127.0.0.1 {\n    bogus 1\n  }\n}\n", "Corefile:3:5"},
      {".:1053 {\n  whoami\n}\n.:1053 {\n  whoami\n}\n", "Corefile:4:1: zone '.' is already defined"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    std::string path = dir.write("Corefile", c.corefile);
    std::string out;
    CHECK(runMoat({"-conf", path}, out) == 1);
    CHECK_MESSAGE(out.find(c.expect) != std::string::npos, out);
  }
}

TEST_CASE("unknown flags are usage errors (exit 2), -version and -plugins answer and exit 0") {
  std::string out;
  CHECK(runMoat({"-bogus"}, out) == 2);
  CHECK(out.find("flag provided but not defined: -bogus") != std::string::npos);
  CHECK(runMoat({"-version"}, out) == 0);
  CHECK(out.rfind("Moat-", 0) == 0);
  CHECK(runMoat({"-plugins"}, out) == 0);
  CHECK(out.find("dns.hosts") != std::string::npos);
  CHECK(out.find("dns.forward") != std::string::npos);
  CHECK(out.find("dns.any\n") != std::string::npos);
  CHECK(out.find("dns.chaos\n") != std::string::npos);
}

TEST_CASE("names outside every block are REFUSED, a more specific block wins") {
  TempDir dir;
  ServerProcess s(dir,
                  "example.org:@PORT@ {\n  bind 127.0.0.1\n  whoami\n}\n"
                  "sub.example.org:@PORT@ {\n  bind 127.0.0.1\n  hosts {\n    192.0.2.7 a.sub.example.org\n  }\n}\n");
  auto refused = decode(exchangeUdp(s.port(), makeQuery({.name = "example.com."})));
  CHECK(refused.rcode == 5);
  auto sub = decode(exchangeUdp(s.port(), makeQuery({.name = "a.sub.example.org."})));
  REQUIRE(sub.answer.size() == 1);
  CHECK(sub.answer[0] == "a.sub.example.org. 3600 IN A 192.0.2.7");
  auto who = decode(exchangeUdp(s.port(), makeQuery({.name = "www.example.org."})));
  CHECK(who.rcode == 0);
  CHECK(who.additional.size() == 2);  // whoami: the client's address and port
}

TEST_CASE("malformed packets: FORMERR when the header is readable, dropped otherwise, server unharmed") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  whoami\n}\n");
  std::vector<uint8_t> shortPacket = {1, 2, 3};
  CHECK(exchangeUdp(s.port(), shortPacket, std::chrono::milliseconds(300)).empty());
  auto good = makeQuery({.name = "example.org.", .id = 99});
  std::vector<uint8_t> cut(good.begin(), good.begin() + 16);  // header + half a name
  auto formerr = exchangeUdp(s.port(), cut);
  REQUIRE(formerr.size() >= 12);
  CHECK((formerr[3] & 0x0F) == 1);
  CHECK(formerr[0] == 0);
  CHECK(formerr[1] == 99);
  auto response = good;
  response[2] |= 0x80;  // a response: never answered (no reflection loops)
  CHECK(exchangeUdp(s.port(), response, std::chrono::milliseconds(300)).empty());
  CHECK(decode(exchangeUdp(s.port(), good)).rcode == 0);  // still serving
  CHECK(s.stop() == 0);  // SIGTERM: a clean exit
}

TEST_CASE("a silent upstream gives SERVFAIL in bounded time, and errors logs why") {
  SilentUpstream dead;
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  errors\n  forward . 127.0.0.1:" +
                           std::to_string(dead.port()) + " {\n    read_timeout 300ms\n  }\n}\n");
  auto start = std::chrono::steady_clock::now();
  auto r = decode(exchangeUdp(s.port(), makeQuery({.name = "lost.example."}), std::chrono::seconds(8)));
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(r.ok);
  CHECK(r.rcode == 2);
  CHECK(took < std::chrono::seconds(6));  // bounded: never hangs (not a speed claim)
  CHECK(dead.drain() >= 1);
  CHECK(s.waitForOutput("[ERROR] plugin/errors: 2 lost.example. A:"));
}

TEST_CASE("forward except: excepted names go to the next plugin, never upstream") {
  SilentUpstream up;
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  forward . 127.0.0.1:" + std::to_string(up.port()) +
                           " {\n    except internal.company\n  }\n  whoami\n}\n");
  auto r = decode(exchangeUdp(s.port(), makeQuery({.name = "api.internal.company."})));
  CHECK(r.rcode == 0);
  CHECK(r.additional.size() == 2);  // whoami answered it
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(up.drain() == 0);
}

TEST_CASE("hosts without fallthrough: unknown names get SERVFAIL and go nowhere else") {
  SilentUpstream up;
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  hosts {\n    192.0.2.1 known.test\n  }\n  forward . 127.0.0.1:" +
                           std::to_string(up.port()) + "\n}\n");
  CHECK(decode(exchangeUdp(s.port(), makeQuery({.name = "known.test."}))).answer.size() == 1);
  CHECK(decode(exchangeUdp(s.port(), makeQuery({.name = "unknown.test."}))).rcode == 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(up.drain() == 0);
}

TEST_CASE("the shipped default Corefile answers from its example hosts and forwards nothing") {
  std::string source = readAll(std::string(MOAT_SOURCE_DIR) + "/conf/Corefile");
  REQUIRE(source.find(".:1053") != std::string::npos);
  CHECK(source.find("\n    forward") == std::string::npos);  // only the commented line
  source.replace(source.find(".:1053"), 6, ".:@PORT@");
  std::string hostsPath = std::string(MOAT_SOURCE_DIR) + "/conf/example.hosts";
  size_t at = source.find("hosts example.hosts");
  REQUIRE(at != std::string::npos);
  source.replace(at + 6, 13, hostsPath);
  TempDir dir;
  ServerProcess s(dir, source);
  std::string out = dig(s.port(), {"api.moat.test", "A", "+short"});
  CHECK(out == "192.0.2.10\n");
  auto who = decode(exchangeUdp(s.port(), makeQuery({.name = "anything.example."})));
  CHECK(who.rcode == 0);
  CHECK(who.additional.size() == 2);
}

TEST_CASE("a listener on every address answers from the address the client asked") {
  // 127.0.0.2 is on lo like 127.0.0.1; without packet info the kernel would answer from
  // 127.0.0.1 and dig would reject the reply as coming from an unexpected source.
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  whoami\n}\n");
  std::string viaSecond = dig(s.port(), {"@127.0.0.2", "who.example."});
  CHECK(viaSecond.find("status: NOERROR") != std::string::npos);
  CHECK(viaSecond.find("SERVER: 127.0.0.2#") != std::string::npos);
  std::string viaV6 = dig(s.port(), {"@::1", "who.example."});
  CHECK(viaV6.find("status: NOERROR") != std::string::npos);
}

}  // namespace edge_test
