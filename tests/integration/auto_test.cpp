// The auto plugin in the real binary: a directory of zone files answered from the first query,
// a file added later answered after the next scan, a file removed no longer answered (REFUSED,
// as CoreDNS's auto when no plugin follows it), and a changed serial reloaded.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace auto_test {

using namespace moat::testing;

namespace {

std::string zoneText(const std::string& origin, int serial, const std::string& address) {
  return "$ORIGIN " + origin + "\n$TTL 300\n@ IN SOA ns1 hostmaster " + std::to_string(serial) +
         " 7200 3600 1209600 300\n  IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A " + address + "\n";
}

// Renamed into place, so a scan never reads half a file.
void putZone(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string partial = dir.write("partial.tmp", text);
  std::filesystem::rename(partial, dir.path() + "/zones/" + name);
}

std::string address(uint16_t port, const std::string& name) { return dig(port, {name, "A", "+short"}); }

std::string status(uint16_t port, const std::string& name) {
  const std::string out = dig(port, {name, "A"});
  const size_t at = out.find("status: ");
  return at == std::string::npos ? out : out.substr(at + 8, out.find(',', at) - at - 8);
}

}  // namespace

TEST_CASE("auto: zone files answered from the start, files added, changed and removed are picked up") {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/zones");
  putZone(dir, "db.example.org", zoneText("example.org.", 1, "192.0.2.1"));
  putZone(dir, "db.example.net", zoneText("example.net.", 1, "192.0.2.2"));
  ServerProcess s(dir, ".:@PORT@ {\n  auto {\n    directory zones\n    reload 100ms\n  }\n}\n");
  const uint16_t port = s.port();

  // The first scan ran during setup: no waiting.
  CHECK(address(port, "www.example.org") == "192.0.2.1\n");
  CHECK(address(port, "www.example.net") == "192.0.2.2\n");
  CHECK(status(port, "nope.example.org") == "NXDOMAIN");
  CHECK(status(port, "www.example.com") == "REFUSED");

  putZone(dir, "db.example.com", zoneText("example.com.", 1, "192.0.2.3"));
  CHECK(eventually([&] { return address(port, "www.example.com") == "192.0.2.3\n"; }));

  putZone(dir, "db.example.org", zoneText("example.org.", 2, "192.0.2.4"));
  CHECK(eventually([&] { return address(port, "www.example.org") == "192.0.2.4\n"; }));

  std::filesystem::remove(dir.path() + "/zones/db.example.net");
  CHECK(eventually([&] { return status(port, "www.example.net") == "REFUSED"; }));
  CHECK(address(port, "www.example.com") == "192.0.2.3\n");
  CHECK(s.running());
}

}  // namespace auto_test
