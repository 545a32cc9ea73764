#include "plugins/kubernetes/objects_tree.hpp"

#include <algorithm>

namespace moat::plugins::kubernetes::objects {

uint32_t Doc::field(uint32_t map, std::string_view key) const {
  if (map == kNone || nodes_[map].type != Node::Type::Map) return kNone;
  for (uint32_t k = nodes_[map].first; k != kNone;) {
    const uint32_t v = nodes_[k].next;
    if (v == kNone) break;
    if (nodes_[k].type == Node::Type::Scalar && nodes_[k].text == key) return v;
    k = nodes_[v].next;
  }
  return kNone;
}

std::string_view Doc::text(uint32_t map, std::string_view key) const {
  const uint32_t v = field(map, key);
  if (v == kNone || nodes_[v].type != Node::Type::Scalar) return {};
  return nodes_[v].text;
}

void TreeBuilder::beginDocument() {
  doc_.nodes_.clear();
  stack_.clear();
  anchors_.clear();
  lastAdded_ = kNone;
  aliasNodes_ = 0;
}

void TreeBuilder::endDocument() {
  // An unbalanced stream is the parser's to report; anything still open is dropped with it.
  if (!doc_.nodes_.empty() && stack_.empty()) sink_.document(doc_, 0);
  beginDocument();
}

uint32_t TreeBuilder::add(Node::Type type, Where where) {
  const auto idx = static_cast<uint32_t>(doc_.nodes_.size());
  if (!stack_.empty()) {
    Frame& top = stack_.back();
    // Best known for a scalar: the parent's. An open container's may still be resolved.
    if (where == kNowhere && (type == Node::Type::Scalar || type == Node::Type::Null))
      where = doc_.nodes_[top.node].where;
    if (top.last == kNone)
      doc_.nodes_[top.node].first = idx;
    else
      doc_.nodes_[top.last].next = idx;
    top.last = idx;
    ++top.children;
  }
  Node& n = doc_.nodes_.emplace_back();
  n.type = type;
  n.where = where;
  lastAdded_ = idx;
  return idx;
}

void TreeBuilder::scalar(Where where, std::string_view text) {
  const uint32_t idx = add(Node::Type::Scalar, where);
  doc_.nodes_[idx].text.assign(text);
}

void TreeBuilder::null(Where where) { add(Node::Type::Null, where); }

void TreeBuilder::begin(Node::Type type, Where where) {
  Frame f{};
  if (!stack_.empty()) {
    const Frame& top = stack_.back();
    f.item = top.itemsSeq && type == Node::Type::Map;
    f.parentLast = top.last;
    // The sequence under the root's "items" key holds the objects of a List.
    const Node& parent = doc_.nodes_[top.node];
    f.itemsSeq = type == Node::Type::Seq && stack_.size() == 1 && parent.type == Node::Type::Map &&
                 top.children % 2 == 1 && doc_.nodes_[top.last].text == "items";
  } else {
    f.itemsSeq = type == Node::Type::Seq;  // a top-level sequence of objects
  }
  f.node = add(type, where);
  stack_.push_back(f);
}

void TreeBuilder::end() {
  if (stack_.empty()) return;
  const Frame f = stack_.back();
  stack_.pop_back();
  if (doc_.nodes_[f.node].where == kNowhere && !stack_.empty())
    doc_.nodes_[f.node].where = doc_.nodes_[stack_.back().node].where;
  if (!f.item || doc_.text(f.node, "kind").empty()) return;  // kept for document()

  sink_.object(doc_, f.node);
  // The object was the last subtree added: unlink it and drop its nodes.
  Frame& parent = stack_.back();
  parent.last = f.parentLast;
  --parent.children;
  if (f.parentLast == kNone)
    doc_.nodes_[parent.node].first = kNone;
  else
    doc_.nodes_[f.parentLast].next = kNone;
  doc_.nodes_.resize(f.node);
  std::erase_if(anchors_, [&](const auto& a) { return a.second >= f.node; });
  lastAdded_ = kNone;
  aliasNodes_ = 0;
}

void TreeBuilder::anchor(uint32_t id) {
  if (lastAdded_ != kNone) anchors_[id] = lastAdded_;
}

void TreeBuilder::alias(Where where, uint32_t id) {
  auto it = anchors_.find(id);
  if (it == anchors_.end())
    throw ObjectError{where, "alias refers to an anchor outside this object (not supported)"};
  for (const Frame& f : stack_)
    if (f.node == it->second) throw ObjectError{where, "alias refers to an enclosing node"};
  const uint32_t from = it->second;
  const uint32_t root = copy(from, where);
  doc_.nodes_[root].where = where;
}

uint32_t TreeBuilder::copy(uint32_t from, Where alias) {
  if (++aliasNodes_ > kMaxAliasNodes) {
    throw ObjectError{alias, "aliases expand this object to more than " +
                                 std::to_string(kMaxAliasNodes) + " nodes"};
  }
  const Node::Type type = doc_.nodes_[from].type;
  const uint32_t idx = add(type, doc_.nodes_[from].where);
  if (type == Node::Type::Scalar) {
    std::string text = doc_.nodes_[from].text;  // copied first: add() may move the nodes
    doc_.nodes_[idx].text = std::move(text);
  } else if (type != Node::Type::Null) {
    stack_.push_back(Frame{idx});
    for (uint32_t c = doc_.nodes_[from].first; c != kNone; c = doc_.nodes_[c].next)
      copy(c, alias);
    stack_.pop_back();
  }
  return idx;
}

}  // namespace moat::plugins::kubernetes::objects
