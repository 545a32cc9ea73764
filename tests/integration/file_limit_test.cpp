// The open-file limit at start: forward's socket pools need a few thousand descriptors, so Moat
// raises its soft limit to the hard one, and says so when even that is too low.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>

#include <fstream>
#include <sstream>

#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace file_limit_test {

using namespace moat::testing;

namespace {

// "Max open files" soft and hard limits of a running process.
std::pair<std::string, std::string> openFileLimits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

// Starts moat through a shell that first lowers the limits (soft, then hard: both only go down).
std::string launcher(const TempDir& dir, rlim_t soft, rlim_t hard) {
  const std::string path = dir.write(
      "launch.sh", "#!/bin/sh\nulimit -Sn " + std::to_string(soft) + " && ulimit -Hn " +
                       std::to_string(hard) + " && exec " + MOAT_BINARY + " \"$@\"\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

const std::string kCorefile = ".:@PORT@ {\n  bind 127.0.0.1\n  whoami\n}\n";

}  // namespace

TEST_CASE("file limit: the soft limit is raised to the hard one at start") {
  rlimit mine{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &mine) == 0);
  // Enough for two full pools; the test's own hard limit when that is lower (then the warning
  // below is right, and not what this case checks).
  const rlim_t hard = std::min<rlim_t>(mine.rlim_max, 8192);
  TempDir dir;
  ServerProcess s(launcher(dir, 256, hard), dir, kCorefile);
  const auto text = std::to_string(hard);
  CHECK(openFileLimits(s.pid()) == std::pair<std::string, std::string>{text, text});
  if (hard >= 4096) CHECK(s.stdoutText().find("open-file limit") == std::string::npos);
}

TEST_CASE("file limit: a hard limit below what full socket pools need is a warning") {
  rlimit mine{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &mine) == 0);
  const auto hard = std::to_string(std::min<rlim_t>(mine.rlim_max, 1100));  // < 1 worker's need
  TempDir dir;
  ServerProcess s(launcher(dir, 256, std::stoul(hard)), dir, kCorefile);
  CHECK(openFileLimits(s.pid()) == std::pair<std::string, std::string>{hard, hard});
  CHECK(s.waitForOutput("[WARNING] open-file limit is " + hard));
}

}  // namespace file_limit_test
