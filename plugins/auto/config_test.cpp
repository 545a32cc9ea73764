// The auto directive: defaults, options, every configuration error at its Corefile position,
// the directory checks of setup, and the Corefile examples of README.md. The error cases fail
// before setup reads the directory they name.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "plugins/auto/test_support.hpp"
#include "tests/support/readme_blocks.hpp"

using namespace moat::plugins::auto_zone;
using namespace moat::plugins::auto_zone::testing;

namespace {

AutoConfig configOf(const ScratchDir& dir, std::string_view corefile) {
  AutoServer server(dir, corefile);
  return server.plugin().config();
}

std::string errorOf(std::string_view corefile) {
  ScratchDir dir;
  AutoServer server(dir, corefile);
  return server.error();
}

}  // namespace

TEST_CASE("defaults: the block's zones, db\\.(.*) named {1}, a scan a minute, no fallthrough") {
  ScratchDir dir;
  const AutoConfig cfg = configOf(dir, "example.org example.net {\n  auto {\n    directory .\n  }\n}\n");
  CHECK(cfg.origins == std::vector<std::string>{"example.org.", "example.net."});
  CHECK(cfg.directory == dir.path());
  CHECK(cfg.rule.pattern() == R"(db\.(.*))");
  CHECK(cfg.rule.originTemplate() == "{1}");
  CHECK(cfg.reload == std::chrono::minutes(1));
  CHECK_FALSE(cfg.fall.enabled());
}

TEST_CASE("options: ZONES (CIDR too), a regexp and template, reload, fallthrough, upstream ignored") {
  ScratchDir dir;
  std::filesystem::create_directory(dir.path() + "/zones");
  const AutoConfig cfg = configOf(dir,
                                  ". {\n  auto example.org 10.0.0.0/24 {\n    directory zones ^(.*)\\.zone$ {1}\n"
                                  "    reload 45s\n    fallthrough example.org\n    upstream 8.8.8.8\n  }\n}\n");
  CHECK(cfg.origins == std::vector<std::string>{"example.org.", "0.0.10.in-addr.arpa."});
  CHECK(cfg.directory == dir.path() + "/zones");
  CHECK(cfg.rule.pattern() == R"(^(.*)\.zone$)");
  CHECK(cfg.reload == std::chrono::seconds(45));
  CHECK(cfg.fall.enabled());
  CHECK_FALSE(cfg.fall.all());

  CHECK(configOf(dir, ". {\n  auto {\n    directory zones\n    reload 0\n  }\n}\n").reload.count() == 0);
  CHECK(configOf(dir, ". {\n  auto {\n    directory " + dir.path() + "\n    upstream\n  }\n}\n").directory == dir.path());
}

TEST_CASE("configuration errors name the Corefile position") {
  struct Case {
    const char* corefile;
    const char* error;
  };
  const Case cases[] = {
      {". {\n  auto\n}\n", "Corefile:2:3: auto: expected a directory: auto [ZONES...] { directory DIR [REGEXP ORIGIN_TEMPLATE] }"},
      {". {\n  auto {\n    reload 10s\n  }\n}\n", "Corefile:2:3: auto: expected a directory"},
      {". {\n  auto {\n    directory\n  }\n}\n", "Corefile:3:5: auto:"},
      {". {\n  auto {\n    directory /tmp (.*)\n  }\n}\n",
       "Corefile:3:20: auto: expected an ORIGIN_TEMPLATE after the REGEXP"},
      {". {\n  auto {\n    directory /tmp * {1}\n  }\n}\n", "Corefile:3:20: auto: invalid regexp '*': "},
      {". {\n  auto {\n    directory /tmp abc {1}\n  }\n}\n",
       "Corefile:3:20: auto: regexp 'abc' has no group for the origin template to use"},
      {". {\n  auto {\n    directory /tmp (.*) {1} aa\n  }\n}\n", "Corefile:3:29: auto: 'directory' takes 1 to 3 arguments, got 4"},  // TIMEOUT is gone
      {". {\n  auto {\n    directory /tmp\n    reload\n  }\n}\n", "Corefile:4:5: auto:"},
      {". {\n  auto {\n    directory /tmp\n    reload -1s\n  }\n}\n",
       "Corefile:4:12: auto: reload must not be negative (0 scans once, at start)"},
      {". {\n  auto {\n    directory /tmp\n    reload 5\n  }\n}\n", "Corefile:4:12: auto:"},
      {". {\n  auto {\n    directory /tmp\n    no_reload\n  }\n}\n", "Corefile:4:5: auto: unknown option 'no_reload'"},
      {". {\n  auto {\n    directory /tmp\n    transfer to 127.0.0.1\n  }\n}\n",
       "Corefile:4:5: auto: unknown option 'transfer'"},
      {". {\n  auto {\n    directory /tmp\n    fallthrough a..b\n  }\n}\n", "Corefile:4:17:"},
      {". {\n  auto a..b {\n    directory /tmp\n  }\n}\n", "Corefile:2:8:"},
  };
  for (const Case& c : cases) {
    const std::string corefile = c.corefile;
    CAPTURE(corefile);
    const std::string error = errorOf(c.corefile);
    CAPTURE(error);
    CHECK(error.rfind(c.error, 0) == 0);
  }
}

TEST_CASE("setup: a missing directory is a warning and serves nothing, a file or an unreadable path is an error") {
  ScratchDir dir;
  AutoServer missing(dir, ". {\n  auto {\n    directory not-there\n  }\n}\n");
  REQUIRE(missing.handler.ok());
  REQUIRE(missing.warnings.size() == 1);
  CHECK(missing.warnings[0].str() == "Corefile:3:15: auto: directory does not exist: " + dir.path() + "/not-there");
  CHECK(missing.plugin().servedOrigins().empty());

  dir.write("plain", "x");
  AutoServer file(dir, ". {\n  auto {\n    directory plain\n  }\n}\n");
  CHECK(file.error() == "Corefile:3:15: auto: not a directory: " + dir.path() + "/plain");

  AutoServer below(dir, ". {\n  auto {\n    directory plain/sub\n  }\n}\n");
  CHECK(below.error().rfind("Corefile:3:15: auto: cannot access directory " + dir.path() + "/plain/sub: ", 0) == 0);
}

TEST_CASE("README: every corefile example loads") {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/plugins/auto/README.md");
  REQUIRE(in.good());
  const std::string markdown((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t examples = 0;
  for (const moat::testing::ReadmeBlock& block : moat::testing::readmeBlocks(markdown)) {
    if (block.lang != "corefile") continue;
    std::string corefile;
    for (const std::string& line : block.text) corefile += line + "\n";
    CAPTURE(corefile);
    ScratchDir dir;  // relative directories resolve in here; absolute ones are missing: a warning
    AutoServer server(dir, corefile);
    CHECK_MESSAGE(server.handler.ok(), server.error());
    ++examples;
  }
  CHECK(examples == 4);  // the syntax note's, CoreDNS README's two, Moat's own
}
