// Every Corefile the repository ships as an example or default is clean at --fail-on warning,
// and the incident's is not: it is there to be rejected.
#include <filesystem>
#include <fstream>

#include "lint/test_util.hpp"
#include "plugins/forward/config.hpp"

namespace moat::lint::testing {
namespace {

std::string source(const std::string& relative) { return std::string(MOAT_SOURCE_DIR) + "/" + relative; }

// Examples forward to /etc/resolv.conf, so their findings depend on this machine's: one that
// lists only loopback nameservers (a systemd-resolved stub) is a forward/loop, rightly.
bool machineResolvConfIsUsable() {
  std::ifstream in("/etc/resolv.conf");
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  const auto servers = plugins::forward::parseResolvConf(text.str());
  return std::any_of(servers.begin(), servers.end(),
                     [](const plugins::forward::UpstreamAddr& u) { return !u.address.is_loopback(); });
}

TEST_CASE("every shipped example and default Corefile is clean at --fail-on warning") {
  const bool usable = machineResolvConfIsUsable();
  if (!usable) MESSAGE("/etc/resolv.conf lists only loopback nameservers here: examples that forward to it are skipped");
  // docker/Corefile is left out: it names files inside the image (/usr/share/moat/...), which
  // a checkout does not have; tests/deploy builds it with those files in place.
  const char* shipped[] = {"conf/Corefile", "conf/examples/cluster.Corefile",
                           "conf/examples/incident-fixed.Corefile"};
  for (const char* relative : shipped) {
    CAPTURE(relative);
    std::ifstream in(source(relative));
    std::stringstream text;
    text << in.rdbuf();
    const bool forwards = text.str().find("\n    forward . /etc/resolv.conf") != std::string::npos;
    if (forwards && !usable) continue;
    CliRun run = runCli({"--fail-on", "warning", source(relative)});
    CHECK_MESSAGE(run.code == 0, run.out << run.err);
  }
}

TEST_CASE("the incident's Corefile is rejected for the leak, and only for it") {
  CliRun run = runCli({source("conf/examples/incident.Corefile")});
  CHECK(run.code == 1);
  CHECK(run.out.find("[leak/unscoped-forward]") != std::string::npos);
  CHECK(run.out.find("error:") == run.out.rfind("error:"));  // one error
}

}  // namespace
}  // namespace moat::lint::testing
