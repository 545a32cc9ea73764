// The file system behind imports and loadCorefile, and the process environment.
#include <glob.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/parser.hpp"

namespace moat::conf {

std::optional<std::string> FileSource::read(const std::string& path, std::string& why) const {
  if (isDirectory(path)) {  // an ifstream would open a directory and read nothing
    why = "is a directory";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return std::nullopt;
  }
  return std::move(text).str();
}

std::vector<std::string> FileSource::glob(const std::string& pattern) const {
  glob_t found{};
  // GLOB_PERIOD: Go's filepath.Glob (what CoreDNS uses) lets '*' match a leading dot.
  int rc = ::glob(pattern.c_str(), GLOB_PERIOD, nullptr, &found);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) {
      const std::filesystem::path match(found.gl_pathv[i]);
      if (match.filename() == "." || match.filename() == "..") continue;  // GLOB_PERIOD would list these for ".*"
      out.emplace_back(found.gl_pathv[i]);
    }
  }
  globfree(&found);
  return out;  // glob(3) sorts its matches
}

bool FileSource::isDirectory(const std::string& path) const {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

EnvLookup processEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace moat::conf
