// The test harness's own promises (tests/support/server_process.hpp): ports outside the
// kernel's ephemeral range, never handed out twice, and a server that counts as started only
// once every listener its Corefile names accepts.
#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "tests/support/server_process.hpp"
#include "tests/support/source_address.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace harness_test {

using namespace moat::testing;

TEST_CASE("freePort: outside the ephemeral range, and never the same port twice") {
  uint32_t low = 0, high = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  REQUIRE(low > 0);
  std::set<uint16_t> seen;
  for (int i = 0; i < 200; ++i) {
    const uint16_t port = freePort();
    CAPTURE(port);
    CHECK((port < low || port > high));
    CHECK(seen.insert(port).second);
  }
}

TEST_CASE("ServerProcess returns once the DNS port and every HTTP site the Corefile names accept") {
  const uint16_t health = freePort(), ready = freePort(), metrics = freePort();
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n  bind 127.0.0.1\n  health 127.0.0.1:" + std::to_string(health) +
                           "\n  ready 127.0.0.1:" + std::to_string(ready) + "\n  prometheus 127.0.0.1:" +
                           std::to_string(metrics) + "\n  whoami\n}\n");
  // Asked once each, no waiting: all must be there already.
  CHECK(tcpListening("127.0.0.1", s.port()));
  CHECK(httpGet(health, "/health").status == 200);
  CHECK(httpGet(ready, "/ready").status == 200);
  CHECK(httpGet(metrics, "/metrics").status == 200);
}

}  // namespace harness_test
