#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "conf/parser.hpp"

namespace moat::conf {
namespace {

namespace fs = std::filesystem;

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("moat-conf-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

TEST_CASE("FileSource reads files and reports why it cannot") {
  TempDir dir;
  std::string path = dir.write("Corefile", ". {\n  whoami\n}\n");
  FileSource files;
  std::string why;
  auto text = files.read(path, why);
  REQUIRE(text.has_value());
  CHECK(*text == ". {\n  whoami\n}\n");

  auto missing = files.read((dir.path / "nope").string(), why);
  CHECK_FALSE(missing.has_value());
  CHECK(why == "No such file or directory");

  CHECK_FALSE(files.read(dir.path.string(), why).has_value());
  CHECK(why == "is a directory");
}

TEST_CASE("FileSource globs sorted matches, leading dots included, and knows directories") {
  TempDir dir;
  dir.write("conf.d/b.conf", "b\n");
  dir.write("conf.d/a.conf", "a\n");
  dir.write("conf.d/.hidden.conf", "h\n");
  dir.write("conf.d/c.txt", "c\n");
  FileSource files;
  std::string base = (dir.path / "conf.d").string();
  auto matches = files.glob(base + "/*.conf");
  CHECK(matches == std::vector<std::string>{base + "/.hidden.conf", base + "/a.conf",
                                            base + "/b.conf"});
  CHECK(files.glob(base + "/*.none").empty());
  CHECK(files.isDirectory(base));
  CHECK_FALSE(files.isDirectory(base + "/a.conf"));
  CHECK_FALSE(files.isDirectory(base + "/missing"));
}

TEST_CASE("loadCorefile uses the file system by default, imports included") {
  TempDir dir;
  std::string corefile = dir.write("Corefile", ". {\n  import conf.d/*.conf\n}\n");
  std::string imported = dir.write("conf.d/log.conf", "log\n");
  auto r = loadCorefile(corefile);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().str()));
  REQUIRE(r->blocks.size() == 1);
  REQUIRE(r->blocks[0].directives.size() == 1);
  CHECK(r->blocks[0].directives[0].name.pos.str() == imported + ":1:1");

  auto asDir = loadCorefile(dir.path.string());
  REQUIRE_FALSE(asDir.ok());
  CHECK(asDir.error().message.find("is a directory") != std::string::npos);
}

}  // namespace
}  // namespace moat::conf
