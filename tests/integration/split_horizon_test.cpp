// conf/examples/split-horizon.Corefile through the real binary, its forwards pointed at a
// recording upstream: the office (127.0.0.2) gets api.internal.company from its hosts file,
// guests (127.0.0.3) are refused it by the acl of their view, everyone else gets the private
// answer, public names are forwarded for all, and no internal name reaches the upstream.
// `moat explain --from` tells both stories.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/fault_support.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/leak_probe.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace split_horizon_test {

using namespace moat::testing;

namespace {

std::string example(const std::string& name) {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/conf/examples/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
  return text;
}

Reply ask(const std::string& client, uint16_t port, const std::string& name, bool tcp = false) {
  const auto query = makeQuery({.name = name, .edns = 1232});
  return decode(tcp ? exchangeTcpFrom(client, port, query) : exchangeUdpFrom(client, port, query));
}

}  // namespace

TEST_CASE("split horizon example: office, guests and everyone else, over UDP and TCP") {
  FakeUpstream upstream;
  TempDir dir;
  dir.write("split-horizon.hosts", example("split-horizon.hosts"));
  const std::string corefile =
      replaced(replaced(example("split-horizon.Corefile"), "/etc/resolv.conf", upstream.address()),
               "1053", "@PORT@");
  ServerProcess s(dir, corefile);

  for (bool tcp : {false, true}) {
    CAPTURE(tcp);
    const Reply office = ask("127.0.0.2", s.port(), "api.internal.company.", tcp);
    CHECK(office.rcode == 0);
    CHECK(office.answer == std::vector<std::string>{"api.internal.company. 3600 IN A 10.0.0.5"});

    const Reply guest = ask("127.0.0.3", s.port(), "api.internal.company.", tcp);
    CHECK(guest.rcode == 5);
    CHECK(extendedError(guest) == std::optional<uint16_t>(15));

    const Reply other = ask("127.0.0.1", s.port(), "api.internal.company.", tcp);
    CHECK(other.rcode == 3);  // the private answer
    CHECK(other.aa);

    for (const char* client : {"127.0.0.2", "127.0.0.3", "127.0.0.1"}) {
      CAPTURE(client);
      const Reply pub = ask(client, s.port(), std::string("www.") + client + ".example.", tcp);
      CHECK(pub.rcode == 0);
      CHECK(pub.answer.size() == 1);
      CHECK(leak::saw(upstream, std::string("www.") + client + ".example."));
    }
  }
  // What the office's hosts file lacks is not forwarded for the office either.
  CHECK(ask("127.0.0.2", s.port(), "wiki.internal.company.").rcode == 3);
  CHECK(leak::seenUnder(upstream, leak::privateZones({"internal.company"})).empty());
}

TEST_CASE("split horizon example: moat explain --from shows the office's answer and the guests' refusal") {
  const std::string conf = std::string(MOAT_SOURCE_DIR) + "/conf/examples/split-horizon.Corefile";
  std::string office, guests;
  REQUIRE(runCommand({MOAT_BINARY, "explain", "--from", "127.0.0.2", "-conf", conf,
                      "api.internal.company", "A"},
                     office) == 0);
  CHECK(office.find("view          office: yes, incidr(client_ip(), '127.0.0.2/32') is true\n") !=
        std::string::npos);
  CHECK(office.find("answer    api.internal.company. 3600 IN A 10.0.0.5") != std::string::npos);
  REQUIRE(runCommand({MOAT_BINARY, "explain", "--from", "127.0.0.3", "-conf", conf,
                      "api.internal.company", "A"},
                     guests) == 0);
  CHECK(guests.find("view          guests: yes, incidr(client_ip(), '127.0.0.3/32') is true\n") !=
        std::string::npos);
  CHECK(guests.find("acl           client 127.0.0.3, type A matches 'block'") != std::string::npos);
  CHECK(guests.find("reply         REFUSED\n") != std::string::npos);
}

}  // namespace split_horizon_test
