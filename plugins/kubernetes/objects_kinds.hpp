// Turns object trees into model objects: Service, EndpointSlice, Endpoints, Pod and Namespace
// go to the builder; every other kind is counted as skipped. Fields a DNS answer depends on are
// checked (an invalid IP or port is an error at its position, not a silently missing record).
#pragma once

#include "plugins/kubernetes/model.hpp"
#include "plugins/kubernetes/objects_tree.hpp"

namespace moat::plugins::kubernetes::objects {

class ObjectReader : public ObjectSink {
 public:
  explicit ObjectReader(Cluster::Builder& builder) : builder_(builder) {}

  void object(const Doc& doc, uint32_t node) override { read(doc, node, {}); }
  // A List (kind "List" or "<Kind>List", whose items may omit their kind), a top-level
  // sequence of objects, or one object. An empty document is nothing.
  void document(const Doc& doc, uint32_t root) override;

 private:
  void read(const Doc& doc, uint32_t node, std::string_view kindOfList);
  void readItems(const Doc& doc, uint32_t items, std::string_view kindOfList);
  void service(const Doc& doc, uint32_t node);
  void endpointSlice(const Doc& doc, uint32_t node);
  void endpoints(const Doc& doc, uint32_t node);
  void pod(const Doc& doc, uint32_t node);
  void ns(const Doc& doc, uint32_t node);

  Cluster::Builder& builder_;
};

}  // namespace moat::plugins::kubernetes::objects
