// The query-name grammar under a cluster zone, as CoreDNS's parse.go reads it:
//   service.ns.svc.zone            endpoint.service.ns.svc.zone
//   _port._proto.service.ns.svc.zone (underscores optional; in a multicluster zone two plain
//                                     labels are endpoint.cluster instead)
//   topozone.pin|prefer._zone.service.ns.svc.zone (with `zonal`)
//   ip-dashed.ns.pod.zone           ns.svc.zone, ns.pod.zone, svc.zone, pod.zone, the apex
// plus the special names dns-version.zone and ns.dns.zone, and reverse (PTR) names. Everything
// is read from the lowercased wire name in place: parts are views into it, nothing allocates.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "plugins/kubernetes/model.hpp"

namespace moat::plugins::kubernetes {

// The labels of a wire name left of its zone, addressable left to right.
class Labels {
 public:
  // `name` is an uncompressed wire name whose last `zoneLen` bytes are the zone.
  Labels(std::span<const uint8_t> name, size_t zoneLen);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::string_view operator[](size_t i) const;

 private:
  std::span<const uint8_t> name_;
  std::array<uint8_t, 128> offsets_{};  // a 255-byte name has at most 127 labels
  size_t count_ = 0;
};

enum class Area : uint8_t {
  None,  // the apex, svc.zone or pod.zone: exists, holds no records of its own
  Svc,
  Pod,
};

// CoreDNS's recordRequest. Empty views are wildcards (port, protocol) or absent parts.
struct Request {
  Area area = Area::None;
  std::string_view ns;
  std::string_view service;   // for pods: the dashed IP label
  std::string_view endpoint;
  std::string_view port;      // underscore stripped
  std::string_view protocol;  // underscore stripped
  std::string_view cluster;   // multicluster endpoint names only
  bool zoned = false;         // topozone.pin|prefer._zone.… (the topology zone is never empty)
  bool zonePrefer = false;    // `prefer`: an empty zone falls back to every endpoint
};

// False for a name CoreDNS calls an invalid request (NXDOMAIN): a first label left of the
// zone other than svc/pod, or too many labels.
bool parseRequest(std::span<const uint8_t> lowerName, size_t zoneLen, bool multicluster,
                  bool zonal, Request& out);

// dns-version.<zone>: the schema TXT record.
bool isDnsVersion(std::span<const uint8_t> lowerName, size_t zoneLen);
// ns.dns.<zone>: the name CoreDNS gives itself in NS answers.
bool isDefaultNs(std::span<const uint8_t> lowerName, size_t zoneLen);

// dnsutil.IsReverse: 1 below in-addr.arpa., 2 below ip6.arpa., else 0.
int reverseKind(std::span<const uint8_t> lowerName);
// dnsutil.ExtractAddressFromReverse: the address a full reverse name stands for (an IPv4-mapped
// IPv6 address comes back as IPv4, as Go prints it), nullopt for partial or malformed names.
std::optional<Ip> addressFromReverse(std::span<const uint8_t> lowerName);

// The address a pod label spells (`pods insecure`): three dashes and no "--" is IPv4, anything
// else is read as IPv6 with dashes for colons. IPv4-mapped IPv6 counts as IPv4, as in Go.
std::optional<Ip> podAddress(std::string_view label);

// Parses IP text without allocating; IPv4-mapped IPv6 stays IPv6 (callers decide).
std::optional<Ip> parseIp(std::string_view text);

bool equalFold(std::string_view a, std::string_view b);

}  // namespace moat::plugins::kubernetes
