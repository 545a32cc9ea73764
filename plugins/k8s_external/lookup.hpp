// Name -> entries for k8s_external, as CoreDNS's kubernetes plugin computes them for it
// (External, ExternalReverse, nsAddrs with external set): read from the kubernetes plugin's
// published snapshot through ExternalView, into per-worker storage, without allocating once warm.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/kubernetes/external.hpp"
#include "plugins/kubernetes/model.hpp"
#include "plugins/kubernetes/records.hpp"

namespace moat::plugins::k8s_external {

using kubernetes::ExternalView;
using kubernetes::Ip;

// One address (with a port) a name stands for, like CoreDNS's msg.Service.
struct Entry {
  Ip ip;
  const std::string* host = nullptr;  // a load balancer hostname: answered as a CNAME
  int32_t port = -1;                  // -1: the object has no ports (no SRV from it)
  const kubernetes::Service* service = nullptr;
  // The endpoint of a headless service (its label leads the SRV target); null for an
  // external address, whose target is service.namespace.ZONE.
  const kubernetes::EndpointAddress* address = nullptr;
};

enum class Found : uint8_t { Ok, NameError };

// Per-worker storage for one query at a time.
struct Scratch {
  std::vector<Entry> entries;
  std::vector<Ip> addresses;  // ns1 addresses
  kubernetes::SeenSet seen;
  std::array<uint8_t, 255> chase{};  // a load balancer hostname to resolve (wire)
  size_t chaseLen = 0;
};

// CoreDNS External: the entries of `lowerName` below a zone of `zoneLen` bytes (not the apex).
// Ok with no entries: the name exists (a namespace) but holds nothing.
Found lookup(const ExternalView& v, std::span<const uint8_t> lowerName, size_t zoneLen,
             bool headless, std::vector<Entry>& out);

// CoreDNS ExternalReverse: the services with `ip` among their external addresses, in exposed
// namespaces when `namespaces` restricts them.
Found lookupReverse(const ExternalView& v, const Ip& ip, std::vector<Entry>& out);

// CoreDNS nsAddrs(external): the external addresses of the services whose endpoints hold this
// host's addresses (the endpoints themselves for a headless one, with `headless`), else this
// host's addresses. Each address once.
void nameServerAddresses(const ExternalView& v, bool headless, std::vector<Ip>& out);

// CoreDNS stripUnderscore: "_http" -> "http"; "_" -> "" (which then matches any port).
std::string_view stripUnderscore(std::string_view label);

}  // namespace moat::plugins::k8s_external
