// `loop` end to end: a server that forwards to itself must stop with a fatal loop message, and
// one whose upstream really answers must probe once and keep serving.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace loop_test {

using namespace moat::testing;
using namespace std::chrono_literals;

TEST_CASE("loop: forwarding to itself is fatal, with exit status 1 and the loop message") {
  TempDir dir;
  uint16_t port = freePort();
  std::string p = std::to_string(port);
  // ServerProcess waits for a server that stays up; this one must not, so run it to its end.
  std::string corefile = dir.write("Corefile", ".:" + p + " {\n  loop\n  forward . 127.0.0.1:" + p + "\n}\n");
  std::string out;
  auto start = std::chrono::steady_clock::now();
  int rc = runCommand({MOAT_BINARY, "-conf", corefile}, out, 20s);
  auto took = std::chrono::steady_clock::now() - start;
  INFO("output: " << out);
  CHECK(rc == 1);  // -1 would mean it was still running when the bound passed
  // The first probe goes out as soon as the workers run and comes round at once.
  CHECK(took < 10s);
  CHECK(out.find("[FATAL] plugin/loop: Loop (127.0.0.1:") != std::string::npos);
  CHECK(out.find(" -> :" + p + ") detected for zone \".\"") != std::string::npos);
  CHECK(out.find("\"HINFO ") != std::string::npos);
  CHECK(out.find("https://coredns.io/plugins/loop#troubleshooting") != std::string::npos);
}

TEST_CASE("loop: a block's first zone names the probe, and a bound address is probed") {
  TempDir dir;
  uint16_t port = freePort();
  std::string p = std::to_string(port);
  std::string corefile = dir.write(
      "Corefile", "example.org:" + p + " example.net:" + p + " {\n  bind 127.0.0.1\n  loop\n  forward . 127.0.0.1:" + p + "\n}\n");
  std::string out;
  int rc = runCommand({MOAT_BINARY, "-conf", corefile}, out, 20s);
  INFO("output: " << out);
  CHECK(rc == 1);
  CHECK(out.find("-> 127.0.0.1:" + p + ") detected for zone \"example.org.\"") != std::string::npos);
  CHECK(out.find(".example.org.\"") != std::string::npos);  // the probe name lies in the zone
}

TEST_CASE("loop: an upstream that answers is no loop, the server keeps serving") {
  TempDir upstreamDir, dir;
  // The upstream logs what it gets, so the probe can be seen arriving there exactly once.
  ServerProcess upstream(upstreamDir, ".:@PORT@ {\n  log\n  whoami\n}\n");
  ServerProcess server(dir, ".:@PORT@ {\n  loop\n  forward . 127.0.0.1:" + std::to_string(upstream.port()) + "\n}\n");

  CHECK(upstream.waitForOutput("\"HINFO IN ", 1, 5s));
  std::this_thread::sleep_for(1500ms);  // long enough for any further probe or a fatal exit
  std::string upstreamLog = upstream.stdoutText();
  size_t first = upstreamLog.find("\"HINFO IN ");
  REQUIRE(first != std::string::npos);
  CHECK(upstreamLog.find("\"HINFO IN ", first + 1) == std::string::npos);  // one probe only

  std::string answer = dig(server.port(), {"example.org", "A"});
  CHECK(answer.find("status: NOERROR") != std::string::npos);
  CHECK(answer.find("_udp.example.org.") != std::string::npos);  // whoami, through forward
  CHECK(server.stdoutText().find("plugin/loop") == std::string::npos);
  CHECK(server.stop() == 0);  // still running, stops cleanly
}

}  // namespace loop_test
