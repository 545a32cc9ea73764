// acl through the real binary, over real sockets from several client addresses (127.0.0.1,
// 127.0.0.2, 127.0.0.3 and ::1): each action on UDP and TCP, the OPT and extended error as a
// client decodes them, its place before cache, its metrics, and bad rules at start and reload.
#include <signal.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/integration/client_query.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace acl_test {

using namespace moat::testing;

namespace {

constexpr uint16_t kAAAA = 28, kTXT = 16;

// One block, one client address per action; whoami answers what acl lets through.
const char* const kFourClients = R"(.:@PORT@ {
  acl {
    block net 127.0.0.2
    filter net 127.0.0.3
    drop net ::1
    allow net 127.0.0.1
  }
  whoami
}
)";

void replaceCorefile(const TempDir& dir, const std::string& text) {
  dir.write("Corefile.new", text);
  std::rename((dir.path() + "/Corefile.new").c_str(), (dir.path() + "/Corefile").c_str());
}

}  // namespace

TEST_CASE("acl over UDP and TCP: 127.0.0.2 blocked, 127.0.0.3 filtered, ::1 dropped, 127.0.0.1 allowed") {
  TempDir dir;
  ServerProcess s(dir, kFourClients);
  const uint16_t port = s.port();
  for (bool tcp : {false, true}) {
    CAPTURE(tcp);
    CHECK(askFrom(port, {.from = "127.0.0.1", .tcp = tcp}) == "NOERROR");  // whoami's answer
    CHECK(askFrom(port, {.from = "127.0.0.2", .tcp = tcp}) == "REFUSED EDE 15");
    CHECK(askFrom(port, {.from = "127.0.0.3", .tcp = tcp}) == "NOERROR EDE 17");
  }
  // whoami saw the allowed client as itself.
  const Reply allowed = decode(exchangeFrom(port, {.from = "127.0.0.1"}));
  REQUIRE_FALSE(allowed.additional.empty());
  CHECK(allowed.additional[0].find("127.0.0.1") != std::string::npos);

  // Drop: no reply within a second, while a control query sent after it is answered.
  QuerySpec spec;
  spec.name = "example.org.";
  UdpClient dropped("::1");
  dropped.send("::1", port, makeQuery(spec));
  CHECK(askFrom(port, {.from = "127.0.0.1", .to = "127.0.0.1"}) == "NOERROR");
  CHECK(dropped.receive(std::chrono::seconds(1)).empty());
}

TEST_CASE("the OPT of a blocked reply, as a client decodes it: its UDP size echoed, DO set, EDE without text") {
  TempDir dir;
  ServerProcess s(dir, kFourClients);
  const uint16_t port = s.port();

  const Reply plain = decode(exchangeFrom(port, {.from = "127.0.0.2", .type = kAAAA}));
  REQUIRE(plain.ok);
  CHECK(plain.rcode == 5);
  CHECK(plain.hasOpt);  // added although the client sent none, as CoreDNS does
  CHECK(plain.optUdpSize == 4096);
  CHECK(plain.optDo);
  REQUIRE(plain.ednsOptions.size() == 1);
  CHECK(plain.ednsOptions[0].first == 15);
  CHECK(plain.ednsOptions[0].second == std::vector<uint8_t>{0, 15});  // info code 15, no text
  CHECK(plain.answer.empty());

  const Reply edns = decode(exchangeFrom(port, {.from = "127.0.0.3", .type = kTXT, .edns = 1232}));
  REQUIRE(edns.ok);
  CHECK(edns.rcode == 0);
  CHECK(edns.optUdpSize == 1232);
  CHECK(edns.optDo);
  CHECK(extendedError(edns) == 17);

  // dig shows the same to a person.
  const std::string out = dig(port, {"-b", "127.0.0.2", "example.org", "A"});
  CHECK(out.find("status: REFUSED") != std::string::npos);
  CHECK(out.find("EDE: 15 (Blocked)") != std::string::npos);
}

TEST_CASE("several acl stanzas with zones, types and IPv6: first match wins across them") {
  TempDir dir;
  ServerProcess s(dir, R"(example.org:@PORT@ {
  acl internal.example.org {
    allow net 127.0.0.2 ::1
    block
  }
  acl {
    filter type TXT net 127.0.0.0/8
    block type AAAA net ::/0
  }
  whoami
}
)");
  const uint16_t port = s.port();
  // internal.example.org: only 127.0.0.2 and ::1; allow ends the search for them.
  CHECK(askFrom(port, {.from = "127.0.0.2", .name = "api.internal.example.org."}) == "NOERROR");
  CHECK(askFrom(port, {.from = "127.0.0.2", .name = "api.internal.example.org.", .type = kTXT}) == "NOERROR");
  CHECK(askFrom(port, {.from = "::1", .to = "::1", .name = "api.internal.example.org.", .type = kAAAA}) == "NOERROR");
  CHECK(askFrom(port, {.from = "127.0.0.3", .name = "api.internal.example.org."}) == "REFUSED EDE 15");
  CHECK(askFrom(port, {.from = "127.0.0.1", .name = "internal.example.org.", .tcp = true}) == "REFUSED EDE 15");
  // Elsewhere in example.org: the second stanza.
  CHECK(askFrom(port, {.from = "127.0.0.3", .name = "www.example.org.", .type = kTXT}) == "NOERROR EDE 17");
  CHECK(askFrom(port, {.from = "127.0.0.3", .name = "www.example.org.", .type = kAAAA}) == "NOERROR");
  CHECK(askFrom(port, {.from = "::1", .to = "::1", .name = "www.example.org.", .type = kAAAA}) == "REFUSED EDE 15");
  CHECK(askFrom(port, {.from = "::1", .to = "::1", .name = "www.example.org.", .type = kTXT}) == "NOERROR");
}

TEST_CASE("acl runs before cache: a blocked client never gets the answer an allowed one cached") {
  TempDir dir;
  // hosts answers with a TTL of an hour, so the allowed client's answers are cached.
  ServerProcess s(dir, ".:@PORT@ {\n  cache 300\n  hosts {\n    192.0.2.10 cached.example\n  }\n"
                       "  acl {\n    block net 127.0.0.3\n  }\n}\n");
  const uint16_t port = s.port();
  for (int i = 0; i < 3; ++i) {
    const Reply r = decode(exchangeFrom(port, {.from = "127.0.0.1", .name = "cached.example."}));
    REQUIRE(r.answer.size() == 1);
  }
  for (bool tcp : {false, true}) {
    const Reply r = decode(exchangeFrom(port, {.from = "127.0.0.3", .name = "cached.example.", .tcp = tcp}));
    CHECK(r.rcode == 5);
    CHECK(r.answer.empty());
    CHECK(extendedError(r) == 15);
  }
}

TEST_CASE("acl metrics on /metrics: labelled with the block's server and view, per rule zone") {
  TempDir dir;
  const uint16_t metricsPort = freePort();
  ServerProcess s(dir, "example.org:@PORT@ {\n  bind 127.0.0.1\n  prometheus 127.0.0.1:" +
                           std::to_string(metricsPort) + "\n" + R"(  acl a.example.org {
    block net 127.0.0.2
    filter net 127.0.0.3
    drop net 127.0.0.4
  }
  whoami
}
)");
  const uint16_t port = s.port();
  CHECK(askFrom(port, {.from = "127.0.0.2", .name = "a.example.org."}) == "REFUSED EDE 15");
  CHECK(askFrom(port, {.from = "127.0.0.2", .name = "x.a.example.org."}) == "REFUSED EDE 15");
  CHECK(askFrom(port, {.from = "127.0.0.3", .name = "a.example.org."}) == "NOERROR EDE 17");
  CHECK(exchangeFrom(port, {.from = "127.0.0.4", .name = "a.example.org."}).empty());
  CHECK(askFrom(port, {.from = "127.0.0.2", .name = "b.example.org."}) == "NOERROR");

  const std::string srv = "server=\"dns://127.0.0.1:" + std::to_string(port) + "\"";
  HttpReply r = httpGet(metricsPort, "/metrics");
  REQUIRE(r.status == 200);
  CAPTURE(r.body);
  CHECK(r.body.find("coredns_acl_blocked_requests_total{" + srv + ",view=\"\",zone=\"a.example.org.\"} 2\n") !=
        std::string::npos);
  CHECK(r.body.find("coredns_acl_filtered_requests_total{" + srv + ",view=\"\",zone=\"a.example.org.\"} 1\n") !=
        std::string::npos);
  CHECK(r.body.find("coredns_acl_dropped_requests_total{" + srv + ",view=\"\",zone=\"a.example.org.\"} 1\n") !=
        std::string::npos);
  CHECK(r.body.find("coredns_acl_allowed_requests_total{" + srv + ",view=\"\"} 1\n") != std::string::npos);
}

TEST_CASE("a bad acl rule stops the start with file:line:col") {
  struct Case {
    const char* rule;
    const char* error;
  };
  const Case cases[] = {
      {"block net 10.0.0.0/33", "Corefile:3:15: acl: invalid network '10.0.0.0/33'"},
      {"block type AAA", "Corefile:3:16: acl: unknown query type 'AAA'"},
      {"reject net 10.0.0.0/8", "Corefile:3:5: acl: unknown action 'reject'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.rule);
    TempDir dir;
    const std::string path = dir.write("Corefile", std::string(".:1053 {\n  acl {\n    ") + c.rule + "\n  }\n}\n");
    std::string out;
    CHECK(runCommand({MOAT_BINARY, "-conf", path}, out) == 1);
    CHECK(out.find(c.error) != std::string::npos);
  }
}

TEST_CASE("a reload with a bad acl rule keeps the running rules, a good one applies them") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  acl {\n    block net 127.0.0.2\n  }\n  whoami\n}\n");
  const uint16_t port = s.port();
  const std::string p = std::to_string(port);
  REQUIRE(askFrom(port, {.from = "127.0.0.2"}) == "REFUSED EDE 15");

  replaceCorefile(dir, ".:" + p + " {\n  acl {\n    block net 127.0.0.3/40\n  }\n  whoami\n}\n");
  REQUIRE(s.signal(SIGUSR1));
  CHECK(s.waitForOutput("Corefile:3:15", 1, std::chrono::seconds(5)));
  CHECK(askFrom(port, {.from = "127.0.0.2"}) == "REFUSED EDE 15");
  CHECK(askFrom(port, {.from = "127.0.0.3"}) == "NOERROR");

  replaceCorefile(dir, ".:" + p + " {\n  acl {\n    block net 127.0.0.3\n  }\n  whoami\n}\n");
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] { return askFrom(port, {.from = "127.0.0.3"}) == "REFUSED EDE 15"; }, std::chrono::seconds(5)));
  CHECK(askFrom(port, {.from = "127.0.0.2"}) == "NOERROR");
}

}  // namespace acl_test
