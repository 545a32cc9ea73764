// A ConfigMap as CoreDNS's Deployment sees it: mounted at /etc/coredns, each data key a file
// there, the Corefile run as /etc/coredns/Corefile. Lint parses the Corefile through this
// mount (imports read the other keys, never this machine's disk) and moves every position it
// reports, in findings and inside their messages, back to the ConfigMap's own lines.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "conf/parser.hpp"
#include "lint/configmap.hpp"

namespace moat::lint {

inline constexpr std::string_view kMountDir = "/etc/coredns";
inline constexpr std::string_view kCorefileKey = "Corefile";

// "/etc/coredns/KEY"
std::string mounted(std::string_view key);

// The ConfigMap's keys as the files of its mount directory. Holds pointers into `cm`.
class ConfigMapSource final : public conf::Source {
 public:
  explicit ConfigMapSource(const ConfigMap& cm);
  std::optional<std::string> read(const std::string& path, std::string& why) const override;
  std::vector<std::string> glob(const std::string& pattern) const override;
  bool isDirectory(const std::string& path) const override;

  // The key mounted at `path` (relative paths start at the mount directory), or null.
  const ConfigMapFile* find(const std::string& path) const;

  // A position in a mounted key -> the same place in the ConfigMap named `name`; false (and
  // `pos` unchanged) for a position elsewhere.
  bool remap(const std::string& name, conf::Pos& pos) const;
  // Every "/etc/coredns/KEY:LINE:COL" inside `text` moved the same way.
  std::string remapMessage(const std::string& name, std::string text) const;

 private:
  std::map<std::string, const ConfigMapFile*> files_;
};

}  // namespace moat::lint
