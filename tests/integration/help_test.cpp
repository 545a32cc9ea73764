// The real binary's help and first errors, as a newcomer meets them: -h, -help and --help on
// every command print usage with every flag on stdout and exit 0 (as CoreDNS's Go flags do), and
// a -conf file that cannot be read says so without a made-up position.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace help_test {

using namespace moat::testing;

TEST_CASE("help: -h, -help and --help on moat, moat lint and moat explain exit 0 with usage") {
  struct Command {
    std::vector<std::string> args;
    std::vector<std::string> mentions;  // flags the help must show
  };
  const Command commands[] = {
      {{}, {"-conf FILE", "-dns.port N", "-quiet", "-version", "-plugins", "-pidfile FILE", "-h, -help"}},
      {{"lint"}, {"--format F", "--fail-on S", "-h, --help", "leak/unscoped-forward", "forward/loop"}},
      {{"explain"}, {"-conf FILE", "--format F", "-h, --help", "text (default), json (for tools) or mermaid"}},
  };
  for (const Command& c : commands) {
    for (const char* spelling : {"-h", "-help", "--help"}) {
      std::vector<std::string> argv{MOAT_BINARY};
      argv.insert(argv.end(), c.args.begin(), c.args.end());
      argv.push_back(spelling);
      CAPTURE(argv.size() > 2 ? argv[1] : "moat");
      CAPTURE(spelling);
      std::string out;
      CHECK(runCommand(argv, out) == 0);
      CHECK(out.rfind("Usage: moat", 0) == 0);
      for (const std::string& m : c.mentions) {
        CAPTURE(m);
        CHECK(out.find(m) != std::string::npos);
      }
    }
  }
}

TEST_CASE("help: a flag that does not exist still exits 2 with the usage, as CoreDNS") {
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "-bogus"}, out) == 2);
  CHECK(out.rfind("flag provided but not defined: -bogus\nUsage: moat", 0) == 0);
}

TEST_CASE("a -conf file that cannot be read: 'cannot read FILE: reason', no position, exit 1") {
  TempDir dir;
  const std::string missing = dir.path() + "/nope/Corefile";
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "-conf", missing}, out) == 1);
  CHECK(out == "cannot read " + missing + ": No such file or directory\n");
  CHECK(runCommand({MOAT_BINARY, "-conf", dir.path()}, out) == 1);
  CHECK(out == "cannot read " + dir.path() + ": is a directory, expected a Corefile\n");
  CHECK(runCommand({MOAT_BINARY, "explain", "-conf", missing, "a.example"}, out) == 1);
  CHECK(out == "cannot read " + missing + ": No such file or directory\n");
}

}  // namespace help_test
