// The private-zone guarantee in every view (issue 13, DESIGN.md §4): blocks that share a zone
// and port, chosen per client by `view`, each with its own forward. Every private name is asked
// from every client network (127.0.0.2 office, 127.0.0.3 guests, 127.0.0.1 and ::1 everyone
// else) with every qtype over UDP and TCP; no upstream of any view may see one, unless a forward
// of the view that took the query is scoped to its zone.
#include <doctest/doctest.h>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/leak_probe.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace leak_view_test {

using namespace moat::testing;
using namespace moat::testing::leak;

namespace {

const std::vector<std::string> kClients = {"127.0.0.2", "127.0.0.3", "127.0.0.1", "::1"};

const std::vector<std::string> kMissing = {
    "missing.internal.company", "a.b.deep.internal.company", "MiSsInG.InTeRnAl.CoMpAnY",
    "foo.local",                "x.home.arpa",               "y.internal",
    reverseName("192.168.1.1"), reverseName("10.9.9.9"),     reverseName("fd12::1"),
};

// Three views on one port: the office gets the internal hosts and falls through to its
// forward, guests and everyone else only forward. `officeExtra` adds lines to the office block.
std::string corefile(const TempDir& dir, const FakeUpstream& office, const FakeUpstream& guests,
                     const FakeUpstream& others, const std::string& officeExtra = "") {
  const std::string hosts = dir.write("hosts", "10.0.0.5 api.internal.company\n");
  return ".:@PORT@ {\n"
         "    bind 127.0.0.1 ::1\n"
         "    view office {\n        expr incidr(client_ip(), '127.0.0.2/32')\n    }\n"
         "    private internal.company\n"
         "    hosts " + hosts + " {\n        fallthrough\n    }\n" + officeExtra +
         "    forward . " + office.address() + "\n"
         "}\n"
         ".:@PORT@ {\n"
         "    bind 127.0.0.1 ::1\n"
         "    view guests {\n        expr incidr(client_ip(), '127.0.0.3/32')\n    }\n"
         "    cache 30\n"
         "    forward . " + guests.address() + "\n"
         "}\n"
         ".:@PORT@ {\n"
         "    bind 127.0.0.1 ::1\n"
         "    forward . " + others.address() + " {\n        force_tcp\n    }\n"
         "}\n";
}

}  // namespace

TEST_CASE("leak: views: no private name reaches any view's upstream, from any client") {
  FakeUpstream office, guests, others;
  TempDir dir;
  ServerProcess s(dir, corefile(dir, office, guests, others));
  const std::vector<const FakeUpstream*> all = {&office, &guests, &others};
  for (const std::string& client : kClients) {
    INFO("client " << client);
    expectBlocked(s.port(), kMissing, {"internal.company"}, all, "", client);
  }
  // The office's own hosts answer; the other views do not know the name, and keep it in.
  const Reply officeAnswer = decode(exchangeUdpFrom("127.0.0.2", s.port(), makeQuery({.name = "api.internal.company."})));
  CHECK(officeAnswer.answer == std::vector<std::string>{"api.internal.company. 3600 IN A 10.0.0.5"});
  for (const char* client : {"127.0.0.3", "::1"}) {
    INFO("client " << client);
    expectBlocked(s.port(), {"api.internal.company"}, {"internal.company"}, all, "", client);
  }
  // Public names still leave, each through the forward of the view that took it.
  expectForwarded(s.port(), {"office.example.com"}, office, "127.0.0.2");
  expectForwarded(s.port(), {"guest.example.com"}, guests, "127.0.0.3");
  expectForwarded(s.port(), {"other.example.com"}, others, "::1");
  CHECK_FALSE(saw(office, "guest.example.com"));
  CHECK_FALSE(saw(guests, "office.example.com"));
  for (const FakeUpstream* up : all) CHECK(seenUnder(*up, privateZones({"internal.company"})).empty());
}

TEST_CASE("leak: views: a forward scoped to the zone sends it only from its own view") {
  FakeUpstream office, guests, others, corp;
  TempDir dir;
  ServerProcess s(dir, corefile(dir, office, guests, others,
                                "    forward internal.company " + corp.address() + "\n"));
  // The office's escape hatch: its names under internal.company go to the company resolver.
  expectForwarded(s.port(), {"wiki.internal.company"}, corp, "127.0.0.2");
  // Nobody else's do, and no other upstream ever sees them.
  for (const char* client : {"127.0.0.3", "127.0.0.1", "::1"}) {
    INFO("client " << client);
    expectBlocked(s.port(), {"wiki.internal.company", "missing.internal.company"},
                  {"internal.company"}, {&office, &guests, &others}, "", client);
  }
  CHECK_FALSE(saw(corp, "missing.internal.company"));
  for (const FakeUpstream* up : {&office, &guests, &others}) {
    CHECK(seenUnder(*up, privateZones({"internal.company"})).empty());
  }
}

}  // namespace leak_view_test
