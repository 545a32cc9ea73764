// Every Corefile of CoreDNS's acl README (plugin/acl/README.md, "Examples"), run by the real
// binary and asked from several loopback client addresses. Only two things differ from the
// README: the port is a free one, and the client networks are moved into 127.0.0.0/8 with their
// nesting kept (192.168.0.0/16 -> 127.168.0.0/16, 192.168.0.0/24 -> 127.168.0.0/24,
// 192.168.1.0/24 -> 127.168.1.0/24, 192.0.2.0/24 -> 127.0.2.0/24). The examples have no plugin
// after acl, so a query acl lets through falls off the end of the chain: SERVFAIL, as in CoreDNS.
#include <doctest/doctest.h>

#include <chrono>

#include "tests/integration/client_query.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace acl_readme_test {

using namespace moat::testing;

namespace {

constexpr uint16_t kA = 1, kAAAA = 28, kMX = 15;
const std::string kAllowed = "SERVFAIL";  // passed on, and nothing after acl answers
const std::string kBlocked = "REFUSED EDE 15";
const std::string kFiltered = "NOERROR EDE 17";

}  // namespace

TEST_CASE("acl README: block all DNS queries with record type A from 192.168.0.0/16") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    acl {\n        block type A net 127.168.0.0/16\n    }\n}\n");
  const uint16_t port = s.port();
  CHECK(askFrom(port, {.from = "127.168.0.1", .type = kA}) == kBlocked);
  CHECK(askFrom(port, {.from = "127.168.255.254", .type = kA, .tcp = true}) == kBlocked);
  CHECK(askFrom(port, {.from = "127.168.0.1", .type = kAAAA}) == kAllowed);  // only A is blocked
  CHECK(askFrom(port, {.from = "127.0.0.1", .type = kA}) == kAllowed);      // outside the network
  CHECK(askFrom(port, {.from = "127.169.0.1", .type = kA}) == kAllowed);
}

TEST_CASE("acl README: filter all DNS queries with record type A from 192.168.0.0/16") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    acl {\n        filter type A net 127.168.0.0/16\n    }\n}\n");
  const uint16_t port = s.port();
  CHECK(askFrom(port, {.from = "127.168.3.3", .type = kA}) == kFiltered);
  CHECK(askFrom(port, {.from = "127.168.3.3", .type = kA, .tcp = true}) == kFiltered);
  const Reply filtered = decode(exchangeFrom(port, {.from = "127.168.3.3", .type = kA}));
  CHECK(filtered.answer.empty());  // the empty set the README speaks of
  CHECK(filtered.authority.empty());
  CHECK(askFrom(port, {.from = "127.168.3.3", .type = kMX}) == kAllowed);
  CHECK(askFrom(port, {.from = "127.0.0.1", .type = kA}) == kAllowed);
}

TEST_CASE("acl README: block all DNS queries from 192.168.0.0/16 except for 192.168.1.0/24") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    acl {\n        allow net 127.168.1.0/24\n        block net 127.168.0.0/16\n    }\n}\n");
  const uint16_t port = s.port();
  CHECK(askFrom(port, {.from = "127.168.1.5"}) == kAllowed);
  CHECK(askFrom(port, {.from = "127.168.1.5", .type = kMX}) == kAllowed);
  CHECK(askFrom(port, {.from = "127.168.2.5"}) == kBlocked);
  CHECK(askFrom(port, {.from = "127.168.0.1", .type = kAAAA}) == kBlocked);  // every type
  CHECK(askFrom(port, {.from = "127.0.0.1"}) == kAllowed);
  CHECK(askFrom(port, {.from = "::1", .to = "::1"}) == kAllowed);
}

TEST_CASE("acl README: allow only DNS queries from 192.168.0.0/24 and 192.168.1.0/24") {
  TempDir dir;
  ServerProcess s(dir,
                  ".:@PORT@ {\n    acl {\n        allow net 127.168.0.0/24 127.168.1.0/24\n        block\n    }\n}\n");
  const uint16_t port = s.port();
  CHECK(askFrom(port, {.from = "127.168.0.7"}) == kAllowed);
  CHECK(askFrom(port, {.from = "127.168.1.7"}) == kAllowed);
  CHECK(askFrom(port, {.from = "127.168.2.7"}) == kBlocked);
  CHECK(askFrom(port, {.from = "127.0.0.1"}) == kBlocked);
  CHECK(askFrom(port, {.from = "127.0.0.1", .tcp = true}) == kBlocked);
  CHECK(askFrom(port, {.from = "::1", .to = "::1"}) == kBlocked);
}

TEST_CASE("acl README: block all DNS queries from 192.168.1.0/24 towards a.example.org") {
  TempDir dir;
  ServerProcess s(dir, "example.org:@PORT@ {\n    acl a.example.org {\n        block net 127.168.1.0/24\n    }\n}\n");
  const uint16_t port = s.port();
  CHECK(askFrom(port, {.from = "127.168.1.9", .name = "a.example.org."}) == kBlocked);
  CHECK(askFrom(port, {.from = "127.168.1.9", .name = "www.a.example.org."}) == kBlocked);
  CHECK(askFrom(port, {.from = "127.168.1.9", .name = "b.example.org."}) == kAllowed);
  CHECK(askFrom(port, {.from = "127.168.1.9", .name = "example.org."}) == kAllowed);
  CHECK(askFrom(port, {.from = "127.0.0.1", .name = "a.example.org."}) == kAllowed);
}

TEST_CASE("acl README: drop all DNS queries from 192.0.2.0/24") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    acl {\n        drop net 127.0.2.0/24\n    }\n}\n");
  const uint16_t port = s.port();
  // The dropped query goes first; a control query from outside the network is answered after
  // it, and the dropped one still has no reply a second later.
  QuerySpec spec;
  spec.name = "example.org.";
  UdpClient dropped("127.0.2.1");
  dropped.send("127.0.0.1", port, makeQuery(spec));
  CHECK(askFrom(port, {.from = "127.0.0.1"}) == kAllowed);
  CHECK(dropped.receive(std::chrono::seconds(1)).empty());
  // Over TCP too: the connection stays silent, then the client gives up.
  CHECK(exchangeFrom(port, {.from = "127.0.2.200", .tcp = true}).empty());
  CHECK(askFrom(port, {.from = "127.0.3.1"}) == kAllowed);
}

}  // namespace acl_readme_test
