// Reload while serving: a changed Corefile applies without a restart (on the reload interval
// and on SIGUSR1); a broken one keeps the running configuration and says where it broke.
#include <signal.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <atomic>
#include <functional>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace reload_test {

using namespace moat::testing;

namespace {

std::string corefile(const std::string& port, const char* address, const char* reload) {
  return ".:" + port + " {\n  bind 127.0.0.1\n  " + reload + "\n  hosts {\n    " + address +
         " app.test\n  }\n}\n";
}

// Replace the Corefile by rename, so the reloader never reads it half-written.
void replaceCorefile(const TempDir& dir, const std::string& text) {
  dir.write("Corefile.new", text);
  std::rename((dir.path() + "/Corefile.new").c_str(), (dir.path() + "/Corefile").c_str());
}

std::string answer(uint16_t port) { return dig(port, {"app.test", "A", "+short"}); }

}  // namespace

TEST_CASE("reload applies a changed Corefile and keeps the running one when the new one is bad") {
  TempDir dir;
  ServerProcess s(dir, corefile("@PORT@", "192.0.2.1", "reload 2s 0"));
  uint16_t port = s.port();
  REQUIRE(answer(port) == "192.0.2.1\n");

  replaceCorefile(dir, corefile(std::to_string(port), "192.0.2.2", "reload 2s 0"));
  CHECK(eventually([&] { return answer(port) == "192.0.2.2\n"; }, std::chrono::seconds(8)));
  CHECK(s.waitForOutput("plugin/reload: Running configuration SHA512 = "));

  replaceCorefile(dir, ".:" + std::to_string(port) + " {\n  bind 127.0.0.1\n  reload 2s 0\n  hosts {\n    ttl nope\n  }\n}\n");
  CHECK(s.waitForOutput("reload failed", 1, std::chrono::seconds(8)));
  CHECK(s.stdoutText().find("Corefile:5:9") != std::string::npos);
  CHECK(answer(port) == "192.0.2.2\n");  // still the last good configuration
}

TEST_CASE("SIGUSR1 reloads at once, without a reload stanza") {
  TempDir dir;
  ServerProcess s(dir, corefile("@PORT@", "192.0.2.1", "whoami"));
  uint16_t port = s.port();
  REQUIRE(answer(port) == "192.0.2.1\n");
  replaceCorefile(dir, corefile(std::to_string(port), "192.0.2.3", "whoami"));
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] { return answer(port) == "192.0.2.3\n"; }, std::chrono::seconds(3)));
}

TEST_CASE("a reload binds new listeners, keeps unchanged ones and closes dropped ones") {
  TempDir dir;
  ServerProcess s(dir, corefile("@PORT@", "192.0.2.1", "whoami"));
  const uint16_t first = s.port();
  const uint16_t second = freePort();
  REQUIRE(answer(first) == "192.0.2.1\n");

  // A second block on a new port: bound by the reload; the first port never stops answering.
  replaceCorefile(dir, corefile(std::to_string(first), "192.0.2.1", "whoami") +
                           corefile(std::to_string(second), "192.0.2.5", "whoami"));
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] { return answer(second) == "192.0.2.5\n"; }, std::chrono::seconds(3)));
  CHECK(answer(first) == "192.0.2.1\n");

  // A port another process holds: the reload fails and both listeners keep serving.
  moat::testing::FakeUpstream squatter;
  replaceCorefile(dir, corefile(std::to_string(first), "192.0.2.1", "whoami") +
                           corefile(std::to_string(squatter.port()), "192.0.2.6", "whoami"));
  REQUIRE(s.signal(SIGUSR1));
  CHECK(s.waitForOutput("reload failed", 1, std::chrono::seconds(3)));
  CHECK(answer(first) == "192.0.2.1\n");
  CHECK(answer(second) == "192.0.2.5\n");

  // The first block dropped: its port closes, the second keeps answering.
  replaceCorefile(dir, corefile(std::to_string(second), "192.0.2.7", "whoami"));
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] { return answer(second) == "192.0.2.7\n"; }, std::chrono::seconds(3)));
  CHECK(eventually([&] { return answer(first).find("192.0.2.") == std::string::npos; },
                   std::chrono::seconds(3)));
  CHECK(answer(first).find("connection refused") != std::string::npos);  // closed, not silent
}

TEST_CASE("ten reloads under continuous load, some broken, lose no query") {
  TempDir dir;
  ServerProcess s(dir, corefile("@PORT@", "192.0.2.1", "whoami"));
  const uint16_t port = s.port();
  REQUIRE(answer(port) == "192.0.2.1\n");

  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, unanswered{0};
  std::thread client([&] {
    for (uint16_t id = 1; !stop.load(); ++id) {
      QuerySpec spec;
      spec.name = "app.test.";
      spec.id = id;
      // One try, a generous timeout: a reply that never comes is a lost query.
      auto reply = exchangeUdp(port, makeQuery(spec), std::chrono::seconds(2));
      sent.fetch_add(1);
      if (reply.size() < 12 || reply[0] != (id >> 8) || reply[1] != (id & 0xff)) unanswered.fetch_add(1);
    }
  });
  for (int i = 0; i < 10; ++i) {
    if (i % 3 == 2) {
      replaceCorefile(dir, ".:" + std::to_string(port) + " {\n  bind 127.0.0.1\n  hosts {\n    ttl nope\n  }\n}\n");
    } else {
      replaceCorefile(dir, corefile(std::to_string(port), ("192.0.2." + std::to_string(10 + i)).c_str(), "whoami"));
    }
    REQUIRE(s.signal(SIGUSR1));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  stop.store(true);
  client.join();
  CAPTURE(sent.load());
  CHECK(sent.load() > 100);
  CHECK(unanswered.load() == 0);
  CHECK(answer(port) == "192.0.2.19\n");  // the last good configuration
}

}  // namespace reload_test
