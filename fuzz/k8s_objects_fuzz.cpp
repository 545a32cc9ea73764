// Fuzz target: Kubernetes objects (YAML streams or JSON, as `kubectl get -o yaml|json` writes
// them) loaded from memory into a cluster snapshot, then asked about by the kubernetes handler.
// The first byte picks the options: bit 0 feeds JSON to the streaming parser in chunks (bits 4-7
// give the chunk size) instead of in one piece, bit 1 turns on `endpoint_pod_names`, bit 2
// `pods verified` (else `pods insecure`). Every service must be found again by its name, every
// cluster IP by PTR, every external IP by its reverse index, and every answer written about the
// objects must be a message ldns reads.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/ldns.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/kubernetes/kubernetes.hpp"
#include "plugins/kubernetes/model.hpp"
#include "plugins/kubernetes/objects.hpp"
#include "plugins/kubernetes/objects_formats.hpp"
#include "plugins/kubernetes/objects_kinds.hpp"

namespace {

using namespace moat;
namespace k8s = plugins::kubernetes;

constexpr size_t kMaxQueries = 48;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

// One query to the handler; the reply (if any) must decode.
void ask(k8s::Kubernetes& handler, const std::string& name, uint16_t type, size_t& budget) {
  if (budget == 0) return;
  --budget;
  auto wire = dns::nameFromText(name);
  if (!wire) return;
  static dns::Query q;
  if (!fuzz::loadQuery(q, fuzz::makeQuery(*wire, type, dns::rrclass::IN, 0x4242, 1232))) return;
  if (handler.onQuery(q) != plugins::Verdict::Answered) return;
  FUZZ_CHECK(q.reply.size() >= dns::kHeaderSize);
  ldns_pkt* raw = nullptr;
  FUZZ_CHECK(ldns_wire2pkt(&raw, q.reply.data(), q.reply.size()) == LDNS_STATUS_OK);
  ldns_pkt_free(raw);
}

std::string dashed(const k8s::Ip& ip) {
  std::string s = ip.str();
  std::replace(s.begin(), s.end(), '.', '-');
  std::replace(s.begin(), s.end(), ':', '-');
  return s;
}

std::string reverseName(const k8s::Ip& ip) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  if (ip.family == 4) {
    for (int i = 3; i >= 0; --i) out += std::to_string(ip.bytes[static_cast<size_t>(i)]) + ".";
    return out + "in-addr.arpa.";
  }
  for (int i = 15; i >= 0; --i) {
    const uint8_t b = ip.bytes[static_cast<size_t>(i)];
    out += kHex[b & 15];
    out += '.';
    out += kHex[b >> 4];
    out += '.';
  }
  return out + "ip6.arpa.";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t pick = in.byte();
  const std::string_view text = in.rest();

  k8s::Cluster::Builder builder;
  if ((pick & 1) && !text.empty() && (text.front() == '{' || text.front() == '[')) {
    const size_t chunk = (pick >> 4) + 1u;
    size_t at = 0;
    k8s::objects::ObjectReader reader(builder);
    try {
      k8s::objects::parseJson(
          [&]() -> std::string_view {
            const std::string_view piece = text.substr(at, chunk);
            at += piece.size();
            return piece;
          },
          reader);
    } catch (const k8s::objects::ObjectError& e) {
      FUZZ_CHECK(!e.message.empty());
      return 0;
    } catch (const std::exception&) {
      return 0;
    }
  } else if (auto error = k8s::loadText(builder, text, "objects.yaml")) {
    FUZZ_CHECK(!error->message.empty());
    return 0;
  }
  const k8s::ClusterPtr cluster = builder.build(1);
  k8s::describeLoad(cluster->stats());

  k8s::KubernetesConfig config;
  config.zones = {"cluster.local.", "in-addr.arpa.", "ip6.arpa."};
  config.endpointPodNames = (pick & 2) != 0;
  config.pods = (pick & 4) ? k8s::PodMode::Verified : k8s::PodMode::Insecure;
  k8s::Kubernetes handler(config, std::make_shared<k8s::FixedSource>(cluster), 1,
                          {*k8s::Ip::parse("10.0.0.53")});

  size_t budget = kMaxQueries;
  ask(handler, "cluster.local.", dns::rrtype::NS, budget);
  ask(handler, "cluster.local.", dns::rrtype::SOA, budget);
  ask(handler, "dns-version.cluster.local.", dns::rrtype::TXT, budget);
  for (const auto& svc : cluster->services()) {
    // Names a query can spell (labels of at most 63 bytes) find their service.
    if (svc->name.size() <= 63 && svc->ns.size() <= 63)
      FUZZ_CHECK(cluster->findService(lower(svc->ns), lower(svc->name)) != nullptr);
    FUZZ_CHECK(cluster->hasNamespace(lower(svc->ns)));
    const std::string name = svc->name + "." + svc->ns + ".svc.cluster.local.";
    ask(handler, name, dns::rrtype::A, budget);
    ask(handler, name, dns::rrtype::AAAA, budget);
    ask(handler, name, dns::rrtype::SRV, budget);
    for (const k8s::Port& p : svc->ports) {
      ask(handler, "_" + p.name + "._" + p.protocol + "." + name, dns::rrtype::SRV, budget);
    }
    for (const k8s::Ip& ip : svc->clusterIPs) {
      auto again = k8s::Ip::parse(ip.str());
      FUZZ_CHECK(again.has_value() && *again == ip);
      if (svc->kind == k8s::ServiceKind::ClusterIP) FUZZ_CHECK(!cluster->reverse(ip).empty());
      ask(handler, reverseName(ip), dns::rrtype::PTR, budget);
      ask(handler, dashed(ip) + "." + svc->ns + ".pod.cluster.local.", dns::rrtype::A, budget);
    }
    // k8s_external's addresses: an IP is found again by its reverse index, a hostname is set.
    for (const k8s::ExternalAddress& e : svc->external) {
      if (!e.hostname.empty()) continue;
      const auto owners = cluster->externalReverse(e.ip);
      FUZZ_CHECK(std::find(owners.begin(), owners.end(), svc.get()) != owners.end());
    }
    for (const k8s::EndpointSet& set : svc->endpoints) {
      for (const k8s::EndpointAddress& a : set.addresses) {
        ask(handler, a.label(config.endpointPodNames) + "." + name, dns::rrtype::A, budget);
        ask(handler, reverseName(a.ip), dns::rrtype::PTR, budget);
      }
    }
    if (budget == 0) break;
  }
  return 0;
}
