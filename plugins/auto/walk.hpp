// Finding the zone files of a directory: every file below it (subdirectories too, symlinked
// ones not entered) whose name the rule turns into an origin, in name order, so that when two
// files name the same origin the same one wins on every scan.
#pragma once

#include <string>
#include <vector>

#include "plugins/auto/origin_rule.hpp"

namespace moat::plugins::auto_zone {

struct FoundZoneFile {
  std::string origin;  // "example.org."
  std::string path;
};

struct DirectoryListing {
  std::vector<FoundZoneFile> files;  // one per origin
  std::vector<std::string> problems;  // unreadable entries, an origin named twice: for the log
};

// The directory itself may be a symlink (a Kubernetes ConfigMap mount); it is resolved first.
DirectoryListing findZoneFiles(const std::string& directory, const OriginRule& rule);

}  // namespace moat::plugins::auto_zone
