#include "lint/configmap_mount.hpp"

#include <fnmatch.h>

#include <cctype>
#include <filesystem>

namespace moat::lint {

namespace {

std::string normalize(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(std::string(kMountDir)) / p;
  std::string out = p.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

std::string mounted(std::string_view key) { return std::string(kMountDir) + "/" + std::string(key); }

ConfigMapSource::ConfigMapSource(const ConfigMap& cm) {
  for (const ConfigMapFile& f : cm.files) files_.emplace(mounted(f.key), &f);
}

std::optional<std::string> ConfigMapSource::read(const std::string& path, std::string& why) const {
  if (const ConfigMapFile* f = find(path)) return f->text;
  why = isDirectory(path) ? "is a directory" : "not a key of the ConfigMap";
  return std::nullopt;
}

std::vector<std::string> ConfigMapSource::glob(const std::string& pattern) const {
  const std::string normal = normalize(pattern);
  std::vector<std::string> out;
  for (const auto& [path, file] : files_) {
    // Go's filepath.Match, which CoreDNS's import uses: '*' does not cross a '/'.
    if (::fnmatch(normal.c_str(), path.c_str(), FNM_PATHNAME) == 0) out.push_back(path);
  }
  return out;  // a std::map: already sorted, as glob(3) sorts
}

bool ConfigMapSource::isDirectory(const std::string& path) const { return normalize(path) == kMountDir; }

const ConfigMapFile* ConfigMapSource::find(const std::string& path) const {
  auto it = files_.find(normalize(path));
  return it == files_.end() ? nullptr : it->second;
}

bool ConfigMapSource::remap(const std::string& name, conf::Pos& pos) const {
  const ConfigMapFile* file = find(pos.file);
  if (pos.file.rfind(kMountDir, 0) != 0 || file == nullptr) return false;
  const SourceMap::Spot spot = file->map.map(pos.line, pos.col);
  pos = conf::Pos{name, spot.line, spot.col};
  return true;
}

std::string ConfigMapSource::remapMessage(const std::string& name, std::string text) const {
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
    if (!remap(name, pos)) continue;
    const std::string replacement = pos.str();
    text.replace(at, colEnd - at, replacement);
    at += replacement.size() - 1;
  }
  return text;
}

}  // namespace moat::lint
