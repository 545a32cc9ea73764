#include "plugins/auto/walk.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

namespace moat::plugins::auto_zone {

namespace fs = std::filesystem;

namespace {

class Walker {
 public:
  Walker(const OriginRule& rule, DirectoryListing& out) : rule_(rule), out_(out) {}

  void walk(const fs::path& dir) {
    std::error_code ec;
    std::vector<fs::directory_entry> entries;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
    if (ec) {
      out_.problems.push_back("cannot read directory " + dir.string() + ": " + ec.message());
      return;
    }
    std::ranges::sort(entries, {}, [](const fs::directory_entry& e) { return e.path().filename().string(); });
    for (const fs::directory_entry& entry : entries) {
      // A symlink to a directory is not entered (it could loop); a symlink to a file is read.
      if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
        walk(entry.path());
        continue;
      }
      consider(entry);
    }
  }

 private:
  void consider(const fs::directory_entry& entry) {
    auto origin = rule_.originOf(entry.path().filename().string());
    if (!origin) return;
    std::error_code ec;
    if (!entry.is_regular_file(ec)) {
      out_.problems.push_back(entry.path().string() + " names zone " + *origin + " but is not a readable file");
      return;
    }
    const std::string path = entry.path().lexically_normal().string();
    auto [it, added] = seen_.emplace(*origin, path);
    if (!added) {
      out_.problems.push_back("several files name zone " + *origin + ": using " + it->second + ", not " + path);
      return;
    }
    out_.files.push_back({*origin, path});
  }

  const OriginRule& rule_;
  DirectoryListing& out_;
  std::map<std::string, std::string> seen_;  // origin -> the file that named it first
};

}  // namespace

DirectoryListing findZoneFiles(const std::string& directory, const OriginRule& rule) {
  DirectoryListing out;
  std::error_code ec;
  const fs::path root = fs::canonical(directory, ec);
  if (ec) {
    out.problems.push_back("cannot read directory " + directory + ": " + ec.message());
    return out;
  }
  Walker(rule, out).walk(root);
  return out;
}

}  // namespace moat::plugins::auto_zone
