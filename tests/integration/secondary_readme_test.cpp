// The two Corefiles of CoreDNS's secondary README (plugin/secondary/README.md, "Examples"), run
// by the real binary with NSD 4 as the real primary. Mapped onto loopback, the names kept:
//   10.1.2.1 (the primary that works) -> NSD on 127.0.0.1 at a free port;
//   10.0.1.1 (the primary that fails) -> 127.0.0.1 at another free port where nothing listens
//     (the connection is refused), or a fake primary that answers the AXFR REFUSED, or one that
//     takes the connection and never answers;
//   port 53 -> free ports.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/kdig.hpp"
#include "tests/support/nsd.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace secondary_readme_test {

using namespace moat::testing;

namespace {

// A zone with a bit of everything a transfer carries: apex records, a delegation with glue, a
// wildcard, a CNAME, text with spaces. Refresh an hour: nothing but the first transfer happens.
std::string zoneText(const std::string& origin) {
  return "$ORIGIN " + origin + ".\n$TTL 3600\n"
         "@ IN SOA ns1 hostmaster 2024060101 3600 600 86400 300\n"
         "@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mail\n@ IN TXT \"v=spf1 -all\" \"two strings\"\n"
         "ns1 IN A 192.0.2.1\nns2 IN AAAA 2001:db8::2\nmail 300 IN A 192.0.2.25\n"
         "www IN CNAME web\nweb IN A 192.0.2.80\nweb IN A 192.0.2.81\n"
         "_sip._tcp IN SRV 10 60 5060 sip\n*.wild IN A 192.0.2.99\n"
         "sub IN NS ns.sub\nns.sub IN A 192.0.2.53\n";
}
constexpr size_t kRecords = 15;  // in zoneText, the SOA once

std::string nsdZone(const std::string& origin) {
  return "zone:\n  name: " + origin + "\n  zonefile: " + origin + ".zone\n  provide-xfr: 127.0.0.0/8 NOKEY\n";
}

std::string answer(uint16_t port, const std::string& name) { return dig(port, {name, "A", "+short"}); }

}  // namespace

// "Transfer example.org from 10.0.1.1, and if that fails try 10.1.2.1."
TEST_CASE("secondary README: example.org from 10.0.1.1, and from 10.1.2.1 when that fails") {
  REQUIRE_MESSAGE(Nsd::installed(), "NSD is needed as the primary: run .ci/deps");
  TempDir nsdDir, moatDir;
  writeZoneFile(nsdDir, "example.org.zone", zoneText("example.org"), 0);
  Nsd nsd(nsdDir, freePort(), nsdZone("example.org"));

  std::optional<FakeUpstream> failing;
  std::string first;
  // How soon the zone must be served: a refused connection or a REFUSED answer fails at once; a
  // primary that never answers costs the secondary's 5 s idle timeout (plugins/secondary/primary.hpp).
  std::chrono::seconds bound(5);
  SUBCASE("nothing listens at the first primary") { first = "127.0.0.1:" + std::to_string(freePort()); }
  SUBCASE("the first primary answers the AXFR REFUSED") {
    failing.emplace();
    failing->setMode(FakeUpstream::Mode::Refused);
    first = failing->address();
  }
  SUBCASE("the first primary takes the connection and never answers") {
    failing.emplace();
    failing->setMode(FakeUpstream::Mode::Silent);
    first = failing->address();
    bound = std::chrono::seconds(12);
  }
  CAPTURE(first);

  ServerProcess moat(moatDir, "example.org:@PORT@ {\n    secondary {\n        transfer from " + first +
                                  " 127.0.0.1:" + std::to_string(nsd.port()) + "\n    }\n}\n");
  INFO("moat: " << moat.stderrText() << moat.stdoutText());  // read on failure
  CHECK(eventually([&] { return answer(moat.port(), "ns1.example.org") == "192.0.2.1\n"; }, bound));
  CHECK(answer(moat.port(), "x.wild.example.org") == "192.0.2.99\n");
  // The first primary was asked first (in order, as the README says), for the zone.
  if (failing) {
    REQUIRE(failing->tcpQueries() >= 1);
    CHECK(failing->received().front().name == "example.org.");
    CHECK(failing->received().front().type == 252);  // AXFR
  }
  const std::string log = moat.stdoutText() + moat.stderrText();
  CHECK(log.find("transferred zone example.org. from 127.0.0.1:" + std::to_string(nsd.port())) != std::string::npos);
}

// "Or re-export the retrieved zone to other secondaries."
TEST_CASE("secondary README: example.net from 10.1.2.1, re-exported to other secondaries") {
  REQUIRE_MESSAGE(Nsd::installed(), "NSD is needed as the primary: run .ci/deps");
  TempDir nsdDir, moatDir, downstreamDir;
  writeZoneFile(nsdDir, "example.net.zone", zoneText("example.net"), 0);
  Nsd nsd(nsdDir, freePort(), nsdZone("example.net"));
  ServerProcess moat(moatDir, "example.net:@PORT@ {\n    secondary {\n        transfer from 127.0.0.1:" +
                                  std::to_string(nsd.port()) + "\n    }\n    transfer {\n        to *\n    }\n}\n");
  REQUIRE(eventually([&] { return answer(moat.port(), "web.example.net").find("192.0.2.80") != std::string::npos; }));

  const std::string fromNsd = kdig(nsd.port(), {"+tcp", "example.net", "AXFR"});
  const auto primaryZone = transferredZone(fromNsd);
  INFO("NSD: " << fromNsd);
  REQUIRE(primaryZone.size() == kRecords);
  // Record for record what NSD holds, to anyone (`to *`): 127.0.0.1 and another address.
  for (const char* client : {"127.0.0.1", "127.3.4.5"}) {
    CAPTURE(client);
    const std::string fromMoat = kdig(moat.port(), {"-b", client, "+tcp", "example.net", "AXFR"});
    INFO("Moat: " << fromMoat);
    CHECK(transferredZone(fromMoat) == primaryZone);
  }

  // Another secondary, a second Moat, pulls the zone from this one and answers from it.
  ServerProcess downstream(downstreamDir, "example.net:@PORT@ {\n    secondary {\n        transfer from 127.0.0.1:" +
                                              std::to_string(moat.port()) + "\n    }\n}\n");
  CHECK(eventually([&] { return answer(downstream.port(), "x.wild.example.net") == "192.0.2.99\n"; }));
  // The delegation came along: a name below the cut gets a referral, the glue with it.
  const std::string referral = dig(downstream.port(), {"host.sub.example.net", "A", "+norec"});
  INFO(referral);
  CHECK(referral.find("status: NOERROR") != std::string::npos);
  const auto lines = kdigRecords(referral);  // dig's sections read as kdig's: ';' lines dropped
  CHECK(std::count(lines.begin(), lines.end(), "sub.example.net. 3600 IN NS ns.sub.example.net.") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "ns.sub.example.net. 3600 IN A 192.0.2.53") == 1);
}

}  // namespace secondary_readme_test
