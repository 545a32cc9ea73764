// The Corefile examples of the cancel README (CoreDNS's, repeated verbatim), read from the README
// and run by the real binary on free ports in one process, asked with dig; and what a deadline
// does to forward: no failover once it passed, SERVFAIL from the attempt that timed out.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace cancel_readme_test {

using namespace moat::testing;

namespace {

// "example.org {" -> "example.org:PORT {" and the rest of the block as written.
std::string onPort(const ReadmeBlock& block, const std::string& port) {
  std::istringstream first(block.text.at(0));
  std::string key;
  first >> key;
  std::string out = key + ":" + port + " {\n";
  for (size_t i = 1; i < block.text.size(); ++i) out += block.text[i] + "\n";
  return out;
}

}  // namespace

TEST_CASE("cancel README: both examples answer through whoami") {
  const auto examples = pluginCorefiles("cancel");
  REQUIRE(examples.size() == 2);
  TempDir dir;
  const uint16_t second = freePort();
  ServerProcess s(dir, onPort(examples[0], "@PORT@") + onPort(examples[1], std::to_string(second)));
  REQUIRE(waitListening(second));
  for (uint16_t port : {s.port(), second}) {
    CAPTURE(port);
    const std::string out = dig(port, {"example.org", "A", "+noall", "+comments", "+additional"});
    CHECK_MESSAGE(out.find("status: NOERROR") != std::string::npos, out);
    CHECK_MESSAGE(out.find("127.0.0.1") != std::string::npos, out);  // whoami's view of the client
  }
}

TEST_CASE("cancel: forward tries no other upstream once the deadline passed") {
  FakeUpstream first, second;
  first.setMode(FakeUpstream::Mode::Silent);
  second.setMode(FakeUpstream::Mode::Silent);
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    cancel 100ms\n    errors\n    forward . " + first.address() + " " +
                           second.address() + " {\n        policy sequential\n        read_timeout 400ms\n    }\n}\n");
  const std::string out = dig(s.port(), {"gone.example", "A", "+time=5", "+tries=1"});
  CHECK_MESSAGE(out.find("status: SERVFAIL") != std::string::npos, out);
  // One attempt (400 ms), then the deadline; without it forward would try again and fail over.
  size_t asked = 0;
  for (const FakeUpstream::Received& r : first.received()) asked += r.name == "gone.example." ? 1 : 0;
  CHECK(asked == 1);
  CHECK(second.udpQueries() == 0);
  CHECK(s.waitForOutput("i/o timeout"));  // errors logs the attempt's error
}

}  // namespace cancel_readme_test
