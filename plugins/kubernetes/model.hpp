// The cluster as the kubernetes plugin sees it: an immutable snapshot built from Kubernetes
// objects (Service, EndpointSlice, Endpoints, Pod, Namespace). Names keep their stored
// spelling for answers; lookups use lowercased keys. Loaders (objects/) build it; the handler
// (records) only reads it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moat::plugins::kubernetes {

struct Ip {
  uint8_t family = 4;                // 4 or 6
  std::array<uint8_t, 16> bytes{};   // v4 uses the first 4
  std::span<const uint8_t> wire() const { return {bytes.data(), family == 4 ? 4u : 16u}; }
  bool operator==(const Ip&) const = default;
  auto operator<=>(const Ip&) const = default;  // family first, then bytes: sorted pod IP lists
  static std::optional<Ip> parse(std::string_view text);  // "10.0.0.1", "fd00::1"
  std::string str() const;
};

struct Port {
  std::string name;       // may be empty (unnamed ports give no SRV by name)
  std::string protocol;   // lowercase: "tcp", "udp", "sctp"
  uint16_t port = 0;
};

// Raw fields as the objects carry them; the DNS label is derived by label(), so one snapshot
// serves handlers with and without `endpoint_pod_names`.
struct EndpointAddress {
  Ip ip;
  std::string hostname;       // endpoint hostname, if set
  // targetRef.name, whatever targetRef.kind says: CoreDNS does not look at the kind either
  // (controllers only ever point at Pods).
  std::string targetPodName;
  bool ready = true;          // absent "ready" condition counts as ready

  // The label CoreDNS uses for this address in endpoint names, SRV targets and PTR answers:
  // the hostname; else, with `endpoint_pod_names`, the pod name if it fits a label (< 64);
  // else the IP with '.'/':' turned into '-' (a trailing '-' gets a '0': "fd00--0").
  std::string label(bool endpointPodNames) const;
};

// One EndpointSlice, or one subset of a core/v1 Endpoints object.
struct EndpointSet {
  std::vector<EndpointAddress> addresses;
  std::vector<Port> ports;
};

enum class ServiceKind : uint8_t { ClusterIP, Headless, ExternalName };

// An address the service is reached by from outside the cluster (what k8s_external answers):
// spec.externalIPs, then status.loadBalancer.ingress[] (its ip, else its hostname), in that
// order, as CoreDNS collects them. A hostname is answered as a CNAME.
struct ExternalAddress {
  Ip ip;
  std::string hostname;  // set: a load balancer known by name only; `ip` is then unset
};

struct Service {
  std::string name;       // stored spelling
  std::string ns;
  ServiceKind kind = ServiceKind::ClusterIP;
  std::vector<Ip> clusterIPs;      // ClusterIP kind: one per family (dual stack: two)
  std::string externalName;        // ExternalName kind
  std::vector<Port> ports;
  std::vector<EndpointSet> endpoints;
  std::vector<ExternalAddress> external;  // k8s_external's addresses (model_external.cpp)
  // As the endpoint controllers do, build() marks every address of such a service ready, so
  // hand-written fixtures behave like a live cluster's objects.
  bool publishNotReadyAddresses = false;
};

struct Pod {
  std::string name;
  std::string ns;
  std::vector<Ip> ips;
};

// What a reverse (PTR) lookup of one IP finds. Per IP, entries for cluster IPs come first (in
// service order), then one per ready endpoint address with that IP (a service may appear more
// than once: CoreDNS answers one PTR per such address; dedupe identical targets when answering).
// CoreDNS answers only the first cluster-IP entry in an exposed namespace when there is one,
// else every endpoint entry in an exposed namespace. (CoreDNS would also answer for slices whose
// Service object is missing; here such endpoints are dropped at build.)
struct ReverseEntry {
  const Service* service = nullptr;
  // Empty: the IP is the service's cluster IP. Else address->label(false), i.e. what CoreDNS
  // answers without `endpoint_pod_names`; with it, use address->label(true).
  std::string hostname;
  const EndpointAddress* address = nullptr;  // the endpoint address; null for a cluster IP
};

// Counts reported after each load (and logged). services, pods, namespaces: what the snapshot
// holds (duplicates merged, namespaces including implied ones); endpointSlices: EndpointSets
// attached to a service (one per EndpointSlice or per Endpoints subset); endpoints: addresses in
// them (ready or not); skipped: objects of other kinds, or that give DNS nothing (FQDN slices,
// slices without a service label).
struct LoadStats {
  size_t services = 0, endpointSlices = 0, endpoints = 0, pods = 0, namespaces = 0, skipped = 0;
};

struct IpHash {
  size_t operator()(const Ip& ip) const noexcept;
};

class Cluster {
 public:
  // Lowercased keys. Lookups never allocate (heterogeneous string_view keys). A namespace
  // exists if a Namespace object names it or a Service or Pod lives in it.
  const Service* findService(std::string_view nsLower, std::string_view nameLower) const;
  bool hasNamespace(std::string_view nsLower) const;
  std::span<const ReverseEntry> reverse(const Ip& ip) const;
  bool hasPod(std::string_view nsLower, const Ip& ip) const;
  // The lowercased namespace of a pod with this IP (the first listed when several share it, as
  // hostNetwork pods do), empty when none has it: the client's namespace for autopath.
  std::string_view podNamespace(const Ip& ip) const;
  // The services with `ip` among their external addresses, in service order (k8s_external's
  // PTR answers). Empty span when none.
  std::span<const Service* const> externalReverse(const Ip& ip) const;

  // Sorted by lowercased (namespace, name); a later object with the same key replaces earlier
  // ones.
  const std::vector<std::unique_ptr<Service>>& services() const { return services_; }
  const LoadStats& stats() const { return stats_; }
  uint32_t serial() const { return serial_; }  // SOA serial: when this snapshot was built (unix time)

  // Building (loaders only).
  class Builder;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::unique_ptr<Service>> services_;
  std::unordered_map<std::string, const Service*, StringHash, std::equal_to<>> byKey_;  // "name.ns"
  // Value true: named by a Namespace object; false: implied by a Service or Pod in it.
  std::unordered_map<std::string, bool, StringHash, std::equal_to<>> namespaces_;
  std::unordered_map<Ip, std::vector<ReverseEntry>, IpHash> reverse_;
  // Sorted and deduplicated per namespace: hasPod() is a binary search.
  std::unordered_map<std::string, std::vector<Ip>, StringHash, std::equal_to<>> podIpsByNs_;
  std::unordered_map<Ip, std::string, IpHash> podNsByIp_;  // podNamespace()
  std::unordered_map<Ip, std::vector<const Service*>, IpHash> externalReverse_;
  void indexExternal();  // fills externalReverse_ (model_external.cpp)
  LoadStats stats_;
  uint32_t serial_ = 0;
};

using ClusterPtr = std::shared_ptr<const Cluster>;

// Collects objects in any order (an EndpointSlice may come before its Service) and indexes them
// once. Tests build fixture clusters with it directly.
class Cluster::Builder {
 public:
  void addService(Service service);
  // Endpoints of the service `serviceName` in `ns` (EndpointSlice label kubernetes.io/service-name,
  // or the Endpoints object's own name). Endpoints for an unknown service are dropped at build.
  void addEndpoints(std::string_view ns, std::string_view serviceName, EndpointSet set);
  // A subset of a core/v1 Endpoints object: used only for a service that has no EndpointSlice,
  // since dumps often hold both kinds for the same addresses (CoreDNS reads slices only).
  void addCoreEndpoints(std::string_view ns, std::string_view serviceName, EndpointSet set);
  void addPod(Pod pod);
  void addNamespace(std::string_view name);
  void countSkipped() { ++stats_.skipped; }
  ClusterPtr build(uint32_t serial);

 private:
  std::vector<Service> services_;
  std::vector<std::pair<std::string, EndpointSet>> endpoints_;  // key "name.ns" lowercased
  std::vector<std::pair<std::string, EndpointSet>> coreEndpoints_;  // likewise
  std::vector<Pod> pods_;
  std::vector<std::string> namespaces_;
  LoadStats stats_;
};

}  // namespace moat::plugins::kubernetes
