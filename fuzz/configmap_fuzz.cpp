// Fuzz target: a Kubernetes ConfigMap holding Corefiles, YAML or JSON, as `moat lint -` reads it
// from a pipe (readConfigMaps). Every value's position map must stay inside the input and point
// at the very character the value holds there, or at the backslash of the escape that wrote it.
// Then each Corefile key is parsed through the ConfigMap's mount (its keys as the imports, in
// memory, no I/O): every token's and error's position must map back to a line and column of the
// input, and the error's message goes through the same remapping of quoted positions lint does.
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/parser.hpp"
#include "fuzz/fuzz_util.hpp"
#include "lint/configmap.hpp"
#include "lint/configmap_mount.hpp"

namespace {

using namespace moat;

struct Input {
  std::string_view text;
  uint32_t lines = 1;
};

bool isContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

void checkSpot(const Input& in, const lint::SourceMap::Spot& s) {
  FUZZ_CHECK(s.line >= 1 && s.line <= in.lines);
  FUZZ_CHECK(s.col >= 1);
}

// The map of an exact value: one spot per character, at that character or at an escape.
void checkExact(const Input& in, const lint::ConfigMapFile& file) {
  const auto& lines = file.map.lines();
  size_t line = 0, index = 0;
  for (size_t b = 0; b < file.text.size(); ++b) {
    const auto c = static_cast<unsigned char>(file.text[b]);
    if (c == '\n') {
      ++line;
      index = 0;
      continue;
    }
    if (isContinuation(c)) continue;
    FUZZ_CHECK(line < lines.size());
    FUZZ_CHECK(index < lines[line].size());
    const lint::SourceMap::Spot& s = lines[line][index++];
    checkSpot(in, s);
    FUZZ_CHECK(s.offset < in.text.size());
    FUZZ_CHECK(in.text[s.offset] == file.text[b] || in.text[s.offset] == '\\');
  }
}

void checkPos(const Input& in, const lint::ConfigMapFile& file, const conf::Pos& pos) {
  checkSpot(in, file.map.map(pos.line, pos.col));
}

void checkDirectives(const Input& in, const lint::ConfigMapFile& file,
                     const std::vector<conf::Directive>& directives, const std::string& path) {
  for (const conf::Directive& d : directives) {
    if (d.name.pos.file == path) checkPos(in, file, d.name.pos);
    for (const conf::Token& a : d.args) {
      if (a.pos.file == path) checkPos(in, file, a.pos);
    }
    checkDirectives(in, file, d.block, path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{{reinterpret_cast<const char*>(data), size}};
  for (char c : in.text) {
    if (c == '\n') ++in.lines;
  }
  (void)lint::looksLikeConfigMap(in.text);
  auto maps = lint::readConfigMaps(in.text, "cm");
  if (!maps) {
    FUZZ_CHECK(!maps.error().message.empty());
    FUZZ_CHECK(maps.error().pos.line >= 1);
    return 0;
  }
  FUZZ_CHECK(!maps->empty() && maps->size() <= lint::kMaxConfigMaps);
  for (const lint::ConfigMap& cm : *maps) {
    const lint::ConfigMapSource source(cm);
    for (const lint::ConfigMapFile& f : cm.files) {
      if (f.map.exact()) checkExact(in, f);
      checkSpot(in, f.map.map(1, 1));
      if (f.key != "Corefile") continue;
      conf::ParseOptions options;
      options.source = &source;
      options.env = [](std::string_view) { return std::optional<std::string>("x"); };
      const std::string path = lint::mounted(lint::kCorefileKey);
      auto corefile = conf::parseCorefile(f.text, path, options);
      if (!corefile) {
        conf::Pos pos = corefile.error().pos;
        if (pos.file == path) checkPos(in, f, pos);
        if (source.remap("cm", pos)) checkSpot(in, {pos.line, pos.col, 0});
        (void)source.remapMessage("cm", corefile.error().str());
        continue;
      }
      for (const conf::ServerBlock& block : corefile->blocks) {
        for (const conf::Token& key : block.keys) {
          if (key.pos.file == path) checkPos(in, f, key.pos);
        }
        checkDirectives(in, f, block.directives, path);
      }
    }
  }
  return 0;
}
