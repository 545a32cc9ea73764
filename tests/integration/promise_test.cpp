// The must-shows through the real binary: `moat lint` rejects the incident's Corefile
// and accepts it with one `private` line; `moat explain` shows api.internal.company's path.
#include <doctest/doctest.h>

#include <string>

#include "tests/support/incident.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace promise_test {

using namespace moat::testing;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The incident's Corefile, with the hosts file and resolv.conf in `dir`, plus `extra` lines.
std::string incident(const TempDir& dir, const std::string& extra) {
  Incident i;
  i.hostsPath = dir.write("custom.hosts", "10.0.0.5 api.internal.company\n10.0.0.6 db.internal.company\n");
  i.forwardTo = dir.write("resolv.conf", "nameserver 192.0.2.53\n");
  i.extra = extra;
  return dir.write("Corefile", incidentCorefile(i));
}

}  // namespace

TEST_CASE("moat lint: the incident's Corefile fails on the forward line, one private line fixes it") {
  TempDir dir;
  const std::string corefile = incident(dir, "");
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "lint", corefile}, out) == 1);
  CHECK(has(out, corefile + ":13:5: error: "));
  CHECK(has(out, "internal.company."));
  CHECK(has(out, "[leak/unscoped-forward]"));
  CHECK(has(out, "private internal.company"));
  CHECK(has(out, "[kubernetes/upstream]"));  // issue 3's last item

  const std::string fixed = incident(dir, "    private internal.company\n");
  std::string after;
  CHECK(runCommand({MOAT_BINARY, "lint", fixed}, after) == 0);
  CHECK_FALSE(has(after, "leak/"));
  std::string github;
  CHECK(runCommand({MOAT_BINARY, "lint", "--format", "github", "--fail-on", "warning", fixed}, github) == 1);
  CHECK(has(github, "::warning file=" + fixed + ",line="));
  std::string missing;
  CHECK(runCommand({MOAT_BINARY, "lint", dir.path() + "/no-such-Corefile"}, missing) == 2);
}

TEST_CASE("moat explain: api.internal.company A through the incident's Corefile, before and after") {
  TempDir dir;
  std::string before;
  REQUIRE(runCommand({MOAT_BINARY, "explain", "-conf", incident(dir, ""), "missing.internal.company", "A"}, before) == 0);
  CHECK(has(before, "hosts         " + dir.path() + "/custom.hosts: no entry; fallthrough (all zones) -> next"));
  CHECK(has(before, "would send it upstream"));
  std::string after;
  REQUIRE(runCommand({MOAT_BINARY, "explain", "-conf", incident(dir, "    private internal.company\n"),
                      "missing.internal.company", "A"}, after) == 0);
  CHECK(has(after, "BLOCKED, missing.internal.company. is under private internal.company."));
  CHECK(has(after, "reply         NXDOMAIN aa"));
  std::string found;
  REQUIRE(runCommand({MOAT_BINARY, "explain", "-conf", incident(dir, ""), "api.internal.company", "A"}, found) == 0);
  CHECK(has(found, "answer    api.internal.company. 3600 IN A 10.0.0.5"));
}

}  // namespace promise_test
