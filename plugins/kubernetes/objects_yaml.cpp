// YAML through yaml-cpp's event API rather than YAML::Load: its node graph is what made large
// dumps slow and huge, while the events carry everything the object readers need.
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "plugins/kubernetes/objects_formats.hpp"

namespace moat::plugins::kubernetes::objects {

namespace {

Where at(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0 || m.column < 0) return kNowhere;
  return yamlWhere(static_cast<uint32_t>(m.line) + 1, static_cast<uint32_t>(m.column) + 1);
}

class Events : public YAML::EventHandler {
 public:
  explicit Events(TreeBuilder& tree) : tree_(tree) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 reports an empty document, without reading anything, for ever on a stray
    // flow ',' at the top level: a document cannot start where the last one did.
    if (started_ && mark.pos == lastStart_)
      throw ObjectError{at(mark), "invalid YAML: unexpected ',' where a document should start"};
    started_ = true;
    lastStart_ = mark.pos;
    tree_.beginDocument();
  }
  void OnDocumentEnd() override { tree_.endDocument(); }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    tree_.null(at(mark));
    named(anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    tree_.alias(at(mark), static_cast<uint32_t>(anchor));
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    tree_.scalar(at(mark), value);
    named(anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    tree_.beginSeq(at(mark));
    named(anchor);
  }
  void OnSequenceEnd() override { tree_.end(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    tree_.beginMap(at(mark));
    named(anchor);
  }
  void OnMapEnd() override { tree_.end(); }

 private:
  void named(YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) tree_.anchor(static_cast<uint32_t>(anchor));
  }
  TreeBuilder& tree_;
  bool started_ = false;
  int lastStart_ = 0;  // where the last document started (YAML::Mark::pos)
};

}  // namespace

void parseYaml(std::istream& in, ObjectSink& sink) {
  TreeBuilder tree(sink);
  Events events(tree);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(events)) {
    }
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's reason alone; e.what() repeats the (0-based) position.
    throw ObjectError{at(e.mark), "invalid YAML: " + e.msg};
  }
}

}  // namespace moat::plugins::kubernetes::objects
