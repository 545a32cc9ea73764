// secondary against a real primary: NSD 4 serves the zones (installed by .ci/deps). Moat pulls
// them by AXFR, takes NSD's NOTIFY when a zone changes, keeps serving while NSD is down, and
// answers SERVFAIL once a zone's SOA expire has passed without a refresh.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/nsd.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace secondary_test {

using namespace moat::testing;

namespace {

// example.org changes by NOTIFY only: its refresh (an hour) never fires during the test.
std::string exampleZone(uint32_t serial, const std::string& www) {
  return "$ORIGIN example.org.\n$TTL 300\n"
         "@ IN SOA ns1.example.org. hostmaster.example.org. " + std::to_string(serial) + " 3600 600 86400 300\n"
         "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A " + www + "\n";
}

// short.example expires 3 s after the last refresh that reached NSD.
const std::string kShortZone =
    "$ORIGIN short.example.\n$TTL 60\n"
    "@ IN SOA ns1.short.example. hostmaster.short.example. 1 1 1 3 60\n"
    "@ IN NS ns1\nns1 IN A 192.0.2.1\nhost IN A 192.0.2.30\n";

// Both zones from NSD's zones dir; example.org's changes are NOTIFYed to Moat at notifyPort.
std::string nsdZones(uint16_t notifyPort) {
  return "zone:\n  name: example.org\n  zonefile: example.org.zone\n"
         "  provide-xfr: 127.0.0.0/8 NOKEY\n"
         "  notify: 127.0.0.1@" + std::to_string(notifyPort) + " NOKEY\n"
         "zone:\n  name: short.example\n  zonefile: short.example.zone\n"
         "  provide-xfr: 127.0.0.0/8 NOKEY\n";
}

std::string answer(uint16_t port, const std::string& name) { return dig(port, {name, "A", "+short"}); }
std::string status(uint16_t port, const std::string& name) { return dig(port, {name, "A"}); }

}  // namespace

TEST_CASE("secondary: AXFR from NSD, NOTIFY picks up a change, served while NSD is down, SERVFAIL once expired") {
  REQUIRE_MESSAGE(Nsd::installed(), "NSD is needed as the primary: run .ci/deps");
  TempDir nsdDir, moatDir;
  writeZoneFile(nsdDir, "example.org.zone", exampleZone(1, "192.0.2.10"), 0);
  writeZoneFile(nsdDir, "short.example.zone", kShortZone, 0);
  const uint16_t nsdPort = freePort();

  ServerProcess moat(moatDir, "example.org:@PORT@ short.example:@PORT@ {\n"
                              "  bind 127.0.0.1\n"
                              "  secondary {\n"
                              "    transfer from 127.0.0.1:" + std::to_string(nsdPort) + "\n"
                              "  }\n"
                              "}\n");
  Nsd nsd(nsdDir, nsdPort, nsdZones(moat.port()));

  // The first transfer: Moat retries until NSD is up, then answers from the zone.
  CHECK(eventually([&] { return answer(moat.port(), "www.example.org") == "192.0.2.10\n"; }));
  CHECK(eventually([&] { return answer(moat.port(), "host.short.example") == "192.0.2.30\n"; }));
  CHECK(status(moat.port(), "nope.example.org").find("status: NXDOMAIN") != std::string::npos);

  // A change on the primary reaches Moat by NOTIFY (the refresh timer is an hour away).
  writeZoneFile(nsdDir, "example.org.zone", exampleZone(2, "192.0.2.20"), 1);
  nsd.reload();
  CHECK(eventually([&] { return answer(moat.port(), "www.example.org") == "192.0.2.20\n"; }));
  CHECK(eventually([&] { return moat.stdoutText().find("NOTIFY for example.org.") != std::string::npos ||
                                moat.stderrText().find("NOTIFY for example.org.") != std::string::npos; }));

  // The primary goes away: the last good copy is still served...
  nsd.stop();
  CHECK(answer(moat.port(), "www.example.org") == "192.0.2.20\n");
  // ...until a zone's expire passes without a refresh: then SERVFAIL, as CoreDNS.
  CHECK(eventually([&] { return status(moat.port(), "host.short.example").find("status: SERVFAIL") != std::string::npos; },
                   std::chrono::seconds(8), std::chrono::milliseconds(200)));
  CHECK(answer(moat.port(), "www.example.org") == "192.0.2.20\n");  // its expire is a day
}

}  // namespace secondary_test
