// `moat explain` runs the server's own chain with no network and prints each decision.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "cmd/explain.hpp"
#include "tests/support/incident.hpp"
#include "tests/support/server_process.hpp"

namespace moat::app {
namespace {

using moat::testing::Incident;
using moat::testing::incidentCorefile;
using moat::testing::TempDir;

struct Run {
  int code = 0;
  std::string out, err;
};

Run explain(std::vector<std::string> args) {
  std::ostringstream out, err;
  Run r;
  r.code = runExplain(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The incident's Corefile (files in `dir`), optionally with `extra` lines.
std::string incident(const TempDir& dir, const std::string& extra) {
  Incident i;
  i.hostsPath = dir.write("custom.hosts", "10.0.0.6 db.internal.company\n");
  i.forwardTo = dir.write("resolv.conf", "nameserver 192.0.2.53\n");
  i.extra = extra;
  return dir.write("Corefile", incidentCorefile(i));
}

TEST_CASE("explain: the incident's path for api.internal.company A, then with `private`") {
  TempDir dir;
  auto before = explain({"-conf", incident(dir, ""), "api.internal.company", "A"});
  CHECK(before.code == 0);
  CHECK(has(before.out, "query         api.internal.company. A\n"));
  CHECK(has(before.out, "server        .:53   zone .\n"));
  CHECK(has(before.out, "hosts         " + dir.path() + "/custom.hosts: no entry; fallthrough (all zones) -> next\n"));
  CHECK(has(before.out, "forward       . -> " + dir.path() + "/resolv.conf: would send it upstream"));
  CHECK(has(before.out, "reply         the upstream's answer"));

  auto after = explain({"-conf", incident(dir, "    private internal.company\n"), "api.internal.company", "A"});
  CHECK(after.code == 0);
  CHECK(has(after.out, "forward       . -> " + dir.path() +
                           "/resolv.conf: BLOCKED, api.internal.company. is under private internal.company."));
  CHECK(has(after.out, "reply         NXDOMAIN aa\n"));
  CHECK(has(after.out, "authority internal.company. 30 IN SOA"));
  CHECK_FALSE(has(after.out, "upstream's answer"));
}

TEST_CASE("explain: local answers, types, built-in private zones and unserved names") {
  TempDir dir;
  const std::string conf = incident(dir, "");
  auto hostsA = explain({"-conf", conf, "DB.internal.company", "A"});
  CHECK(has(hostsA.out, "hosts         " + dir.path() + "/custom.hosts: entry found -> answered\n"));
  CHECK(has(hostsA.out, "answer    db.internal.company. 3600 IN A 10.0.0.6"));
  auto nodata = explain({"-conf", conf, "db.internal.company", "AAAA"});
  CHECK(has(nodata.out, "other types only (NODATA)"));
  CHECK(has(nodata.out, "reply         NOERROR aa\n"));
  auto mdns = explain({"-conf", conf, "printer.local", "MX"});
  CHECK(has(mdns.out, "BLOCKED, printer.local. is under private local."));
  CHECK(has(mdns.out, "authority local. 30 IN SOA"));
  auto loopback = explain({"-conf", conf, "localhost"});  // TYPE defaults to A
  CHECK(has(loopback.out, "answer    localhost. "));
  CHECK(has(loopback.out, " IN A 127.0.0.1"));

  const std::string scoped = dir.write("Scoped", "example.org:53 {\n    whoami\n}\n");
  auto refused = explain({"-conf", scoped, "www.example.com", "A"});
  CHECK(refused.code == 0);
  CHECK(has(refused.out, "no server block serves this name"));
  CHECK(has(refused.out, "reply         REFUSED"));
}

TEST_CASE("explain: usage errors exit 2, configuration errors 1 with file:line:col") {
  CHECK(explain({}).code == 2);
  CHECK(explain({"example.org"}).code == 2);
  CHECK(explain({"-conf", "x", "a", "A", "extra"}).code == 2);
  auto badType = explain({"-conf", "x", "a", "NOTATYPE"});
  CHECK(badType.code == 2);
  CHECK(has(badType.err, "unknown type NOTATYPE"));
  TempDir dir;
  auto bad = explain({"-conf", dir.write("Corefile", ".:53 {\n    forwrd . 192.0.2.1\n}\n"), "a.example"});
  CHECK(bad.code == 1);
  CHECK(has(bad.err, "Corefile:2:5: unknown directive 'forwrd' (did you mean 'forward'?)"));
}

}  // namespace
}  // namespace moat::app
