// The foundation's must-show, over real sockets: hosts answers with aa, NODATA, PTR, misses
// forwarded to an upstream (a second Moat), TCP, truncation with a TCP retry, and the exact
// CoreDNS log line for each answer.
#include <doctest/doctest.h>

#include <regex>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace serve_test {

using namespace moat::testing;

namespace {

// The upstream: another Moat answering up.example. and big.example. (30 A records: 30 x 16
// bytes of answers do not fit 512 bytes even compressed).
std::string upstreamCorefile(const TempDir& dir) {
  std::string hosts = "192.0.2.53 up.example.\n";
  for (int i = 1; i <= 60; ++i) hosts += "10.9.0." + std::to_string(i) + " big.example.\n";
  std::string path = dir.write("upstream.hosts", hosts);
  return ".:@PORT@ {\n  bind 127.0.0.1\n  hosts " + path + "\n}\n";
}

std::string frontCorefile(const TempDir& dir, uint16_t upstreamPort) {
  std::string path = dir.write("front.hosts",
                               "192.0.2.10 api.internal.company\n"
                               "2001:db8::10 v6only.internal.company\n"
                               "192.0.2.10 www.internal.company\n");
  return ".:@PORT@ {\n"
         "  bind 127.0.0.1\n"
         "  log\n"
         "  hosts " + path + " {\n    fallthrough\n  }\n"
         "  forward . 127.0.0.1:" + std::to_string(upstreamPort) + "\n"
         "}\n";
}

struct Setup {
  TempDir upDir, frontDir;
  ServerProcess upstream{upDir, upstreamCorefile(upDir)};
  ServerProcess front{frontDir, frontCorefile(frontDir, upstream.port())};
};

}  // namespace

TEST_CASE("hosts names are answered authoritatively, with the exact CoreDNS log line") {
  Setup s;
  auto reply = exchangeUdp(s.front.port(), makeQuery({.name = "api.internal.company.", .id = 4660}));
  auto r = decode(reply);
  REQUIRE(r.ok);
  CHECK(r.aa);
  CHECK(r.rcode == 0);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0] == "api.internal.company. 3600 IN A 192.0.2.10");
  // 12 + 22 + 4 = 38 byte query; reply adds 22 + 10 + 4 = 74.
  REQUIRE(s.front.waitForOutput("api.internal.company."));
  std::regex line(R"(\[INFO\] 127\.0\.0\.1:\d+ - 4660 "A IN api\.internal\.company\. udp 38 false 512" NOERROR qr,aa,rd 74 \d+(\.\d+)?s)");
  std::string out = s.front.stdoutText();
  CHECK_MESSAGE(std::regex_search(out, line), out);
}

TEST_CASE("a name with only other address types gets NODATA from hosts") {
  Setup s;
  auto r = decode(exchangeUdp(s.front.port(), makeQuery({.name = "v6only.internal.company.", .type = 1})));
  CHECK(r.aa);
  CHECK(r.rcode == 0);
  CHECK(r.answer.empty());
  CHECK(r.authority.empty());
}

TEST_CASE("names hosts does not know are forwarded, the reply is relayed with the client's ID") {
  Setup s;
  auto r = decode(exchangeUdp(s.front.port(), makeQuery({.name = "up.example.", .id = 777})));
  REQUIRE(r.ok);
  CHECK(r.id == 777);
  REQUIRE(r.answer.size() == 1);
  CHECK(r.answer[0] == "up.example. 3600 IN A 192.0.2.53");
  REQUIRE(s.front.waitForOutput("\"A IN up.example. udp"));
}

TEST_CASE("TCP queries are answered over TCP, hosts and forwarded alike") {
  Setup s;
  auto local = decode(exchangeTcp(s.front.port(), makeQuery({.name = "www.internal.company."})));
  REQUIRE(local.answer.size() == 1);
  CHECK(local.aa);
  auto fwd = decode(exchangeTcp(s.front.port(), makeQuery({.name = "up.example."})));
  REQUIRE(fwd.answer.size() == 1);
  REQUIRE(s.front.waitForOutput(" tcp ", 2));
}

TEST_CASE("PTR from hosts, with dig") {
  Setup s;
  std::string out = dig(s.front.port(), {"-x", "192.0.2.10", "+short"});
  CHECK(out.find("api.internal.company.") != std::string::npos);
  CHECK(out.find("www.internal.company.") != std::string::npos);
}

TEST_CASE("a reply too large for UDP is truncated, and dig's TCP retry gets all of it") {
  Setup s;
  auto udp = decode(exchangeUdp(s.front.port(), makeQuery({.name = "big.example."})));
  REQUIRE(udp.ok);
  CHECK(udp.tc);
  CHECK(udp.answer.size() < 60);
  std::string out = dig(s.front.port(), {"big.example.", "A", "+short"});
  size_t lines = std::count(out.begin(), out.end(), '\n');
  CHECK(lines == 60);
}

}  // namespace serve_test
