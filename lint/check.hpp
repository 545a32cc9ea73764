// One Corefile through lint: load it as the server does, then run every rule.
#pragma once

#include <string>
#include <vector>

#include "lint/finding.hpp"

namespace moat::lint {

// Appends the findings for `path` to `out`, sorted. False when the file cannot be read at all
// (missing, a directory, no permission), with the reason in `why`: that is a usage problem
// (exit 2), unlike a Corefile that reads but does not parse (a syntax/error finding).
bool lintFile(const std::string& path, std::vector<Finding>& out, std::string& why);

}  // namespace moat::lint
