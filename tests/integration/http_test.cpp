// health and ready served by the real binary: probes through start, a failed load, and
// SIGTERM with lameduck.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace http_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

std::string readSource(const std::string& relative) {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Ports {
  uint16_t health = freePort();
  uint16_t ready = freePort();
};

std::string corefile(const Ports& p, const std::string& healthBlock = "") {
  return ".:@PORT@ {\n"
         "    bind 127.0.0.1\n"
         "    health 127.0.0.1:" + std::to_string(p.health) + healthBlock + "\n"
         "    ready 127.0.0.1:" + std::to_string(p.ready) + "\n"
         "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
         "        objects cluster.objects.yaml\n"
         "    }\n"
         "}\n";
}

}  // namespace

TEST_CASE("health and ready answer OK once the kubernetes objects are loaded") {
  TempDir dir;
  dir.write("cluster.objects.yaml", readSource("conf/examples/cluster.objects.yaml"));
  Ports p;
  ServerProcess s(dir, corefile(p));
  HttpReply health = httpGet(p.health, "/health");
  CHECK(health.status == 200);
  CHECK(health.body == "OK");
  CHECK(eventually([&] { return httpGet(p.ready, "/ready").status == 200; }));
  CHECK(httpGet(p.ready, "/ready").body == "OK");
  HttpReply missing = httpGet(p.health, "/ready");  // each path only on its own address
  CHECK(missing.status == 404);
  CHECK(missing.body == "404 page not found\n");
}

TEST_CASE("ready is 503 naming kubernetes while its objects fail to load, 200 once they do") {
  TempDir dir;
  dir.write("cluster.objects.yaml", "apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata: {name: [broken\n");
  Ports p;
  ServerProcess s(dir, corefile(p));
  HttpReply ready = httpGet(p.ready, "/ready");
  CHECK(ready.status == 503);
  CHECK(ready.body == "kubernetes");
  CHECK(httpGet(p.health, "/health").status == 200);  // alive, just not ready

  dir.write("cluster.objects.yaml.tmp", readSource("conf/examples/cluster.objects.yaml"));
  std::rename((dir.path() + "/cluster.objects.yaml.tmp").c_str(), (dir.path() + "/cluster.objects.yaml").c_str());
  CHECK(eventually([&] { return httpGet(p.ready, "/ready").status == 200; }));
}

TEST_CASE("SIGTERM: ready says Shutting down while health keeps answering through lameduck") {
  TempDir dir;
  dir.write("cluster.objects.yaml", readSource("conf/examples/cluster.objects.yaml"));
  Ports p;
  ServerProcess s(dir, corefile(p, " {\n        lameduck 1s\n    }"));
  REQUIRE(eventually([&] { return httpGet(p.ready, "/ready").status == 200; }));

  auto signalled = std::chrono::steady_clock::now();
  int exitCode = -2;
  std::thread stopper([&] { exitCode = s.stop(); });  // SIGTERM, then waits for the exit
  bool shuttingDown = eventually(
      [&] {
        HttpReply r = httpGet(p.ready, "/ready");
        return r.status == 503 && r.body == "Shutting down";
      },
      800ms);
  HttpReply health = httpGet(p.health, "/health");
  stopper.join();
  auto took = std::chrono::steady_clock::now() - signalled;
  CHECK(shuttingDown);
  CHECK(health.status == 200);
  CHECK(health.body == "OK");
  CHECK(took >= 900ms);  // lameduck held the process
  CHECK(took < 4s);
  CHECK(exitCode == 0);
  CHECK(s.stdoutText().find("Going into lameduck mode") != std::string::npos);
}

TEST_CASE("an HTTP address that cannot be bound stops start-up with its name") {
  TempDir dir;
  dir.write("cluster.objects.yaml", readSource("conf/examples/cluster.objects.yaml"));
  Ports p;
  // Hold the health port so moat cannot have it.
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(p.health);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(holder, 1) == 0);
  std::string conf = corefile(p);
  for (size_t at; (at = conf.find("@PORT@")) != std::string::npos;) conf.replace(at, 6, std::to_string(freePort()));
  std::string out;
  int code = runCommand({MOAT_BINARY, "-conf", dir.write("Corefile", conf)}, out, 10s);
  ::close(holder);
  CHECK(code == 1);
  CHECK(out.find("listen 127.0.0.1:" + std::to_string(p.health) + ": ") != std::string::npos);
}

}  // namespace http_test
