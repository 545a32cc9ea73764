// The small document tree both object parsers (YAML events, JSON SAX) produce and the kind
// readers consume. It is built item by item: an object inside a List is read and its nodes are
// dropped as soon as it ends, so a large dump never exists as a whole tree in memory (yaml-cpp's
// own node graph took over 1 GB for 10 000 Services).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moat::plugins::kubernetes::objects {

inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
inline constexpr uint64_t kNowhere = std::numeric_limits<uint64_t>::max();

// Where a node starts. YAML: (line << 32) | column, both 1-based. JSON: the byte offset; the
// caller turns it into line:col only when reporting an error. kNowhere: unknown.
using Where = uint64_t;

inline Where yamlWhere(uint32_t line1, uint32_t col1) { return (uint64_t{line1} << 32) | col1; }

// A malformed document or object. Thrown inside the loader only; the public API returns a Diag.
struct ObjectError {
  Where where = kNowhere;
  std::string message;
};

struct Node {
  enum class Type : uint8_t { Null, Scalar, Map, Seq };
  Type type = Type::Null;
  uint32_t first = kNone;  // first child; a map's children alternate key, value, key, value
  uint32_t next = kNone;   // next sibling
  Where where = kNowhere;
  std::string text;  // scalars: the text (JSON numbers and booleans as written)
};

class Doc {
 public:
  const Node& operator[](uint32_t i) const { return nodes_[i]; }
  // A map's value for `key`, or kNone (also when `map` is not a map).
  uint32_t field(uint32_t map, std::string_view key) const;
  // The scalar text of map[key], or "" when absent, null or not a scalar.
  std::string_view text(uint32_t map, std::string_view key) const;

 private:
  friend class TreeBuilder;
  std::vector<Node> nodes_;
};

// Receives what the tree builder completes. Both calls may throw ObjectError.
class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  // A List item (or top-level sequence element) that names its own kind, as soon as it ends.
  virtual void object(const Doc& doc, uint32_t node) = 0;
  // A whole document once it ends, minus the items already handed to object().
  virtual void document(const Doc& doc, uint32_t root) = 0;
};

// Parser events in, tree out. Parsers call it in document order.
class TreeBuilder {
 public:
  explicit TreeBuilder(ObjectSink& sink) : sink_(sink) {}

  void beginDocument();
  void endDocument();
  // Maps take keys as scalars too: key, value, key, value.
  void scalar(Where where, std::string_view text);
  void null(Where where);
  void beginMap(Where where) { begin(Node::Type::Map, where); }
  void beginSeq(Where where) { begin(Node::Type::Seq, where); }
  void end();
  // YAML anchors and aliases: an alias copies the anchored subtree (within one object), at
  // most kMaxAliasNodes nodes per object in all, so a few nested aliases ("billion laughs")
  // cannot take all memory.
  static constexpr uint32_t kMaxAliasNodes = 100000;
  void anchor(uint32_t id);  // names the node added last
  void alias(Where where, uint32_t id);

  // JSON reports no position for '{' and '['. Before adding a child at `child`, the parser
  // calls this: open containers still without a position and without a child get the position
  // `bracketBefore` finds (the bracket preceding their first child), innermost first.
  template <class F>
  void resolveOpen(Where child, F&& bracketBefore) {
    for (size_t i = stack_.size(); i-- > 0 && child != kNowhere;) {
      Frame& f = stack_[i];
      if (doc_.nodes_[f.node].where != kNowhere || f.children != (i + 1 == stack_.size() ? 0 : 1))
        return;
      child = bracketBefore(child);
      doc_.nodes_[f.node].where = child;
    }
  }

 private:
  struct Frame {
    uint32_t node;
    uint32_t last = kNone;  // last child
    uint32_t children = 0;
    bool itemsSeq = false;        // children are objects to stream
    bool item = false;            // this container is such an object
    uint32_t parentLast = kNone;  // the parent's last child before this one was linked
  };

  uint32_t add(Node::Type type, Where where);
  void begin(Node::Type type, Where where);
  uint32_t copy(uint32_t from, Where alias);

  ObjectSink& sink_;
  Doc doc_;
  std::vector<Frame> stack_;
  std::unordered_map<uint32_t, uint32_t> anchors_;  // yaml-cpp anchor id -> node
  uint32_t lastAdded_ = kNone;
  uint32_t aliasNodes_ = 0;  // nodes copied by aliases in the current object
};

}  // namespace moat::plugins::kubernetes::objects
