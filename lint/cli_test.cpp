// `moat lint` as a command: arguments, exit codes, and the shape of each output format.
#include <boost/json.hpp>
#include <fstream>

#include "lint/finding.hpp"
#include "lint/test_util.hpp"

namespace moat::lint::testing {
namespace {

namespace json = boost::json;

// A Corefile with one finding of each severity: an error (unknown directive), a warning
// (debug) and an info (forward . covers built-in private zones).
const char* kMixed = ". {\n  debug\n  whoam\n  forward . 192.0.2.1\n}\n";

TEST_CASE("exit codes: 0 clean, 1 at the threshold, 2 unreadable or bad usage") {
  TempDir dir;
  const std::string clean = dir.write("clean", ". {\n  whoami\n}\n");
  const std::string warns = dir.write("warns", ". {\n  debug\n  whoami\n}\n");
  const std::string info = dir.write("info", ". {\n  forward . 192.0.2.1\n}\n");
  const std::string errs = dir.write("errs", ". {\n  whoam\n}\n");

  CHECK(runCli({clean}).code == 0);
  CHECK(runCli({clean}).out.empty());
  CHECK(runCli({warns}).code == 0);  // default --fail-on error
  CHECK(runCli({"--fail-on", "warning", warns}).code == 1);
  CHECK(runCli({"--fail-on=warning", clean}).code == 0);
  CHECK(runCli({"--fail-on", "warning", info}).code == 0);  // info never fails
  CHECK(runCli({errs}).code == 1);
  CHECK(runCli({clean, errs}).code == 1);

  CliRun missing = runCli({clean, dir.path() + "/absent"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("absent") != std::string::npos);
  CHECK(runCli({dir.path()}).code == 2);  // a directory

  CHECK(runCli({}).code == 2);
  CHECK(runCli({"--format", "xml", clean}).code == 2);
  CHECK(runCli({"--fail-on", "info", clean}).code == 2);
  CHECK(runCli({"--frobnicate", clean}).code == 2);
  CHECK(runCli({clean, "--format"}).code == 2);
  CHECK(runCli({"--help"}).code == 0);
}

TEST_CASE("text: file:line:col: severity: message [rule], sorted, one per line") {
  TempDir dir;
  const std::string path = dir.write("Corefile", kMixed);
  CliRun run = runCli({path});
  CHECK(run.code == 1);
  std::istringstream lines(run.out);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == path + ":2:3: warning: plugin 'debug' is ignored by Moat [directive/ignored]");
  CHECK(got[1].rfind(path + ":3:3: error: unknown directive 'whoam' (did you mean 'whoami'?)", 0) == 0);
  CHECK(got[2].rfind(path + ":4:3: info: ", 0) == 0);
  CHECK(got[2].find("[moat/private-builtin]") != std::string::npos);
}

TEST_CASE("json: an object with a findings array") {
  TempDir dir;
  const std::string path = dir.write("Corefile", kMixed);
  CliRun run = runCli({"--format", "json", path});
  CHECK(run.code == 1);
  json::value doc = json::parse(run.out);
  const json::array& findings = doc.at("findings").as_array();
  REQUIRE(findings.size() == 3);
  const json::object& first = findings[0].as_object();
  CHECK(first.at("file").as_string() == path.c_str());
  CHECK(first.at("line").to_number<int>() == 2);
  CHECK(first.at("column").to_number<int>() == 3);
  CHECK(first.at("severity").as_string() == "warning");
  CHECK(first.at("rule").as_string() == "directive/ignored");
  CHECK(first.at("message").as_string() == "plugin 'debug' is ignored by Moat");
  CHECK(findings[2].at("severity").as_string() == "info");

  const std::string clean = dir.write("clean", ". {\n  whoami\n}\n");
  CHECK(json::parse(runCli({"--format=json", clean}).out).at("findings").as_array().empty());
}

TEST_CASE("sarif: 2.1.0 log with the rule catalogue and located results") {
  TempDir dir;
  const std::string path = dir.write("Corefile", kMixed);
  CliRun run = runCli({"--format", "sarif", path});
  CHECK(run.code == 1);
  json::value doc = json::parse(run.out);
  CHECK(doc.at("version").as_string() == "2.1.0");
  CHECK(doc.at("$schema").as_string().find("sarif-2.1.0") != json::string::npos);
  const json::object& runObj = doc.at("runs").as_array().at(0).as_object();
  const json::object& driver = runObj.at("tool").at("driver").as_object();
  CHECK(driver.at("name").as_string() == "moat");
  const json::array& rulesJson = driver.at("rules").as_array();
  CHECK(rulesJson.size() == rules().size());
  for (const json::value& r : rulesJson) {
    CHECK_FALSE(r.at("id").as_string().empty());
    CHECK_FALSE(r.at("shortDescription").at("text").as_string().empty());
    CHECK_FALSE(r.at("fullDescription").at("text").as_string().empty());
  }
  const json::array& results = runObj.at("results").as_array();
  REQUIRE(results.size() == 3);
  const json::value& error = results[1];
  CHECK(error.at("ruleId").as_string() == "directive/unknown");
  CHECK(error.at("level").as_string() == "error");
  CHECK(error.at("message").at("text").as_string().find("whoam") != json::string::npos);
  const json::value& loc = error.at("locations").as_array().at(0).at("physicalLocation");
  CHECK(loc.at("artifactLocation").at("uri").as_string() == path.c_str());
  CHECK(loc.at("region").at("startLine").to_number<int>() == 3);
  CHECK(loc.at("region").at("startColumn").to_number<int>() == 3);
  CHECK(results[0].at("level").as_string() == "warning");
  CHECK(results[2].at("level").as_string() == "note");
}

TEST_CASE("github: workflow commands, info as notice, data escaped") {
  TempDir dir;
  const std::string path = dir.write("Corefile", kMixed);
  CliRun run = runCli({"--format", "github", path});
  CHECK(run.code == 1);
  std::istringstream lines(run.out);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "::warning file=" + path + ",line=2,col=3,title=directive/ignored::plugin 'debug' is ignored by Moat");
  CHECK(got[1].rfind("::error file=" + path + ",line=3,col=3,title=directive/unknown::", 0) == 0);
  CHECK(got[2].rfind("::notice file=", 0) == 0);
}

TEST_CASE("-h, -help and --help: usage, every flag and every rule with its summary, exit 0") {
  for (const char* spelling : {"-h", "-help", "--help"}) {
    CAPTURE(spelling);
    CliRun run = runCli({spelling});
    CHECK(run.code == 0);
    CHECK(run.err.empty());
    CHECK(run.out == help());
  }
  const std::string text = help();
  for (const char* flag : {"--format F", "--fail-on S", "-h, --help"}) {
    CAPTURE(flag);
    CHECK(text.find(flag) != std::string::npos);
  }
  for (const RuleInfo& r : rules()) {
    CAPTURE(r.id);
    // "  leak/unscoped-forward   error    Local names fall through to an unscoped forward"
    const size_t at = text.find("  " + std::string(r.id) + " ");
    REQUIRE(at != std::string::npos);
    const std::string line = text.substr(at, text.find('\n', at) - at);
    CHECK(line.find(" " + std::string(severityName(r.severity)) + " ") != std::string::npos);
    CHECK(line.size() >= r.summary.size());
    CHECK(line.compare(line.size() - r.summary.size(), r.summary.size(), r.summary) == 0);
  }
}

TEST_CASE("- reads the Corefile from standard input, named <stdin> in the findings") {
  CliRun run = runCli({"-"}, ". {\n  whoam\n}\n");
  CHECK(run.code == 1);
  CHECK(run.out.rfind("<stdin>:2:3: error: unknown directive 'whoam'", 0) == 0);
  CliRun clean = runCli({"--fail-on", "warning", "-"}, ". {\n  whoami\n}\n");
  CHECK(clean.code == 0);
  CHECK(clean.out.empty());
}

TEST_CASE("every rule in the catalogue is documented in lint/README.md") {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/lint/README.md");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  for (const RuleInfo& r : rules()) {
    CAPTURE(r.id);
    CHECK(text.str().find("### `" + std::string(r.id) + "`") != std::string::npos);
  }
}

}  // namespace
}  // namespace moat::lint::testing
