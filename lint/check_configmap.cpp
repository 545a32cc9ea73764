// Linting the Corefile inside a Kubernetes ConfigMap. CoreDNS's Deployment mounts the ConfigMap
// at /etc/coredns and runs `-conf /etc/coredns/Corefile`, so each data key is a file in that
// directory: the Corefile is linted under that name, its imports read the other keys (nothing
// from this machine's disk), and every finding is then moved to the ConfigMap's own lines.
#include <fnmatch.h>

#include <cctype>

#include <filesystem>
#include <map>

#include "lint/check.hpp"
#include "lint/configmap.hpp"

namespace moat::lint {

namespace {

constexpr std::string_view kMountDir = "/etc/coredns";
constexpr std::string_view kCorefileKey = "Corefile";

std::string mounted(std::string_view key) { return std::string(kMountDir) + "/" + std::string(key); }

// The ConfigMap's keys as the files of its mount directory.
class ConfigMapSource final : public conf::Source {
 public:
  explicit ConfigMapSource(const ConfigMap& cm) {
    for (const ConfigMapFile& f : cm.files) files_.emplace(mounted(f.key), &f);
  }
  std::optional<std::string> read(const std::string& path, std::string& why) const override {
    if (const ConfigMapFile* f = find(path)) return f->text;
    why = isDirectory(path) ? "is a directory" : "not a key of the ConfigMap";
    return std::nullopt;
  }
  std::vector<std::string> glob(const std::string& pattern) const override {
    const std::string normal = normalize(pattern);
    std::vector<std::string> out;
    for (const auto& [path, file] : files_) {
      // Go's filepath.Match, which CoreDNS's import uses: '*' does not cross a '/'.
      if (::fnmatch(normal.c_str(), path.c_str(), FNM_PATHNAME) == 0) out.push_back(path);
    }
    return out;  // a std::map: already sorted, as glob(3) sorts
  }
  bool isDirectory(const std::string& path) const override { return normalize(path) == kMountDir; }

  const ConfigMapFile* find(const std::string& path) const {
    auto it = files_.find(normalize(path));
    return it == files_.end() ? nullptr : it->second;
  }

 private:
  static std::string normalize(const std::string& path) {
    std::filesystem::path p(path);
    if (p.is_relative()) p = std::filesystem::path(std::string(kMountDir)) / p;
    std::string out = p.lexically_normal().string();
    if (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
  }
  std::map<std::string, const ConfigMapFile*> files_;
};

// A position in a mounted key -> the same place in the ConfigMap named `name`.
bool remap(const ConfigMapSource& source, const std::string& name, conf::Pos& pos) {
  const ConfigMapFile* file = source.find(pos.file);
  if (pos.file.rfind(kMountDir, 0) != 0 || file == nullptr) return false;
  const SourceMap::Spot spot = file->map.map(pos.line, pos.col);
  pos = conf::Pos{name, spot.line, spot.col};
  return true;
}

// Messages quote other positions ("first at /etc/coredns/Corefile:3:5"): move those too.
std::string remapMessage(const ConfigMapSource& source, const std::string& name, std::string text) {
  const std::string prefix = std::string(kMountDir) + "/";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    size_t colon = text.find(':', at);
    if (colon == std::string::npos) break;
    size_t lineEnd = colon + 1;
    while (lineEnd < text.size() && std::isdigit(static_cast<unsigned char>(text[lineEnd]))) ++lineEnd;
    if (lineEnd == colon + 1 || lineEnd >= text.size() || text[lineEnd] != ':') continue;
    size_t colEnd = lineEnd + 1;
    while (colEnd < text.size() && std::isdigit(static_cast<unsigned char>(text[colEnd]))) ++colEnd;
    // Digits a user wrote (an import path quoted in a message) may be any length: ours fit in 9.
    if (colEnd == lineEnd + 1 || lineEnd - colon > 10 || colEnd - lineEnd > 10) continue;
    conf::Pos pos{text.substr(at, colon - at),
                  static_cast<uint32_t>(std::stoul(text.substr(colon + 1, lineEnd - colon - 1))),
                  static_cast<uint32_t>(std::stoul(text.substr(lineEnd + 1, colEnd - lineEnd - 1)))};
    if (!remap(source, name, pos)) continue;
    const std::string replacement = pos.str();
    text.replace(at, colEnd - at, replacement);
    at += replacement.size() - 1;
  }
  return text;
}

std::string describe(const ConfigMap& cm) {
  std::string out = "ConfigMap";
  if (!cm.name.empty()) out += " '" + (cm.nameSpace.empty() ? "" : cm.nameSpace + "/") + cm.name + "'";
  return out;
}

}  // namespace

void lintConfigMaps(const std::string& name, std::string_view text, std::vector<Finding>& out) {
  Findings findings;
  auto maps = readConfigMaps(text, name);
  if (!maps) {
    findings.add(maps.error(), "syntax/error");
    std::vector<Finding> found = findings.take();
    out.insert(out.end(), found.begin(), found.end());
    return;
  }
  for (const ConfigMap& cm : *maps) {
    const ConfigMapFile* corefile = nullptr;
    std::string keys;
    for (const ConfigMapFile& f : cm.files) {
      if (f.key == kCorefileKey) corefile = &f;
      keys += (keys.empty() ? "" : ", ") + f.key;
    }
    if (corefile == nullptr) {
      findings.add(cm.pos, "syntax/error",
                   describe(cm) + " has no Corefile key (CoreDNS runs -conf " + mounted(kCorefileKey) +
                       "); its data holds " + (keys.empty() ? std::string("nothing") : keys));
      continue;
    }
    const ConfigMapSource source(cm);
    std::vector<Finding> inner;
    lintCorefile(mounted(kCorefileKey), corefile->text, &source, inner);
    for (Finding& f : inner) {
      remap(source, name, f.pos);
      f.message = remapMessage(source, name, std::move(f.message));
      findings.add(f.pos, f.rule, std::move(f.message));
    }
  }
  std::vector<Finding> found = findings.take();
  sortFindings(found);
  out.insert(out.end(), found.begin(), found.end());
}

}  // namespace moat::lint
