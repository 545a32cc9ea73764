// The incident (issue 4, DESIGN.md §4): a Corefile with `hosts ... { fallthrough }` and
// `forward . /etc/resolv.conf` sent api.internal.company to a public resolver. Here the very
// Corefile runs against a recording upstream on loopback. Without `private internal.company` it
// still forwards those names (internal.company is not a built-in; this also proves the
// recording works); with that one line added, nothing under internal.company or any built-in
// private zone reaches the upstream, for any name form, qtype or transport, while public names
// still do.
#include <signal.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/incident.hpp"
#include "tests/support/leak_probe.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace leak_test {

using namespace moat::testing;
using namespace moat::testing::leak;

namespace {

// The incident's Corefile as written, on test addresses: DNS and health on free loopback ports
// (`bind` keeps it on loopback), the hosts file in `dir`, the forward aimed at `upstream`
// instead of /etc/resolv.conf, and `extra` lines at the end of the block.
std::string incidentCorefile(const TempDir& dir, const FakeUpstream& upstream, const std::string& hosts,
                             const std::string& extra) {
  Incident i;
  i.key = ".:@PORT@";
  i.bind = "127.0.0.1";
  i.health = "health 127.0.0.1:" + std::to_string(freePort());
  i.hostsPath = dir.write("custom.hosts", hosts);
  i.forwardTo = upstream.address();
  i.extra = extra;
  return incidentCorefile(i);
}

const std::string kHosts =
    "10.0.0.5 api.internal.company\n"
    "fd00::5 api.internal.company\n"
    "10.0.0.6 db.internal.company\n";

// What the incident's Corefile plus `private internal.company` must answer, locally, for each
// name and qtype.
Expect expectedWithPrivate(const std::string& name, const std::string& type) {
  const std::string n = canonical(name);
  if (n == "api.internal.company.") {
    if (type == "A") return data("10.0.0.5");
    if (type == "AAAA") return data("fd00::5");
    return nodata();  // hosts knows the name: NODATA for every other type (PTR included)
  }
  if (n == "db.internal.company.") {
    if (type == "A") return data("10.0.0.6");
    return nodata();
  }
  if (n == "localhost.") {
    if (type == "A") return data("127.0.0.1");
    if (type == "AAAA") return data("::1");
    if (type == "ANY") return local();
    return nodata("localhost.");
  }
  if (n == "internal.company.") {  // the apex exists (it has the SOA): NODATA, never NXDOMAIN
    return type == "ANY" ? local() : nodata("internal.company.");
  }
  if (atOrUnder(n, "cluster.local.")) return negative();  // kubernetes answers its own zone
  if (n == reverseName("10.0.0.5") || n == reverseName("fd00::5")) {
    return type == "PTR" ? data("api.internal.company.") : negative();
  }
  if (n == reverseName("10.0.0.6")) return type == "PTR" ? data("db.internal.company.") : negative();
  if (n == reverseName("127.0.0.1") || n == reverseName("::1")) return local();
  std::string zone = deepestZone(n, privateZones({"internal.company"}));
  REQUIRE_MESSAGE(!zone.empty(), n << " is not private: not a name for this list");
  return miss(zone);
}

const std::vector<std::string> kPrivateNames = {
    "api.internal.company",
    "db.internal.company",
    "missing.internal.company",
    "a.b.c.deep.internal.company",
    "ApI.InTeRnAl.CoMpAnY",
    "MiSsInG.InTeRnAl.CoMpAnY.",
    "internal.company",
    "api.internal.company.default.svc.cluster.local",
    "api.internal.company.svc.cluster.local",
    "api.internal.company.cluster.local",
    reverseName("10.0.0.5"),
    reverseName("10.0.0.6"),
    reverseName("10.99.1.2"),
    reverseName("192.168.1.1"),
    reverseName("172.16.0.1"),
    reverseName("172.31.255.9"),
    reverseName("169.254.3.4"),
    reverseName("fd00::5"),
    reverseName("fd12:3456:789a::1"),
    reverseName("fe80::1"),
    reverseName("127.0.0.1"),
    reverseName("::1"),
    "foo.local",
    "x.home.arpa",
    "y.internal",
    "z.invalid",
    "localhost",
};

}  // namespace

TEST_CASE("leak: the incident's Corefile with `private internal.company` sends no private name upstream") {
  FakeUpstream upstream;
  TempDir dir;
  ServerProcess s(dir, incidentCorefile(dir, upstream, kHosts, "    private internal.company\n"));

  auto asked = askAll(s.port(), kPrivateNames, allTypes());
  CHECK(asked.size() == kPrivateNames.size() * allTypes().size() * 2);
  std::vector<std::string> wrong;
  for (const Asked& a : asked) {
    std::string why = check(a, expectedWithPrivate(a.name, a.type));
    if (!why.empty()) wrong.push_back(why);
  }
  CHECK_MESSAGE(wrong.empty(), wrong.size() << " wrong local answers:\n  " << join(wrong));
  // Every name above is private (the cluster.local forms through local.): the upstream must
  // have received nothing at all.
  auto leaked = seenUnder(upstream, privateZones({"internal.company"}));
  CHECK_MESSAGE(leaked.empty(), "LEAKED upstream:\n  " << join(leaked));
  CHECK_MESSAGE(upstream.queries() == 0, "upstream saw:\n  " << everythingSeen(upstream));

  // The same through a real client (dig: EDNS with a cookie, several queries per run).
  for (const char* transport : {"+notcp", "+tcp"}) {
    std::string out = dig(s.port(), {"+tries=1", "+time=2", transport, "missing.internal.company", "A",
                                     "Deep.Er.Internal.Company", "HTTPS", "foo.local", "AAAA", "y.internal", "MX",
                                     "-x", "10.9.8.7", "-x", "fd00::77"});
    size_t nx = 0;
    for (size_t at = 0; (at = out.find("status: NXDOMAIN", at)) != std::string::npos; ++at) ++nx;
    CHECK_MESSAGE(nx == 6, out);
  }
  CHECK_MESSAGE(upstream.queries() == 0, "upstream saw:\n  " << everythingSeen(upstream));

  // Public names still leave, over the client's transport, and their answers come back; a
  // name that merely contains internal.company's labels is public.
  upstream.clear();
  const std::vector<std::string> publicNames = {"www.example.com", "api.internal.company.example.com",
                                                "internal.company.evil.example.net"};
  for (const Asked& a : askAll(s.port(), publicNames, {"A", "AAAA"})) {
    std::string why = check(a, forwarded());
    CHECK_MESSAGE(why.empty(), why);
    CHECK_MESSAGE(saw(upstream, a.name, typeCode(a.type), a.tcp ? 1 : 0),
                  a.name << " " << a.type << (a.tcp ? " tcp" : " udp") << " did not reach the upstream; it saw:\n  "
                         << everythingSeen(upstream));
  }
  auto leakedLater = seenUnder(upstream, privateZones({"internal.company"}));
  CHECK_MESSAGE(leakedLater.empty(), "LEAKED upstream:\n  " << join(leakedLater));
}

TEST_CASE("leak: the incident's Corefile unchanged still forwards internal.company (not a built-in)") {
  FakeUpstream upstream;
  TempDir dir;
  // The hosts file has db but not api: api.internal.company falls through to forward.
  ServerProcess s(dir, incidentCorefile(dir, upstream, "10.0.0.6 db.internal.company\n", ""));

  auto incident = askAll(s.port(), {"api.internal.company", "new.internal.company"}, {"A", "AAAA"});
  for (const Asked& a : incident) {
    std::string why = check(a, forwarded());
    CHECK_MESSAGE(why.empty(), why);
    CHECK_MESSAGE(saw(upstream, a.name, typeCode(a.type), a.tcp ? 1 : 0),
                  a.what() << ": not seen upstream (the recording must catch the incident); it saw:\n  "
                           << everythingSeen(upstream));
  }
  // Names hosts knows are answered on the box, as before.
  auto known = askAll(s.port(), {"db.internal.company"}, {"A", "AAAA"});
  for (const Asked& a : known) {
    std::string why = check(a, a.type == "A" ? data("10.0.0.6") : nodata());
    CHECK_MESSAGE(why.empty(), why);
  }
  CHECK_FALSE(saw(upstream, "db.internal.company"));

  // The built-in private zones hold with no directive at all.
  upstream.clear();
  const std::vector<std::string> builtins = {"foo.local",    "x.home.arpa",  "y.internal",
                                             "z.invalid",    "a.b.localhost", reverseName("192.168.7.7"),
                                             reverseName("10.1.2.3"), reverseName("fd00::99")};
  for (const Asked& a : askAll(s.port(), builtins, {"A", "PTR", "TXT"})) {
    CHECK_MESSAGE((a.reply.ok && a.reply.aa && (a.reply.rcode == 0 || a.reply.rcode == 3)), a.what());
  }
  auto leaked = seenUnder(upstream, builtinPrivateZones());
  CHECK_MESSAGE(leaked.empty(), "LEAKED upstream:\n  " << join(leaked));
  CHECK_MESSAGE(upstream.queries() == 0, "upstream saw:\n  " << everythingSeen(upstream));
}

TEST_CASE("leak: a reload that adds `private internal.company` stops the names at once") {
  FakeUpstream upstream;
  TempDir dir;
  auto corefile = [&](const std::string& port, const std::string& extra) {
    return ".:" + port + " {\n    bind 127.0.0.1\n    hosts " + dir.write("custom.hosts", kHosts) +
           " {\n        fallthrough\n    }\n    cache 30\n    forward . " + upstream.address() + "\n" + extra + "}\n";
  };
  ServerProcess s(dir, corefile("@PORT@", ""));
  auto before = askAll(s.port(), {"before.internal.company"}, {"A"}, true, false);
  REQUIRE_MESSAGE(check(before[0], forwarded()).empty(), before[0].what());
  REQUIRE(saw(upstream, "before.internal.company"));

  dir.write("Corefile.new", corefile(std::to_string(s.port()), "    private internal.company\n"));
  std::rename((dir.path() + "/Corefile.new").c_str(), (dir.path() + "/Corefile").c_str());
  REQUIRE(s.signal(SIGUSR1));
  bool reloaded = false;
  for (int i = 0; i < 50 && !reloaded; ++i) {
    auto probe = askAll(s.port(), {"probe" + std::to_string(i) + ".internal.company"}, {"A"}, true, false);
    reloaded = check(probe[0], miss("internal.company.")).empty();
    if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE_MESSAGE(reloaded, s.stdoutText());
  upstream.clear();
  std::vector<std::string> names = {"missing.internal.company", "a.b.c.deep.internal.company",
                                    "Other.InTeRnAl.CoMpAnY", "foo.local", reverseName("10.1.2.3")};
  auto asked = askAll(s.port(), names, allTypes());
  for (const Asked& a : asked) CHECK_MESSAGE((a.reply.ok && a.reply.aa), a.what());
  auto leaked = seenUnder(upstream, privateZones({"internal.company"}));
  CHECK_MESSAGE(leaked.empty(), "LEAKED after the reload:\n  " << join(leaked));
  auto pub = askAll(s.port(), {"www.example.com"}, {"A"});
  for (const Asked& a : pub) CHECK_MESSAGE(check(a, forwarded()).empty(), a.what());
}

TEST_CASE("leak: a forward health check cannot probe a private name") {
  FakeUpstream upstream;
  TempDir dir;
  std::string conf = dir.write("Corefile",
                               ".:" + std::to_string(freePort()) + " {\n"
                               "    bind 127.0.0.1\n"
                               "    forward . " + upstream.address() + " {\n"
                               "        health_check 100ms domain probe.internal.company\n"
                               "    }\n"
                               "    private internal.company\n"
                               "}\n");
  std::string out;
  int code = runCommand({MOAT_BINARY, "-conf", conf}, out, std::chrono::seconds(3));
  // Refused at setup (it would otherwise run until the 3 s bound and be killed: -1).
  CHECK_MESSAGE(code > 0, "exit " << code << ": " << out);
  CHECK_MESSAGE(out.find("probe.internal.company") != std::string::npos, out);
  CHECK(upstream.queries() == 0);

  // The same probe from a forward scoped to the zone is allowed.
  FakeUpstream site;
  TempDir okDir;
  ServerProcess s(okDir, ".:@PORT@ {\n"
                         "    bind 127.0.0.1\n"
                         "    forward internal.company " + site.address() + " {\n"
                         "        health_check 100ms domain probe.internal.company\n"
                         "    }\n"
                         "    private internal.company\n"
                         "}\n");
  CHECK(s.running());
}

}  // namespace leak_test
