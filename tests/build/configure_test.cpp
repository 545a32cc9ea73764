// Configuring again must not touch what the build compiles: a file the configure step rewrites
// gets a new timestamp, and every library holding it was rebuilt and relinked on each run of
// README's command (26 targets, about 17 s on 2 cores, with no source changed).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <string>

#include "tests/support/server_process.hpp"

using namespace moat::testing;

namespace {

struct timespec modified(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mtim;
}

}  // namespace

TEST_CASE("configuring twice leaves the build's generated sources untouched") {
  TempDir dir;
  const std::string build = dir.path() + "/build";
  std::string out;
  REQUIRE_MESSAGE(runCommand({MOAT_CMAKE, "-S", MOAT_SOURCE_DIR, "-B", build}, out, std::chrono::seconds(50)) == 0, out);
  const std::string empty = build + "/empty.cpp";
  const struct timespec first = modified(empty);
  // A configure takes seconds, so a rewrite would show even in whole-second timestamps.
  REQUIRE_MESSAGE(runCommand({MOAT_CMAKE, "-S", MOAT_SOURCE_DIR, "-B", build}, out, std::chrono::seconds(50)) == 0, out);
  const struct timespec second = modified(empty);
  CHECK(second.tv_sec == first.tv_sec);
  CHECK(second.tv_nsec == first.tv_nsec);
}
