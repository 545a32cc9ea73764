// Loading Kubernetes objects (the output of `kubectl get ... -o yaml|json`, multi-document YAML
// streams, single objects) from files and directories into a Cluster snapshot. Nothing here
// throws: every failure is a Diag naming file:line:col (line 0: the file as a whole).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/kubernetes/model.hpp"

namespace moat::plugins::kubernetes {

// Reads every path (file or directory) and builds one snapshot; the first error fails it all,
// so a half-written file never replaces a good snapshot with a partial one.
conf::Result<ClusterPtr> loadObjects(const std::vector<std::string>& paths, uint32_t serial);

// The files `paths` name, in load order: a file as given; a directory's *.yaml, *.yml and
// *.json entries, sorted by name, not recursing. Dotfiles are skipped, which in a ConfigMap
// volume leaves the user-visible names: symlinks through `..data` to the current version.
conf::Result<std::vector<std::string>> objectFiles(const std::vector<std::string>& paths);
bool isObjectFileName(std::string_view name);

// Lower level (tests, tools): adds one file's or one text's objects to `builder`. JSON when the
// first character after whitespace (and a UTF-8 BOM) is '{' or '[', else YAML. On error the
// builder may hold part of the objects: discard it. `file` names the text in diagnostics.
std::optional<conf::Diag> loadFile(Cluster::Builder& builder, const std::string& file);
std::optional<conf::Diag> loadText(Cluster::Builder& builder, std::string_view text,
                                   const std::string& file);

// The log line CoreDNS-style tools print after a load:
// "loaded 3 services, 2 endpoint sets (5 addresses), 1 pods, 4 namespaces, 0 skipped objects".
std::string describeLoad(const LoadStats& stats);

}  // namespace moat::plugins::kubernetes
