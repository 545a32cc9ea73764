// The seed leak (DESIGN.md §4): the incident's Corefile, its fix, and the neighbours of the
// leak rule: scoped forwards, except, private zones, kubernetes reverse zones.
#include "lint/test_util.hpp"
#include "tests/support/incident.hpp"

namespace moat::lint::testing {
namespace {

// The incident's Corefile, with the hosts file and resolv.conf in the test's dir.
std::string incident(const std::string& extra = "") {
  moat::testing::Incident i;
  i.hostsPath = "@DIR@/custom.hosts";
  i.forwardTo = "@DIR@/resolv.conf";
  i.extra = extra;
  return moat::testing::incidentCorefile(i);
}

TEST_CASE("incident: the leak is an error at the forward line, naming internal.company.") {
  TempDir dir;
  dir.write("custom.hosts", "10.0.0.5 api.internal.company\n");
  writeResolvConf(dir);
  const std::string corefile = dir.write("Corefile", expand(incident(), dir));

  CliRun run = runCli({corefile});
  CAPTURE(run.out);
  CHECK(run.code == 1);
  CHECK(run.out.find(corefile + ":13:5: error: ") != std::string::npos);
  CHECK(run.out.find("internal.company.") != std::string::npos);
  CHECK(run.out.find("[leak/unscoped-forward]") != std::string::npos);

  auto leaks = withRule(lintText(dir, incident()), "leak/unscoped-forward");
  REQUIRE(leaks.size() == 1);
  CHECK(leaks[0].severity == Severity::Error);
  CHECK(leaks[0].pos.line == 13);
  CHECK(leaks[0].pos.col == 5);
  CHECK(leaks[0].message.find("internal.company.") != std::string::npos);
  CHECK(leaks[0].message.find("`private internal.company`") != std::string::npos);
  CHECK(leaks[0].message.find("forward internal.company") != std::string::npos);
}

TEST_CASE("incident fixed: `private internal.company` leaves no leak and exit 0") {
  TempDir dir;
  dir.write("custom.hosts", "10.0.0.5 api.internal.company\n");
  writeResolvConf(dir);
  const std::string fixed = incident("    private internal.company\n");
  auto findings = lintText(dir, fixed);
  CAPTURE(describe(findings));
  CHECK_FALSE(hasRule(findings, "leak/unscoped-forward"));
  for (const Finding& f : findings) CHECK(f.severity != Severity::Error);

  CliRun run = runCli({dir.path() + "/Corefile"});
  CAPTURE(run.out);
  CHECK(run.code == 0);
}

TEST_CASE("incident with the hosts file missing still reports the leak, generically") {
  TempDir dir;
  writeResolvConf(dir);
  auto findings = lintText(dir, incident());
  CAPTURE(describe(findings));
  auto leaks = withRule(findings, "leak/unscoped-forward");
  REQUIRE(leaks.size() == 1);
  CHECK(leaks[0].pos.line == 13);
  CHECK(leaks[0].message.find("names hosts serves fall through to forward .") != std::string::npos);
  CHECK(leaks[0].message.find("custom.hosts") != std::string::npos);
  CHECK(hasRule(findings, "config/warning"));  // the server's own "file does not exist"

  CliRun run = runCli({dir.path() + "/Corefile"});
  CHECK(run.code == 1);
}

TEST_CASE("incident: the other differences from CoreDNS are named, none of them errors") {
  TempDir dir;
  dir.write("custom.hosts", "10.0.0.5 api.internal.company\n");
  writeResolvConf(dir);
  auto findings = lintText(dir, incident("    private internal.company\n"));
  CAPTURE(describe(findings));
  CHECK(hasRule(findings, "kubernetes/upstream"));
  CHECK(hasRule(findings, "order/written"));         // kubernetes written before hosts
  CHECK(hasRule(findings, "moat/private-builtin"));  // forward . no longer sends local. etc.
  CHECK(hasRule(findings, "kubernetes/no-probes"));  // health but no ready
  CHECK_FALSE(hasRule(findings, "kubernetes/reverse-fallthrough"));
  for (const Finding& f : withRule(findings, "config/warning")) {
    CHECK(f.message.find("'upstream'") == std::string::npos);  // has its own id
  }
}

TEST_CASE("leak: several zones from hosts and inline entries, one finding listing them") {
  TempDir dir;
  dir.write("hosts", "10.0.0.5 api.internal.company\n10.0.0.6 db.corp.example www.corp.example\n"
                     "10.0.0.7 deep.api.internal.company\n127.0.0.1 localhost\n10.0.0.8 single\n");
  writeResolvConf(dir);
  auto leaks = withRule(lintText(dir, ". {\n"
                                      "  hosts @DIR@/hosts {\n"
                                      "    10.1.1.1 git.lab.example\n"
                                      "    fallthrough\n"
                                      "  }\n"
                                      "  forward . @DIR@/resolv.conf\n"
                                      "}\n"),
                        "leak/unscoped-forward");
  REQUIRE(leaks.size() == 1);
  const std::string& m = leaks[0].message;
  CAPTURE(m);
  CHECK(m.find("internal.company.") != std::string::npos);
  CHECK(m.find("corp.example.") != std::string::npos);
  CHECK(m.find("lab.example.") != std::string::npos);
  // api.internal.company. and deep.api... lie inside internal.company.: one zone for them.
  CHECK(m.find("`private lab.example internal.company corp.example`") != std::string::npos);
  CHECK(m.find("(api.internal.company.)") != std::string::npos);  // an example name
  CHECK(m.find("localhost") == std::string::npos);              // a private built-in
  CHECK(m.find("single") == std::string::npos);                 // single label: root's business
}

TEST_CASE("leak: the zone of an entry, public TLDs and sinkholes") {
  TempDir dir;
  dir.write("hosts", "10.0.0.1 mycompany.com\n10.0.0.2 nas.lan\n0.0.0.0 ads.tracker.example\n"
                     ":: ads.tracker.example\n10.0.0.3 www.shop.de\n");
  writeResolvConf(dir);
  auto leaks = withRule(lintText(dir, ". {\n  hosts @DIR@/hosts {\n    fallthrough\n  }\n"
                                      "  forward . @DIR@/resolv.conf\n}\n"),
                        "leak/unscoped-forward");
  REQUIRE(leaks.size() == 1);
  const std::string& m = leaks[0].message;
  CAPTURE(m);
  CHECK(m.find("`private mycompany.com lan shop.de`") != std::string::npos);
  CHECK(m.find("tracker") == std::string::npos);  // 0.0.0.0 blocks a public name
}

TEST_CASE("no leak: scoped forward, except, no fallthrough, private built-in, split-DNS block") {
  TempDir dir;
  dir.write("hosts", "10.0.0.5 api.internal.company\n10.0.0.9 nas.home.arpa\n");
  writeResolvConf(dir);
  struct Case {
    const char* name;
    const char* corefile;
  };
  const Case cases[] = {
      {"scoped forward first",
       ". {\n hosts @DIR@/hosts {\n  fallthrough\n }\n forward internal.company 10.0.0.53\n"
       " forward . @DIR@/resolv.conf\n}\n"},
      {"except", ". {\n hosts @DIR@/hosts {\n  fallthrough\n }\n forward . @DIR@/resolv.conf {\n"
                 "  except internal.company\n }\n}\n"},
      {"no fallthrough", ". {\n hosts @DIR@/hosts\n forward . @DIR@/resolv.conf\n}\n"},
      {"fallthrough elsewhere",
       ". {\n hosts @DIR@/hosts {\n  fallthrough other.example\n }\n forward . @DIR@/resolv.conf\n}\n"},
      {"split-DNS block", "internal.company {\n hosts @DIR@/hosts {\n  fallthrough\n }\n"
                          " forward . 10.0.0.53\n}\n"},
      {"the zone's own block takes its names",
       "internal.company {\n forward . 10.0.0.53\n}\n. {\n hosts @DIR@/hosts {\n  fallthrough\n }\n"
       " forward . @DIR@/resolv.conf\n}\n"},
      {"private declared elsewhere",
       "internal.company {\n private\n}\n. {\n hosts @DIR@/hosts {\n  fallthrough\n }\n"
       " forward . @DIR@/resolv.conf\n}\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto findings = lintText(dir, c.corefile);
    CAPTURE(describe(findings));
    CHECK_FALSE(hasRule(findings, "leak/unscoped-forward"));
  }
}

TEST_CASE("leak: kubernetes with bare fallthrough on a public zone, reverse zones are fine") {
  TempDir dir;
  writeResolvConf(dir);
  auto leaking = lintText(dir, ". {\n kubernetes svc.example.com in-addr.arpa {\n  fallthrough\n }\n"
                               " forward . @DIR@/resolv.conf\n ready\n health\n}\n");
  auto leaks = withRule(leaking, "leak/unscoped-forward");
  REQUIRE(leaks.size() == 1);
  CHECK(leaks[0].message.find("svc.example.com.") != std::string::npos);
  CHECK(leaks[0].message.find("in-addr.arpa") == std::string::npos);

  // cluster.local is private through local.; reverse fallthrough is how public PTRs get out.
  auto fine = lintText(dir, ". {\n kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
                            "  fallthrough\n }\n forward . @DIR@/resolv.conf\n}\n");
  CAPTURE(describe(fine));
  CHECK_FALSE(hasRule(fine, "leak/unscoped-forward"));
}

TEST_CASE("leak/private-public-upstream: a private zone sent to the resolver `.` uses") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n forward corp.internal 8.8.8.8\n forward . 8.8.8.8 1.1.1.1\n}\n");
  auto shared = withRule(findings, "leak/private-public-upstream");
  REQUIRE(shared.size() == 1);
  CHECK(shared[0].severity == Severity::Warning);
  CHECK(shared[0].pos.line == 2);
  CHECK(shared[0].message.find("8.8.8.8") != std::string::npos);

  auto separate = lintText(dir, ". {\n forward corp.internal 10.0.0.53\n forward . 8.8.8.8\n}\n"
                                "corp.internal {\n forward . 10.0.0.54\n}\n");
  CHECK_FALSE(hasRule(separate, "leak/private-public-upstream"));
}

TEST_CASE("moat/private-builtin: forward . names what Moat keeps local, private off or scope does not") {
  TempDir dir;
  auto findings = lintText(dir, ". {\n forward . 192.0.2.1\n}\n");
  auto notes = withRule(findings, "moat/private-builtin");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].severity == Severity::Info);
  CHECK(notes[0].message.find("internal.") != std::string::npos);
  CHECK(notes[0].message.find("private reverse zones") != std::string::npos);
  CHECK(notes[0].message.find("private off") != std::string::npos);

  CHECK_FALSE(hasRule(lintText(dir, ". {\n private off\n forward . 192.0.2.1\n}\n"), "moat/private-builtin"));
  CHECK_FALSE(hasRule(lintText(dir, ". {\n forward example.org 192.0.2.1\n}\n"), "moat/private-builtin"));
  CHECK_FALSE(hasRule(lintText(dir, "corp.internal {\n forward . 10.0.0.53\n}\n"), "moat/private-builtin"));
}

}  // namespace
}  // namespace moat::lint::testing
