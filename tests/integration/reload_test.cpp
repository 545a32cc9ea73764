// Reload while serving: a changed Corefile applies without a restart (on the reload interval
// and on SIGUSR1); a broken one keeps the running configuration and says where it broke.
#include <signal.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/server_process.hpp"

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

bool eventually(const std::function<bool()>& check, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

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
