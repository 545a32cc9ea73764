// The file plugin through the real binary: the README's Corefiles answered over the wire, a CNAME
// leaving the zone resolved through forward (and kept home when its target is private), the
// reload thread picking up a new serial and keeping the zone when the file breaks, and explain.
#include <doctest/doctest.h>

#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace file_test {

using namespace moat::testing;

namespace {

const char* const kZone = R"($ORIGIN example.org.
$TTL 3600
@        IN SOA ns1 hostmaster 2026120601 7200 3600 1209600 300
         IN NS  ns1
         IN MX  10 mail
ns1      IN A   192.0.2.53
mail     IN A   192.0.2.25
www      IN A   192.0.2.80
         IN AAAA 2001:db8::80
api      IN CNAME www
*.dev    IN A   192.0.2.81
)";

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string zoneWithSerial(int serial, const std::string& www) {
  return "@ IN SOA ns1 hostmaster " + std::to_string(serial) + " 7200 3600 1209600 300\n"
         "  IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A " + www + "\n";
}

}  // namespace

TEST_CASE("file README: example.org from db.example.org, answered over the wire") {
  TempDir dir;
  dir.write("db.example.org", kZone);
  ServerProcess s(dir, "example.org:@PORT@ {\n    file db.example.org\n}\n");
  CHECK(dig(s.port(), {"www.example.org", "AAAA", "+short"}) == "2001:db8::80\n");
  CHECK(dig(s.port(), {"api.example.org", "A", "+short"}) == "www.example.org.\n192.0.2.80\n");
  CHECK(dig(s.port(), {"anything.dev.example.org", "A", "+short"}) == "192.0.2.81\n");
  const std::string mx = dig(s.port(), {"example.org", "MX"});
  CHECK(has(mx, "flags: qr aa rd"));
  CHECK(has(mx, "mail.example.org.\t3600\tIN\tA\t192.0.2.25"));  // the MX target's address
  const std::string nx = dig(s.port(), {"nope.example.org", "A"});
  CHECK(has(nx, "status: NXDOMAIN"));
  CHECK(has(nx, "example.org.\t\t300\tIN\tSOA\tns1.example.org. hostmaster.example.org. 2026120601"));
  // Outside the block's zone the server has nothing to say.
  CHECK(has(dig(s.port(), {"www.example.net", "A"}), "status: REFUSED"));
}

TEST_CASE("file README: one file for two zones, without the zones, a root block reads it with the wrong origin") {
  TempDir dir;
  dir.write("example.org.signed", "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\nwww IN A 192.0.2.7\n");
  ServerProcess s(dir, ".:@PORT@ {\n    file example.org.signed example.org example.net\n}\n");
  CHECK(dig(s.port(), {"www.example.org", "A", "+short"}) == "192.0.2.7\n");
  CHECK(dig(s.port(), {"www.example.net", "A", "+short"}) == "192.0.2.7\n");
  // Nothing else in the block: a name outside both zones finds no plugin (SERVFAIL, as CoreDNS).
  CHECK(has(dig(s.port(), {"www.example.com", "A"}), "status: SERVFAIL"));

  // The README's warning: `file db.example.org` in a `.` block reads the file with the root as
  // origin. CoreDNS then serves a root zone whose SOA is example.org's; Moat refuses to start
  // and says how to write it.
  dir.write("db.example.org", kZone);
  const std::string corefile = dir.write("Corefile.root", ".:1 {\n    file db.example.org\n}\n");
  std::string out;
  CHECK(runCommand({"/bin/sh", "-c", std::string(MOAT_BINARY) + " -conf " + corefile + " 2>&1"}, out) != 0);
  CHECK(has(out, "no SOA record for origin . (its SOA is example.org.'s: name that zone, as in `file " +
                     dir.path() + "/db.example.org example.org.`)"));
}

TEST_CASE("a CNAME out of the zone is resolved through forward, a private target never leaves") {
  FakeUpstream upstream;
  TempDir dir;
  dir.write("db", "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                  "out IN CNAME www.example.net.\n"
                  "secret IN CNAME api.internal.company.\n");
  ServerProcess s(dir, "example.org:@PORT@ {\n    file db\n}\n"
                       ".:@PORT@ {\n    private internal.company\n    forward . " + upstream.address() + "\n}\n");
  CHECK(dig(s.port(), {"out.example.org", "A", "+short"}) == "www.example.net.\n192.0.2.1\n");
  const std::string secret = dig(s.port(), {"secret.example.org", "A"});
  CHECK(has(secret, "secret.example.org.\t3600\tIN\tCNAME\tapi.internal.company."));
  CHECK(has(secret, "status: NXDOMAIN"));  // the private zone's answer for the target
  for (const auto& q : upstream.received()) CHECK(q.name.find("internal.company") == std::string::npos);
}

TEST_CASE("reload picks up a new serial, and a file that breaks keeps the zone, logged once") {
  TempDir dir;
  const std::string path = dir.write("db", zoneWithSerial(1, "192.0.2.1"));
  ServerProcess s(dir, "example.org:@PORT@ {\n    file db {\n        reload 50ms\n    }\n}\n");
  CHECK(dig(s.port(), {"www.example.org", "A", "+short"}) == "192.0.2.1\n");
  dir.write("db", zoneWithSerial(2, "192.0.2.2"));
  CHECK(eventually([&] { return dig(s.port(), {"www.example.org", "A", "+short"}) == "192.0.2.2\n"; }));

  dir.write("db", zoneWithSerial(3, "not-an-address"));
  REQUIRE(s.waitForOutput("plugin/file: zone example.org.: " + path + ":4: ", 1, std::chrono::seconds(10)));
  CHECK(dig(s.port(), {"www.example.org", "A", "+short"}) == "192.0.2.2\n");
  dir.write("db", zoneWithSerial(4, "192.0.2.4"));
  CHECK(eventually([&] { return dig(s.port(), {"www.example.org", "A", "+short"}) == "192.0.2.4\n"; }));
  const std::string out = s.stdoutText();
  size_t errors = 0;
  for (size_t at = out.find(path + ":4: "); at != std::string::npos; at = out.find(path + ":4: ", at + 1)) ++errors;
  CHECK(errors == 1);
  CHECK(has(out, "plugin/file: reloaded zone example.org. from " + path + ": serial 4"));
}

TEST_CASE("a zone file that does not parse stops the start with its file and line") {
  TempDir dir;
  dir.write("db", "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n\nwww IN AAAA 192.0.2.1\n");
  const std::string corefile = dir.write("Corefile", "example.org:1 {\n    file db\n}\n");
  std::string out;
  CHECK(runCommand({"/bin/sh", "-c", std::string(MOAT_BINARY) + " -conf " + corefile + " 2>&1"}, out) != 0);
  CHECK(has(out, dir.path() + "/db:3: "));
}

TEST_CASE("moat explain says what the zone decided") {
  TempDir dir;
  dir.write("db.example.org", kZone);
  const std::string corefile = dir.write("Corefile", "example.org {\n    file db.example.org\n}\n");
  std::string out;
  REQUIRE(runCommand({MOAT_BINARY, "explain", "-conf", corefile, "x.dev.example.org", "A"}, out) == 0);
  CHECK(has(out, "wildcard *.dev.example.org., answer"));
  REQUIRE(runCommand({MOAT_BINARY, "explain", "-conf", corefile, "api.example.org", "A"}, out) == 0);
  CHECK(has(out, "CNAME chain of 1, answer"));
  REQUIRE(runCommand({MOAT_BINARY, "explain", "-conf", corefile, "nope.example.org", "A"}, out) == 0);
  CHECK(has(out, "(" + dir.path() + "/db.example.org, serial 2026120601): NXDOMAIN"));
}

}  // namespace file_test
