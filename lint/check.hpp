// One input through lint: a Corefile, or a Kubernetes ConfigMap holding one. Load it as the
// server does, then run every rule.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "lint/finding.hpp"

namespace moat::lint {

// Appends the findings for `path` to `out`, sorted. False when the file cannot be read at all
// (missing, a directory, no permission), with the reason in `why`: that is a usage problem
// (exit 2), unlike a Corefile that reads but does not parse (a syntax/error finding).
bool lintFile(const std::string& path, std::vector<Finding>& out, std::string& why);

// The same for text already read (standard input), named `name` in the findings. A text that
// says `kind: ConfigMap` is linted as the Corefile inside it (lintConfigMaps).
void lintText(const std::string& name, std::string_view text, std::vector<Finding>& out);

// One Corefile's text, `path` naming it (positions, relative paths, imports through `source`,
// the file system when null).
void lintCorefile(const std::string& path, std::string_view text, const conf::Source* source,
                  std::vector<Finding>& out);

// check_configmap.cpp: every ConfigMap in `text`; each one's `Corefile` key is linted with its
// other keys as the files beside it (imports resolve to them), and every position is given in
// the ConfigMap's own lines of `name`.
void lintConfigMaps(const std::string& name, std::string_view text, std::vector<Finding>& out);

}  // namespace moat::lint
