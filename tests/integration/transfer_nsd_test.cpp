// NSD 4 as a real secondary of Moat's `file` + `transfer`: NSD asks Moat for the zone, serves it,
// and takes the next serial when Moat's NOTIFY tells it. NSD listens on, and sends from,
// 127.0.0.2 (the zone's outgoing-interface), so Moat's `to` must name NSD's address for the transfer
// to be allowed: 127.0.0.1, where the test's own clients are, is not listed.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/kdig.hpp"
#include "tests/support/nsd.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace transfer_nsd_test {

using namespace moat::testing;

namespace {

// Refresh an hour, retry ten minutes: within the test NSD asks again only when NOTIFYed.
void writeZone(const TempDir& dir, uint32_t serial, const std::string& www) {
  const std::string tmp = dir.write("db.example.org.tmp",
                                    "$ORIGIN example.org.\n$TTL 300\n"
                                    "@ IN SOA ns1 hostmaster " + std::to_string(serial) + " 3600 600 86400 300\n"
                                    "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A " + www + "\n"
                                    "mail IN MX 10 ns1\ntxt IN TXT \"serial " + std::to_string(serial) + "\"\n");
  std::filesystem::rename(tmp, dir.path() + "/db.example.org");  // whole, so a reload never reads half
}

}  // namespace

TEST_CASE("transfer: NSD as a secondary of Moat gets the zone, and the next serial after Moat's NOTIFY") {
  REQUIRE_MESSAGE(Nsd::installed(), "NSD is needed as the secondary: run .ci/deps");
  TempDir moatDir, nsdDir;
  writeZone(moatDir, 1, "192.0.2.10");
  const uint16_t nsdPort = freePort();
  ServerProcess moat(moatDir, "example.org:@PORT@ {\n"
                              "  file db.example.org {\n    reload 100ms\n  }\n"
                              "  transfer {\n    to 127.0.0.2:" + std::to_string(nsdPort) + "\n  }\n"
                              "}\n");
  // Moat's NOTIFYs have no `source`: they leave from 127.0.0.1, the kernel's pick towards 127.0.0.2.
  Nsd nsd(nsdDir, nsdPort,
          "zone:\n  name: example.org\n  zonefile: example.org.zone\n"
          "  request-xfr: 127.0.0.1@" + std::to_string(moat.port()) + " NOKEY\n"
          "  allow-notify: 127.0.0.1 NOKEY\n"
          "  outgoing-interface: 127.0.0.2\n"
          "  provide-xfr: 127.0.0.0/8 NOKEY\n",
          "127.0.0.2");
  auto fromNsd = [&](const std::string& name, const std::string& type) {
    return dig(nsdPort, {"@127.0.0.2", name, type, "+short"});
  };

  INFO("NSD: " << nsd.log() << "\nMoat: " << moat.stderrText() << moat.stdoutText());  // read on failure

  // The first transfer: NSD has no copy and asks at start.
  CHECK(eventually([&] { return fromNsd("www.example.org", "A") == "192.0.2.10\n"; }, std::chrono::seconds(15)));
  CHECK(fromNsd("mail.example.org", "MX") == "10 ns1.example.org.\n");
  const auto served = transferredZone(kdig(moat.port(), {"-b", "127.0.0.2", "+tcp", "example.org", "AXFR"}));
  REQUIRE(served.size() == 6);
  CHECK(transferredZone(kdig(nsdPort, {"+tcp", "example.org", "AXFR"}, "127.0.0.2")) == served);

  // A new serial on disk: Moat reloads it, NOTIFYs NSD, NSD transfers it (its refresh is an
  // hour away, so only the NOTIFY can have told it).
  writeZone(moatDir, 2, "192.0.2.20");
  CHECK(eventually([&] { return fromNsd("www.example.org", "A") == "192.0.2.20\n"; }, std::chrono::seconds(15)));
  CHECK(fromNsd("txt.example.org", "TXT") == "\"serial 2\"\n");
  CHECK(fromNsd("example.org", "SOA").find(" 2 3600 600 86400 300") != std::string::npos);
}

}  // namespace transfer_nsd_test
