// An in-memory Source for tests: files and directories by path, glob with one wildcard per
// segment as the parser allows. Test-only; not linked into moat_conf.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "conf/parser.hpp"

namespace moat::conf::test {

class MemorySource final : public Source {
 public:
  MemorySource& file(std::string path, std::string text) {
    files_[std::move(path)] = std::move(text);
    return *this;
  }
  MemorySource& directory(std::string path) {
    dirs_.insert(std::move(path));
    return *this;
  }

  std::optional<std::string> read(const std::string& path, std::string& why) const override {
    ++reads_;
    auto it = files_.find(path);
    if (it == files_.end()) {
      why = "No such file or directory";
      return std::nullopt;
    }
    return it->second;
  }

  std::vector<std::string> glob(const std::string& pattern) const override {
    std::vector<std::string> out;
    for (const auto& [path, text] : files_) {
      if (match(pattern, path)) out.push_back(path);
    }
    for (const auto& dir : dirs_) {
      if (match(pattern, dir)) out.push_back(dir);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  bool isDirectory(const std::string& path) const override { return dirs_.count(path) > 0; }

  int reads() const { return reads_; }

 private:
  // '*' matches any run of characters except '/', '?' exactly one such character.
  static bool match(std::string_view pattern, std::string_view text) {
    if (pattern.empty()) return text.empty();
    if (pattern[0] == '*') {
      for (size_t n = 0; n <= text.size(); ++n) {
        if (match(pattern.substr(1), text.substr(n))) return true;
        if (n < text.size() && text[n] == '/') break;
      }
      return false;
    }
    if (text.empty()) return false;
    if (pattern[0] == '?' ? text[0] == '/' : pattern[0] != text[0]) return false;
    return match(pattern.substr(1), text.substr(1));
  }

  std::map<std::string, std::string> files_;
  std::set<std::string> dirs_;
  mutable int reads_ = 0;
};

// An environment from a fixed table.
inline EnvLookup envOf(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace moat::conf::test
