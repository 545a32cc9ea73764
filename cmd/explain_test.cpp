// `moat explain` runs the server's own chain with no network and prints each decision.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <sstream>
#include <string>

#include "cmd/explain.hpp"
#include "tests/support/incident.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/tls.hpp"

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

TEST_CASE("explain --format json: the same path as data, every step with its decision") {
  TempDir dir;
  const std::string conf = incident(dir, "    private internal.company\n");
  auto run = explain({"--format", "json", "-conf", conf, "api.internal.company", "A"});
  REQUIRE(run.code == 0);
  boost::json::value doc = boost::json::parse(run.out);
  CHECK(doc.at("query").at("name").as_string() == "api.internal.company.");
  CHECK(doc.at("query").at("type").as_string() == "A");
  CHECK(doc.at("server").at("zone").as_string() == ".");
  CHECK(doc.at("server").at("port").to_number<int>() == 53);
  const boost::json::array& steps = doc.at("steps").as_array();
  std::vector<std::string> plugins, decisions;
  for (const auto& step : steps) {
    plugins.emplace_back(step.at("plugin").as_string());
    decisions.emplace_back(step.at("decision").as_string());
  }
  // Silent steps too (errors passes it on without a note), in execution order.
  CHECK(plugins == std::vector<std::string>{"errors", "hosts", "kubernetes", "forward", "private"});
  CHECK(decisions.back() == "answered");
  const auto& forwardNotes = steps[3].at("notes").as_array();
  REQUIRE(forwardNotes.size() == 1);
  CHECK(has(std::string(forwardNotes[0].as_string()), "BLOCKED"));
  const auto& reply = doc.at("reply");
  CHECK(reply.at("kind").as_string() == "message");
  CHECK(reply.at("rcode").as_string() == "NXDOMAIN");
  CHECK(reply.at("flags").as_array() == boost::json::array{"aa"});
  REQUIRE(reply.at("authority").as_array().size() == 1);
  CHECK(has(std::string(reply.at("authority").as_array()[0].as_string()), "internal.company. 30 IN SOA"));

  auto before = explain({"-conf", incident(dir, ""), "--format=json", "api.internal.company"});
  CHECK(boost::json::parse(before.out).at("reply").at("kind").as_string() == "upstream");
  auto refused = explain({"--format", "json", "-conf", dir.write("Scoped", "example.org:53 {\n    whoami\n}\n"), "a.example.com"});
  CHECK(boost::json::parse(refused.out).at("server").is_null());
  CHECK(boost::json::parse(refused.out).at("reply").at("rcode").as_string() == "REFUSED");
}

TEST_CASE("explain --format mermaid: a flowchart from the query through each deciding plugin to the reply") {
  TempDir dir;
  const std::string conf = incident(dir, "    private internal.company\n");
  auto run = explain({"-conf", conf, "--format", "mermaid", "api.internal.company", "A"});
  REQUIRE(run.code == 0);
  const std::string expected =
      "flowchart TD\n"
      "  query[\"query api.internal.company. A\"]\n"
      "  server[\"server .:53<br/>zone .\"]\n"
      "  query --> server\n"
      "  step1[\"hosts<br/>" + dir.path() + "/custom.hosts: no entry; fallthrough (all zones)\"]\n"
      "  server --> step1\n"
      "  step2[\"forward<br/>. -#gt; " + dir.path() + "/resolv.conf: BLOCKED, api.internal.company. is under "
      "private internal.company. (an unscoped forward never sends it)\"]\n"
      "  step1 -->|next| step2\n";
  CHECK(run.out.rfind(expected, 0) == 0);
  CAPTURE(run.out);
  CHECK(has(run.out, "  step2 -->|next| step3\n"));
  CHECK(has(run.out, "  step3[\"private<br/>"));
  CHECK(has(run.out, "  reply[\"reply NXDOMAIN aa<br/>authority internal.company. 30 IN SOA "));
  CHECK(has(run.out, "  step3 -->|answered| reply\n"));
  CHECK(has(run.out, "  class reply failed\n"));

  // A quote in a note cannot end a label early.
  const std::string quoted = dir.write("Quoted", ". {\n    hosts \"" + dir.path() + "/a\\\"b.hosts\" {\n        fallthrough\n    }\n}\n");
  auto q = explain({"-conf", quoted, "--format", "mermaid", "x.example"});
  CAPTURE(q.out);
  CHECK(has(q.out, "a#quot;b.hosts"));
  CHECK_FALSE(has(q.out, "a\"b"));
}

TEST_CASE("explain -h, -help and --help print every flag and exit 0, a bad format exits 2") {
  for (const char* spelling : {"-h", "-help", "--help"}) {
    CAPTURE(spelling);
    auto run = explain({spelling});
    CHECK(run.code == 0);
    CHECK(run.out == explainHelp());
    CHECK(run.err.empty());
  }
  for (const char* flag : {"-conf FILE", "--format F", "-h, --help"}) CHECK(has(explainHelp(), flag));
  auto bad = explain({"--format", "xml", "-conf", "x", "a"});
  CHECK(bad.code == 2);
  CHECK(has(bad.err, "unknown format 'xml' (want text, json or mermaid)"));
}

// Three views on one port, as conf/examples/split-horizon.Corefile writes them.
std::string views(const TempDir& dir) {
  const std::string hosts = dir.write("office.hosts", "10.0.0.5 api.internal.company\n");
  return dir.write("Corefile",
                   ".:1053 {\n  view office {\n    expr incidr(client_ip(), '127.0.0.2/32')\n  }\n"
                   "  private internal.company\n  hosts " + hosts + " {\n    fallthrough\n  }\n"
                   "  forward . 192.0.2.53\n}\n"
                   ".:1053 {\n  view guests {\n    expr incidr(client_ip(), '127.0.0.3/32')\n"
                   "    expr type() != 'ANY'\n  }\n"
                   "  acl internal.company {\n    block\n  }\n  forward . 192.0.2.53\n}\n"
                   "internal.company:1053 {\n  view nobody {\n    expr incidr(client_ip(), '10.0.0.0/8')\n  }\n"
                   "  whoami\n}\n");
}

TEST_CASE("explain --from: which view serves the client, and why the others do not") {
  TempDir dir;
  const std::string conf = views(dir);
  auto office = explain({"--from", "127.0.0.2", "-conf", conf, "api.internal.company"});
  CHECK(office.code == 0);
  CHECK(has(office.out, "from          127.0.0.2\n"));
  // The longer zone's block is offered the query first; its view turns it away.
  CHECK(has(office.out, "view          nobody: no, incidr(client_ip(), '10.0.0.0/8') is false\n"
                        "view          office: yes, incidr(client_ip(), '127.0.0.2/32') is true\n"));
  CHECK(has(office.out, "server        .:1053   zone .\n"));
  CHECK(has(office.out, "answer    api.internal.company. 3600 IN A 10.0.0.5"));

  auto guest = explain({"-from=127.0.0.3", "-conf", conf, "api.internal.company"});
  CHECK(has(guest.out, "view          office: no, incidr(client_ip(), '127.0.0.2/32') is false\n"
                       "view          guests: yes, every expr is true\n"));
  CHECK(has(guest.out, "reply         REFUSED"));
  // The second expr of guests fails for ANY: nobody takes it.
  auto any = explain({"--from", "127.0.0.3", "-conf", conf, "api.internal.company", "ANY"});
  CHECK(has(any.out, "view          guests: no, type() != 'ANY' is false\n"));
  CHECK(has(any.out, "server        no view of a block serving this name takes the query\n"));
  CHECK(has(any.out, "reply         REFUSED\n"));

  auto json = explain({"--format", "json", "--from", "::1", "-conf", conf, "api.internal.company"});
  const auto doc = boost::json::parse(json.out).as_object();
  CHECK(doc.at("query").at("from") == "::1");
  CHECK(doc.at("views").as_array().size() == 3);
  CHECK(doc.at("views").as_array()[2].at("took") == false);

  auto mermaid = explain({"--format", "mermaid", "--from", "127.0.0.2", "-conf", conf, "x.example"});
  CHECK(has(mermaid.out, "  views[\"from 127.0.0.2<br/>view office: yes,"));
  CHECK(has(mermaid.out, "  query --> views\n  server"));

  auto bad = explain({"--from", "office", "-conf", conf, "api.internal.company"});
  CHECK(bad.code == 2);
  CHECK(has(bad.err, "--from needs an IP address, got office"));
}

TEST_CASE("explain: any answers ANY with its HINFO, chaos says why an IN question is not its") {
  TempDir dir;
  const std::string conf = dir.write("Corefile", "example.org {\n  whoami\n  any\n}\n. {\n  chaos\n}\n");
  auto any = explain({"-conf", conf, "www.example.org", "ANY"});
  CHECK(any.code == 0);
  CHECK(has(any.out, "any           ANY query (RFC 8482): one HINFO \"ANY obsoleted\" \"See RFC 8482\", TTL 8482 -> answered\n"));
  CHECK(has(any.out, "answer    www.example.org. 8482 IN HINFO \"ANY obsoleted\" \"See RFC 8482\"\n"));
  CHECK_FALSE(has(any.out, "whoami"));  // never reached
  auto a = explain({"-conf", conf, "www.example.org", "A"});
  CHECK_FALSE(has(a.out, "any "));      // other types pass silently
  CHECK(has(a.out, "whoami        -> answered\n"));

  // explain asks in class IN, where chaos never answers.
  auto version = explain({"-conf", conf, "version.bind", "TXT"});
  CHECK(version.code == 0);
  CHECK(has(version.out, "chaos         version.bind. is answered in class CH and type TXT only -> next\n"));
  CHECK_FALSE(has(explain({"-conf", conf, "other.bind", "TXT"}).out, "chaos "));
}

TEST_CASE("explain --from a pod: autopath's tries and the search-path name that answered") {
  TempDir dir;
  dir.write("cluster.yaml",
            "apiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop},\n"
            "   spec: {clusterIP: 10.96.0.20, ports: [{name: http, port: 80, protocol: TCP}]}}\n"
            "- {apiVersion: v1, kind: Pod, metadata: {name: client, namespace: default}, status: {podIP: 127.0.0.2}}\n");
  const std::string conf = dir.write("Corefile", ".:1053 {\n  autopath @kubernetes\n  kubernetes cluster.local {\n"
                                                  "    pods verified\n    objects cluster.yaml\n  }\n}\n");
  auto pod = explain({"--from", "127.0.0.2", "-conf", conf, "web.shop.default.svc.cluster.local"});
  CHECK(pod.code == 0);
  CHECK(has(pod.out, "autopath      try 1 (default.svc.cluster.local.): NXDOMAIN\n"));
  CHECK(has(pod.out, "autopath      answered by search-path name 2 of 4: svc.cluster.local. (rcode 0); CNAME "
                     "web.shop.default.svc.cluster.local. -> web.shop.svc.cluster.local. put first\n"));
  CHECK(has(pod.out, "answer    web.shop.default.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local."));
  // Not a pod: no search path, kubernetes answers the name as asked.
  auto stranger = explain({"--from", "127.0.0.9", "-conf", conf, "web.shop.default.svc.cluster.local"});
  CHECK(has(stranger.out, "autopath      @kubernetes gives this client no search path: passed on -> next\n"));
  CHECK(has(stranger.out, "reply         NXDOMAIN"));
}

TEST_CASE("explain: a tls:// block is shown as such, and its certificate is loaded as the server would") {
  TempDir dir;
  moat::testing::TestPki pki(dir);
  const std::string conf = dir.write("Corefile", "tls://example.org:8853 {\n    tls server.pem server.key\n    whoami\n}\n");
  auto run = explain({"-conf", conf, "example.org", "A"});
  CHECK(run.code == 0);
  CHECK_MESSAGE(has(run.out, "server        tls://example.org.:8853"), run.out);
  const std::string broken = dir.write("Corefile", "tls://example.org:8853 {\n    tls none.pem server.key\n    whoami\n}\n");
  auto failed = explain({"-conf", broken, "example.org", "A"});
  CHECK(failed.code != 0);
  CHECK_MESSAGE(has(failed.err, "Corefile:2:5: tls: cannot load certificate"), failed.err);
}

}  // namespace
}  // namespace moat::app
