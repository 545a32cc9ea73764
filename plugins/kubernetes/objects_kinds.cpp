#include "plugins/kubernetes/objects_kinds.hpp"

#include <charconv>
#include <string>

namespace moat::plugins::kubernetes::objects {

namespace {

using Type = Node::Type;

// Reads the fields of one object; every error names the object and the field's path.
class Fields {
 public:
  Fields(const Doc& doc, std::string context) : doc_(doc), context_(std::move(context)) {}

  [[noreturn]] void fail(uint32_t node, std::string_view path, std::string_view why) const {
    throw ObjectError{doc_[node].where,
                      context_ + ": " + std::string(path) + ": " + std::string(why)};
  }

  // map[key] if present and not null; else kNone. `type` checked.
  uint32_t get(uint32_t map, std::string_view key, Type type, std::string_view path) const {
    const uint32_t v = doc_.field(map, key);
    if (v == kNone || doc_[v].type == Type::Null) return kNone;
    if (doc_[v].type != type)
      fail(v, path,
           type == Type::Map   ? "expected a mapping"
           : type == Type::Seq ? "expected a list"
                               : "expected a scalar");
    return v;
  }

  std::string_view str(uint32_t map, std::string_view key, std::string_view path) const {
    const uint32_t v = get(map, key, Type::Scalar, path);
    return v == kNone ? std::string_view{} : std::string_view(doc_[v].text);
  }

  bool boolean(uint32_t map, std::string_view key, bool absent, std::string_view path) const {
    const uint32_t v = get(map, key, Type::Scalar, path);
    if (v == kNone) return absent;
    // YAML 1.1 spellings too: Kubernetes reads YAML with go-yaml, which accepts them.
    const std::string& t = doc_[v].text;
    for (const char* yes : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
      if (t == yes) return true;
    for (const char* no : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
      if (t == no) return false;
    fail(v, path, "expected true or false, got '" + t + "'");
  }

  Ip ip(uint32_t node, std::string_view path) const {
    if (doc_[node].type != Type::Scalar) fail(node, path, "expected an IP address");
    auto ip = Ip::parse(doc_[node].text);
    if (!ip) fail(node, path, "'" + doc_[node].text + "' is not an IP address");
    return *ip;
  }

  // ports[] of a Service, an EndpointSlice or an Endpoints subset. `needPort`: a slice's port
  // may be null ("all ports"), which gives DNS nothing to name, so it is left out.
  std::vector<Port> ports(uint32_t map, std::string_view path, bool needPort) const {
    std::vector<Port> out;
    const uint32_t list = get(map, "ports", Type::Seq, path);
    if (list == kNone) return out;
    for (uint32_t p = doc_[list].first; p != kNone; p = doc_[p].next) {
      if (doc_[p].type != Type::Map) fail(p, path, "expected a mapping");
      const uint32_t number = get(p, "port", Type::Scalar, "port");
      if (number == kNone) {
        if (needPort) fail(p, "port", "missing");
        continue;
      }
      Port port;
      port.name = str(p, "name", "name");
      port.protocol = str(p, "protocol", "protocol");
      if (port.protocol.empty()) port.protocol = "tcp";
      for (char& c : port.protocol)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      const std::string& t = doc_[number].text;
      unsigned value = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
      if (ec != std::errc{} || end != t.data() + t.size() || value == 0 || value > 65535)
        fail(number, "port", "expected a port number 1-65535, got '" + t + "'");
      port.port = static_cast<uint16_t>(value);
      out.push_back(std::move(port));
    }
    return out;
  }

  template <class F>
  void each(uint32_t list, F&& f) const {
    if (list == kNone) return;
    for (uint32_t i = doc_[list].first; i != kNone; i = doc_[i].next) f(i);
  }

  const Doc& doc() const { return doc_; }

 private:
  const Doc& doc_;
  std::string context_;
};

struct Meta {
  std::string_view name, ns;
};

Meta meta(const Doc& doc, uint32_t node, std::string_view kind, bool namespaced) {
  Fields f(doc, std::string(kind));
  const uint32_t m = f.get(node, "metadata", Type::Map, "metadata");
  if (m == kNone) f.fail(node, "metadata", "missing");
  Meta out{f.str(m, "name", "metadata.name"),
           namespaced ? f.str(m, "namespace", "metadata.namespace") : ""};
  if (out.name.empty()) f.fail(m, "metadata.name", "missing");
  if (namespaced && out.ns.empty()) out.ns = "default";  // as kubectl apply would place it
  return out;
}

std::string context(std::string_view kind, const Meta& m) {
  return std::string(kind) + " " + std::string(m.ns) + "/" + std::string(m.name);
}

// What k8s_external answers for a Service: spec.externalIPs, then each load balancer ingress's
// ip, or its hostname when it has no ip (CoreDNS's order). The API server only accepts IPs in
// externalIPs, so anything else there is an error at its place.
void externalAddresses(const Fields& f, uint32_t node, uint32_t spec, Service& svc) {
  f.each(f.get(spec, "externalIPs", Type::Seq, "spec.externalIPs"), [&](uint32_t v) {
    svc.external.push_back(ExternalAddress{f.ip(v, "spec.externalIPs[]"), {}});
  });
  const uint32_t status = f.get(node, "status", Type::Map, "status");
  const uint32_t lb = f.get(status, "loadBalancer", Type::Map, "status.loadBalancer");
  f.each(f.get(lb, "ingress", Type::Seq, "status.loadBalancer.ingress"), [&](uint32_t e) {
    if (f.doc()[e].type != Type::Map) f.fail(e, "status.loadBalancer.ingress[]", "expected a mapping");
    const uint32_t ip = f.get(e, "ip", Type::Scalar, "status.loadBalancer.ingress[].ip");
    if (ip != kNone && !f.doc()[ip].text.empty()) {
      svc.external.push_back(ExternalAddress{f.ip(ip, "status.loadBalancer.ingress[].ip"), {}});
      return;
    }
    const std::string_view host = f.str(e, "hostname", "status.loadBalancer.ingress[].hostname");
    if (!host.empty()) svc.external.push_back(ExternalAddress{Ip{}, std::string(host)});
  });
}

}  // namespace

void ObjectReader::document(const Doc& doc, uint32_t root) {
  switch (doc[root].type) {
    case Type::Null:
      return;  // an empty document, e.g. a trailing "---"
    case Type::Seq:
      readItems(doc, root, {});
      return;
    case Type::Map:
      if (doc[root].first == kNone) return;  // "{}": nothing
      read(doc, root, {});
      return;
    case Type::Scalar:
      throw ObjectError{doc[root].where, "expected a Kubernetes object or a List, got a scalar"};
  }
}

void ObjectReader::readItems(const Doc& doc, uint32_t items, std::string_view kindOfList) {
  for (uint32_t i = doc[items].first; i != kNone; i = doc[i].next) read(doc, i, kindOfList);
}

void ObjectReader::read(const Doc& doc, uint32_t node, std::string_view kindOfList) {
  if (doc[node].type != Type::Map)
    throw ObjectError{doc[node].where, "expected a Kubernetes object (a mapping)"};
  std::string_view kind = doc.text(node, "kind");
  if (kind.empty()) kind = kindOfList;
  // A List, or the typed list the API returns (ServiceList: items carry no kind of their own).
  const uint32_t items = doc.field(node, "items");
  if ((kind.empty() || kind.ends_with("List")) && items != kNone && doc[items].type != Type::Map) {
    if (doc[items].type == Type::Seq)
      readItems(doc, items, kind.substr(0, kind.size() - std::min<size_t>(kind.size(), 4)));
    else if (doc[items].type != Type::Null)
      throw ObjectError{doc[items].where, "items: expected a list"};
    return;
  }
  if (kind.empty()) throw ObjectError{doc[node].where, "object has no kind"};
  if (kind == "Service") return service(doc, node);
  if (kind == "EndpointSlice") return endpointSlice(doc, node);
  if (kind == "Endpoints") return endpoints(doc, node);
  if (kind == "Pod") return pod(doc, node);
  if (kind == "Namespace") return ns(doc, node);
  builder_.countSkipped();
}

void ObjectReader::service(const Doc& doc, uint32_t node) {
  const Meta m = meta(doc, node, "Service", true);
  Fields f(doc, context("Service", m));
  Service svc;
  svc.name = m.name;
  svc.ns = m.ns;
  const uint32_t spec = f.get(node, "spec", Type::Map, "spec");
  if (spec != kNone) {
    const std::string_view type = f.str(spec, "type", "spec.type");
    bool headless = false;
    auto clusterIp = [&](uint32_t v, std::string_view path) {
      const std::string& t = doc[v].text;
      if (doc[v].type == Type::Scalar && t == "None")
        headless = true;
      else if (doc[v].type != Type::Null && !t.empty())
        svc.clusterIPs.push_back(f.ip(v, path));
    };
    // clusterIPs (dual stack, primary first) supersedes clusterIP, which repeats its first entry.
    const uint32_t ips = f.get(spec, "clusterIPs", Type::Seq, "spec.clusterIPs");
    if (ips != kNone && doc[ips].first != kNone) {
      f.each(ips, [&](uint32_t v) { clusterIp(v, "spec.clusterIPs"); });
    } else if (const uint32_t one = f.get(spec, "clusterIP", Type::Scalar, "spec.clusterIP");
               one != kNone) {
      clusterIp(one, "spec.clusterIP");
    }
    // spec.ipFamilies only restates the families of clusterIPs; DNS answers by the IPs.
    svc.externalName = f.str(spec, "externalName", "spec.externalName");
    svc.ports = f.ports(spec, "spec.ports", true);
    svc.publishNotReadyAddresses =
        f.boolean(spec, "publishNotReadyAddresses", false, "spec.publishNotReadyAddresses");
    if (type == "ExternalName") {
      svc.kind = ServiceKind::ExternalName;
      svc.clusterIPs.clear();
      if (svc.externalName.empty())
        f.fail(spec, "spec.externalName", "missing for type ExternalName");
    } else if (headless) {
      svc.kind = ServiceKind::Headless;
      svc.clusterIPs.clear();
    }
  }
  externalAddresses(f, node, spec, svc);
  builder_.addService(std::move(svc));
}

void ObjectReader::endpointSlice(const Doc& doc, uint32_t node) {
  const Meta m = meta(doc, node, "EndpointSlice", true);
  Fields f(doc, context("EndpointSlice", m));
  const uint32_t labels =
      f.get(doc.field(node, "metadata"), "labels", Type::Map, "metadata.labels");
  const std::string_view service = f.str(labels, "kubernetes.io/service-name", "metadata.labels");
  const std::string_view addressType = f.str(node, "addressType", "addressType");
  // FQDN slices and slices owned by no Service give DNS nothing.
  if (service.empty() || (addressType != "IPv4" && addressType != "IPv6")) {
    builder_.countSkipped();
    return;
  }
  EndpointSet set;
  f.each(f.get(node, "endpoints", Type::Seq, "endpoints"), [&](uint32_t e) {
    if (doc[e].type != Type::Map) f.fail(e, "endpoints[]", "expected a mapping");
    EndpointAddress proto;
    proto.hostname = f.str(e, "hostname", "endpoints[].hostname");
    const uint32_t cond = f.get(e, "conditions", Type::Map, "endpoints[].conditions");
    proto.ready = f.boolean(cond, "ready", true, "endpoints[].conditions.ready");  // null: ready
    const uint32_t ref = f.get(e, "targetRef", Type::Map, "endpoints[].targetRef");
    proto.targetPodName = f.str(ref, "name", "endpoints[].targetRef.name");
    f.each(f.get(e, "addresses", Type::Seq, "endpoints[].addresses"), [&](uint32_t a) {
      EndpointAddress addr = proto;
      addr.ip = f.ip(a, "endpoints[].addresses[]");
      set.addresses.push_back(std::move(addr));
    });
  });
  set.ports = f.ports(node, "ports", false);
  builder_.addEndpoints(m.ns, service, std::move(set));
}

void ObjectReader::endpoints(const Doc& doc, uint32_t node) {
  const Meta m = meta(doc, node, "Endpoints", true);
  Fields f(doc, context("Endpoints", m));
  f.each(f.get(node, "subsets", Type::Seq, "subsets"), [&](uint32_t s) {
    if (doc[s].type != Type::Map) f.fail(s, "subsets[]", "expected a mapping");
    EndpointSet set;
    auto addresses = [&](std::string_view key, bool ready) {
      const std::string path = "subsets[]." + std::string(key) + "[]";
      f.each(f.get(s, key, Type::Seq, path), [&](uint32_t a) {
        if (doc[a].type != Type::Map) f.fail(a, path, "expected a mapping");
        const uint32_t ip = f.get(a, "ip", Type::Scalar, path + ".ip");
        if (ip == kNone) f.fail(a, path + ".ip", "missing");
        EndpointAddress addr;
        addr.ip = f.ip(ip, path + ".ip");
        addr.hostname = f.str(a, "hostname", path + ".hostname");
        addr.ready = ready;
        const uint32_t ref = f.get(a, "targetRef", Type::Map, path + ".targetRef");
        addr.targetPodName = f.str(ref, "name", path + ".targetRef.name");
        set.addresses.push_back(std::move(addr));
      });
    };
    addresses("addresses", true);
    addresses("notReadyAddresses", false);
    set.ports = f.ports(s, "subsets[].ports", true);
    builder_.addCoreEndpoints(m.ns, m.name, std::move(set));
  });
}

void ObjectReader::pod(const Doc& doc, uint32_t node) {
  const Meta m = meta(doc, node, "Pod", true);
  Fields f(doc, context("Pod", m));
  Pod p;
  p.name = m.name;
  p.ns = m.ns;
  const uint32_t status = f.get(node, "status", Type::Map, "status");
  f.each(f.get(status, "podIPs", Type::Seq, "status.podIPs"), [&](uint32_t e) {
    const uint32_t ip = f.get(e, "ip", Type::Scalar, "status.podIPs[].ip");
    if (ip != kNone) p.ips.push_back(f.ip(ip, "status.podIPs[].ip"));
  });
  if (p.ips.empty()) {  // older objects: podIP only
    const uint32_t ip = f.get(status, "podIP", Type::Scalar, "status.podIP");
    if (ip != kNone && !doc[ip].text.empty()) p.ips.push_back(f.ip(ip, "status.podIP"));
  }
  builder_.addPod(std::move(p));
}

void ObjectReader::ns(const Doc& doc, uint32_t node) {
  builder_.addNamespace(meta(doc, node, "Namespace", false).name);
}

}  // namespace moat::plugins::kubernetes::objects
