#include "lint/configmap.hpp"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace moat::lint {

namespace {

using Spot = SourceMap::Spot;

bool isContinuationByte(unsigned char c) { return (c & 0xC0) == 0x80; }

// Byte offsets -> line:col (columns in characters, as the Corefile lexer counts them).
class Positions {
 public:
  explicit Positions(std::string_view text) : text_(text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }
  Spot at(size_t offset) const {
    offset = std::min(offset, text_.size());
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    const size_t line = static_cast<size_t>(it - starts_.begin());  // 1-based
    const size_t start = starts_[line - 1];
    uint32_t col = 1;
    for (size_t i = start; i < offset; ++i) {
      if (!isContinuationByte(static_cast<unsigned char>(text_[i]))) ++col;
    }
    return Spot{static_cast<uint32_t>(line), col, static_cast<uint32_t>(offset)};
  }
  size_t lineCount() const { return starts_.size(); }
  size_t lineStart(size_t line1) const { return starts_[line1 - 1]; }
  std::string_view line(size_t line1) const {
    const size_t start = starts_[line1 - 1];
    size_t end = line1 < starts_.size() ? starts_[line1] - 1 : text_.size();
    if (end > start && text_[end - 1] == '\r') --end;
    return text_.substr(start, end - start);
  }

 private:
  std::string_view text_;
  std::vector<size_t> starts_;
};

// ---- the document tree, from yaml-cpp's events --------------------------------------------

struct YNode {
  enum class Type : uint8_t { Null, Scalar, Map, Seq };
  Type type = Type::Null;
  int pos = -1;  // yaml-cpp's mark: byte offset where the node starts
  int line = -1, col = -1;  // 0-based, yaml-cpp's
  std::string text;
  std::vector<uint32_t> children;  // maps: key, value, key, value
};

struct ParseError {
  YAML::Mark mark;
  std::string message;
};

// yaml-cpp's node API (YAML::LoadAll) never returns on a stray top-level ',' and copies the
// whole document; events into a small tree of our own avoid both.
class TreeEvents final : public YAML::EventHandler {
 public:
  std::vector<YNode> nodes;
  std::vector<uint32_t> documents;  // root node of each document

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 reports an empty document for ever, reading nothing, on a stray flow ','
    // (see plugins/kubernetes/objects_yaml.cpp): a document cannot start where the last one did.
    if (started_ && mark.pos == lastStart_) {
      throw ParseError{mark, "unexpected ',' where a document should start"};
    }
    started_ = true;
    lastStart_ = mark.pos;
    stack_.clear();
    rootPending_ = true;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    named(add(YNode::Type::Null, mark), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    // An alias names a node already read; it is linked, not copied, so nothing can multiply.
    // One that names a node still open (a cycle) reads as null.
    auto it = anchors_.find(anchor);
    if (it == anchors_.end() || open(it->second)) {
      add(YNode::Type::Null, mark);
      return;
    }
    link(it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    const uint32_t n = add(YNode::Type::Scalar, mark);
    nodes[n].text = value;
    named(n, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    const uint32_t n = add(YNode::Type::Seq, mark);
    named(n, anchor);
    stack_.push_back(n);
  }
  void OnSequenceEnd() override { pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    const uint32_t n = add(YNode::Type::Map, mark);
    named(n, anchor);
    stack_.push_back(n);
  }
  void OnMapEnd() override { pop(); }

 private:
  uint32_t add(YNode::Type type, const YAML::Mark& mark) {
    YNode node;
    node.type = type;
    node.pos = mark.pos;
    node.line = mark.line;
    node.col = mark.column;
    nodes.push_back(std::move(node));
    const auto n = static_cast<uint32_t>(nodes.size() - 1);
    link(n);
    return n;
  }
  void link(uint32_t n) {
    if (!stack_.empty()) {
      nodes[stack_.back()].children.push_back(n);
    } else if (rootPending_) {
      documents.push_back(n);
      rootPending_ = false;
    }
  }
  void named(uint32_t n, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = n;
  }
  bool open(uint32_t n) const { return std::find(stack_.begin(), stack_.end(), n) != stack_.end(); }
  void pop() {
    if (!stack_.empty()) stack_.pop_back();
  }

  std::vector<uint32_t> stack_;
  std::unordered_map<YAML::anchor_t, uint32_t> anchors_;
  bool started_ = false;
  bool rootPending_ = false;
  int lastStart_ = 0;
};

const YNode* field(const std::vector<YNode>& nodes, const YNode& map, std::string_view key) {
  if (map.type != YNode::Type::Map) return nullptr;
  for (size_t i = 0; i + 1 < map.children.size(); i += 2) {
    const YNode& k = nodes[map.children[i]];
    if (k.type == YNode::Type::Scalar && k.text == key) return &nodes[map.children[i + 1]];
  }
  return nullptr;
}

std::string_view textOf(const std::vector<YNode>& nodes, const YNode& map, std::string_view key) {
  const YNode* v = field(nodes, map, key);
  return v != nullptr && v->type == YNode::Type::Scalar ? std::string_view(v->text) : std::string_view();
}

// ---- mapping a scalar's characters back to the text ---------------------------------------

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\n') {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// `Corefile: |` (literal style; `|-`, `|+` and an indentation digit too): the value's line k is
// the k-th line after the indicator's, less the block's indentation. Checked against the value
// yaml-cpp produced, line by line; nullopt when they differ (then the caller maps coarsely).
std::optional<std::vector<std::vector<Spot>>> mapLiteral(const Positions& pos, std::string_view src,
                                                          const YNode& node) {
  const Spot indicator = pos.at(static_cast<size_t>(node.pos));
  size_t header = static_cast<size_t>(node.pos) + 1;
  std::optional<size_t> explicitIndent;
  while (header < src.size() && src[header] != '\n' && src[header] != '#' && src[header] != ' ') {
    if (src[header] >= '1' && src[header] <= '9') explicitIndent = static_cast<size_t>(src[header] - '0');
    ++header;
  }
  const size_t first = indicator.line + 1;  // the value's first line
  if (first > pos.lineCount()) return std::nullopt;

  size_t indent = 0;
  if (explicitIndent) {
    // Relative to the indentation of the line holding the key.
    const std::string_view keyLine = pos.line(indicator.line);
    indent = keyLine.find_first_not_of(' ');
    if (indent == std::string_view::npos) indent = 0;
    indent += *explicitIndent;
  } else {
    for (size_t l = first; l <= pos.lineCount(); ++l) {
      const std::string_view line = pos.line(l);
      const size_t lead = line.find_first_not_of(' ');
      if (lead != std::string_view::npos) {
        indent = lead;
        break;
      }
    }
  }

  std::vector<std::string_view> values = splitLines(node.text);
  if (!values.empty() && values.back().empty()) values.pop_back();  // after the final newline
  std::vector<std::vector<Spot>> out;
  for (size_t k = 0; k < values.size(); ++k) {
    const size_t l = first + k;
    if (l > pos.lineCount()) return std::nullopt;
    const std::string_view line = pos.line(l);
    std::vector<Spot> spots;
    if (values[k].empty()) {
      if (line.find_first_not_of(" \t") != std::string_view::npos) return std::nullopt;
    } else {
      if (line.size() < indent || line.substr(indent) != values[k]) return std::nullopt;
      const size_t base = pos.lineStart(l) + indent;
      uint32_t col = static_cast<uint32_t>(indent) + 1;
      for (size_t b = 0; b < values[k].size(); ++b) {
        if (isContinuationByte(static_cast<unsigned char>(values[k][b]))) continue;
        spots.push_back(Spot{static_cast<uint32_t>(l), col++, static_cast<uint32_t>(base + b)});
      }
    }
    out.push_back(std::move(spots));
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A double-quoted string on one line (JSON's only kind): each character of the value maps to
// the character or escape it was written as. nullopt for a string that folds across lines or
// does not decode to what yaml-cpp read.
std::optional<std::vector<std::vector<Spot>>> mapDoubleQuoted(const Positions& pos, std::string_view src,
                                                               const YNode& node) {
  std::string decoded;
  std::vector<std::vector<Spot>> out(1);
  size_t i = static_cast<size_t>(node.pos) + 1;
  Spot here = pos.at(i);
  auto readHex = [&](size_t at, int digits) -> std::optional<uint32_t> {
    if (at + static_cast<size_t>(digits) > src.size()) return std::nullopt;
    uint32_t v = 0;
    for (int d = 0; d < digits; ++d) {
      const int h = hexValue(src[at + static_cast<size_t>(d)]);
      if (h < 0) return std::nullopt;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    return v;
  };
  while (i < src.size() && src[i] != '"') {
    const Spot at = here;
    size_t used = 1;
    const size_t before = decoded.size();
    const char c = src[i];
    if (c == '\n' || c == '\r') return std::nullopt;  // folding: not mapped exactly
    if (c != '\\') {
      size_t len = 1;
      while (i + len < src.size() && isContinuationByte(static_cast<unsigned char>(src[i + len]))) ++len;
      decoded.append(src.substr(i, len));
      used = len;
    } else {
      if (i + 1 >= src.size()) return std::nullopt;
      const char e = src[i + 1];
      used = 2;
      switch (e) {
        case '0': decoded += '\0'; break;
        case 'a': decoded += '\a'; break;
        case 'b': decoded += '\b'; break;
        case 't': case '\t': decoded += '\t'; break;
        case 'n': decoded += '\n'; break;
        case 'v': decoded += '\v'; break;
        case 'f': decoded += '\f'; break;
        case 'r': decoded += '\r'; break;
        case 'e': decoded += '\x1b'; break;
        case ' ': case '"': case '/': case '\\': decoded += e; break;
        case 'N': appendUtf8(decoded, 0x85); break;
        case '_': appendUtf8(decoded, 0xA0); break;
        case 'L': appendUtf8(decoded, 0x2028); break;
        case 'P': appendUtf8(decoded, 0x2029); break;
        case 'x': case 'u': case 'U': {
          const int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          auto cp = readHex(i + 2, digits);
          if (!cp) return std::nullopt;
          used = 2 + static_cast<size_t>(digits);
          // A JSON surrogate pair is one character written as two escapes.
          if (e == 'u' && *cp >= 0xD800 && *cp <= 0xDBFF && i + used + 1 < src.size() &&
              src[i + used] == '\\' && src[i + used + 1] == 'u') {
            auto low = readHex(i + used + 2, 4);
            if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
              *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
              used += 6;
            }
          }
          if (*cp > 0x10FFFF) return std::nullopt;
          appendUtf8(decoded, *cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    // One spot per character the step produced (a newline starts the next value line).
    for (size_t b = before; b < decoded.size(); ++b) {
      const auto byte = static_cast<unsigned char>(decoded[b]);
      if (byte == '\n') {
        out.emplace_back();
      } else if (!isContinuationByte(byte)) {
        out.back().push_back(at);
      }
    }
    for (size_t k = 0; k < used; ++k) {
      if (!isContinuationByte(static_cast<unsigned char>(src[i + k]))) ++here.col;
    }
    i += used;
    here.offset = static_cast<uint32_t>(i);
  }
  if (i >= src.size() || decoded != node.text) return std::nullopt;
  return out;
}

SourceMap mapScalar(const Positions& pos, std::string_view src, const YNode& node) {
  const bool known = node.pos >= 0 && static_cast<size_t>(node.pos) < src.size();
  const Spot start = known ? pos.at(static_cast<size_t>(node.pos))
                           : Spot{static_cast<uint32_t>(node.line + 1), static_cast<uint32_t>(node.col + 1), 0};
  if (!known) return SourceMap(start);
  std::optional<std::vector<std::vector<Spot>>> lines;
  if (src[static_cast<size_t>(node.pos)] == '|') lines = mapLiteral(pos, src, node);
  if (src[static_cast<size_t>(node.pos)] == '"') lines = mapDoubleQuoted(pos, src, node);
  if (!lines) return SourceMap(start);
  return SourceMap(start, std::move(*lines));
}

// ---- ConfigMaps out of the tree -------------------------------------------------------------

conf::Pos posOf(const std::string& file, const YNode& node) {
  return conf::Pos{file, static_cast<uint32_t>(std::max(node.line, 0) + 1),
                   static_cast<uint32_t>(std::max(node.col, 0) + 1)};
}

std::optional<conf::Diag> readOne(const std::vector<YNode>& nodes, const YNode& object,
                                  const Positions& pos, std::string_view src, const std::string& file,
                                  std::vector<ConfigMap>& out) {
  if (out.size() >= kMaxConfigMaps) {
    return conf::errorAt(posOf(file, object), "more than " + std::to_string(kMaxConfigMaps) +
                                                  " ConfigMaps in one input");
  }
  ConfigMap cm;
  cm.pos = posOf(file, object);
  if (const YNode* meta = field(nodes, object, "metadata")) {
    cm.name = textOf(nodes, *meta, "name");
    cm.nameSpace = textOf(nodes, *meta, "namespace");
  }
  const YNode* data = field(nodes, object, "data");
  if (data != nullptr && data->type == YNode::Type::Map) {
    for (size_t i = 0; i + 1 < data->children.size(); i += 2) {
      const YNode& key = nodes[data->children[i]];
      const YNode& value = nodes[data->children[i + 1]];
      if (key.type != YNode::Type::Scalar) {
        return conf::errorAt(posOf(file, key), "ConfigMap data keys must be strings");
      }
      if (value.type == YNode::Type::Null) {
        cm.files.push_back({key.text, "", SourceMap(pos.at(static_cast<size_t>(std::max(value.pos, 0))))});
        continue;
      }
      if (value.type != YNode::Type::Scalar) {
        return conf::errorAt(posOf(file, value), "ConfigMap data '" + key.text +
                                                     "' must be a string, got a " +
                                                     (value.type == YNode::Type::Map ? "map" : "list"));
      }
      cm.files.push_back({key.text, value.text, mapScalar(pos, src, value)});
    }
  } else if (data != nullptr && data->type != YNode::Type::Null) {
    return conf::errorAt(posOf(file, *data), "ConfigMap 'data' must be a map of file names to text");
  }
  out.push_back(std::move(cm));
  return std::nullopt;
}

bool isKind(const std::vector<YNode>& nodes, const YNode& object, std::string_view kind) {
  return textOf(nodes, object, "kind") == kind;
}

}  // namespace

SourceMap::Spot SourceMap::map(uint32_t line, uint32_t col) const {
  if (!exact_ || line == 0 || col == 0) return start_;
  if (line > lines_.size()) {
    // Past the last line (an error at the end of the text): just after the last character.
    for (size_t l = lines_.size(); l-- > 0;) {
      if (!lines_[l].empty()) {
        Spot s = lines_[l].back();
        ++s.col;
        return s;
      }
    }
    return start_;
  }
  const std::vector<Spot>& spots = lines_[line - 1];
  if (col <= spots.size()) return spots[col - 1];
  if (spots.empty()) return start_;
  Spot s = spots.back();
  s.col += col - static_cast<uint32_t>(spots.size());
  return s;
}

bool looksLikeConfigMap(std::string_view text) {
  for (std::string_view line : splitLines(text)) {
    const size_t lead = line.find_first_not_of(" \t");
    if (lead == std::string_view::npos || line[lead] == '#') continue;
    const size_t kind = line.find("kind");
    if (kind == std::string_view::npos) continue;
    const size_t cm = line.find("ConfigMap", kind);
    if (cm == std::string_view::npos) continue;
    // `kind: ConfigMap` or `"kind": "ConfigMap"`: only a colon, quotes and spaces between.
    const std::string_view between = line.substr(kind + 4, cm - kind - 4);
    if (between.find_first_not_of(" \t\"':") == std::string_view::npos &&
        between.find(':') != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

conf::Result<std::vector<ConfigMap>> readConfigMaps(std::string_view text, const std::string& file) {
  TreeEvents events;
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(events)) {
    }
  } catch (const ParseError& e) {
    return conf::errorAt(conf::Pos{file, static_cast<uint32_t>(e.mark.line + 1),
                                   static_cast<uint32_t>(e.mark.column + 1)},
                         "invalid YAML: " + e.message);
  } catch (const YAML::Exception& e) {
    const uint32_t line = e.mark.is_null() ? 1 : static_cast<uint32_t>(e.mark.line + 1);
    const uint32_t col = e.mark.is_null() ? 1 : static_cast<uint32_t>(e.mark.column + 1);
    return conf::errorAt(conf::Pos{file, line, col}, "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return conf::errorAt(conf::Pos{file, 1, 1}, std::string("cannot read the ConfigMap: ") + e.what());
  }

  const Positions pos(text);
  std::vector<ConfigMap> out;
  for (uint32_t root : events.documents) {
    const YNode& doc = events.nodes[root];
    if (isKind(events.nodes, doc, "ConfigMap")) {
      if (auto e = readOne(events.nodes, doc, pos, text, file, out)) return *e;
      continue;
    }
    // `kubectl get configmap a b -o yaml` prints a List; kind ConfigMapList is the typed one.
    const bool list = isKind(events.nodes, doc, "List") || isKind(events.nodes, doc, "ConfigMapList");
    const YNode* items = list ? field(events.nodes, doc, "items") : nullptr;
    if (items == nullptr || items->type != YNode::Type::Seq) continue;
    for (uint32_t item : items->children) {
      const YNode& object = events.nodes[item];
      if (!isKind(events.nodes, object, "ConfigMap") && !isKind(events.nodes, doc, "ConfigMapList")) continue;
      if (auto e = readOne(events.nodes, object, pos, text, file, out)) return *e;
    }
  }
  if (out.empty()) {
    return conf::errorAt(conf::Pos{file, 1, 1},
                         "no ConfigMap here: expected `kind: ConfigMap`, or a List of ConfigMaps");
  }
  return out;
}

}  // namespace moat::lint
