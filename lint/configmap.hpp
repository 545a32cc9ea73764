// Kubernetes ConfigMaps that hold Corefiles, as `kubectl -n kube-system get configmap coredns
// -o yaml` (or `-o json`) prints them: one ConfigMap, several YAML documents, or a List. Each
// data key comes out as text together with a map from positions in that text back to the
// ConfigMap's own lines, so a finding in the Corefile points at the line a user edits.
// The input is untrusted (it is whatever a pipe delivers): fuzz/configmap_fuzz.cpp drives it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"

namespace moat::lint {

// Where the characters of a value taken out of a larger text stand in that text. A literal
// block scalar (`Corefile: |`) and a double-quoted string (JSON) map character by character;
// any other style maps every position to where the value starts.
class SourceMap {
 public:
  struct Spot {
    uint32_t line = 0;    // 1-based, in the outer text
    uint32_t col = 0;     // 1-based, in characters (as the Corefile lexer counts)
    uint32_t offset = 0;  // byte offset in the outer text
  };

  SourceMap() = default;
  // Every position maps to `start` (a style that cannot be mapped exactly).
  explicit SourceMap(Spot start) : start_(start) {}
  SourceMap(Spot start, std::vector<std::vector<Spot>> lines)
      : start_(start), lines_(std::move(lines)), exact_(true) {}

  // line:col (1-based, col in characters) in the value -> line:col in the outer text. A
  // column just past a line's end maps just past that line's last character.
  Spot map(uint32_t line, uint32_t col) const;
  bool exact() const { return exact_; }
  const std::vector<std::vector<Spot>>& lines() const { return lines_; }

 private:
  Spot start_;
  std::vector<std::vector<Spot>> lines_;  // per value line, one Spot per character
  bool exact_ = false;
};

struct ConfigMapFile {
  std::string key;   // the data key: "Corefile", "extra.server"
  std::string text;  // its value
  SourceMap map;     // positions in `text` -> positions in the ConfigMap's text
};

struct ConfigMap {
  std::string name;       // metadata.name ("" when absent)
  std::string nameSpace;  // metadata.namespace
  conf::Pos pos;          // where the ConfigMap starts
  std::vector<ConfigMapFile> files;  // data, in written order
};

// At most this many ConfigMaps are read from one input (a List of aliases could name one
// thousands of times).
inline constexpr size_t kMaxConfigMaps = 64;

// True when `text` says it is a ConfigMap (a `kind` line naming ConfigMap, in YAML or JSON
// spelling). A Corefile never has such a line, so this decides how `moat lint` reads an input.
bool looksLikeConfigMap(std::string_view text);

// Every ConfigMap in `text` (YAML or JSON), positions named `file`. An error (invalid YAML, a
// data value that is not text, no ConfigMap at all) comes with the ConfigMap's line:col.
conf::Result<std::vector<ConfigMap>> readConfigMaps(std::string_view text, const std::string& file);

}  // namespace moat::lint
