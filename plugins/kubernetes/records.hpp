// Answer building for the kubernetes plugin, following CoreDNS's kubernetes.go (Records,
// findServices, findPods), ns.go, reverse.go and plugin/backend_lookup.go: a lookup turns a
// name into entries (address + port + where its name comes from, like CoreDNS's msg.Service),
// then one function per query type writes RRs from them straight into the reply.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/kubernetes/config.hpp"
#include "plugins/kubernetes/model.hpp"
#include "plugins/kubernetes/names.hpp"

namespace moat::plugins::kubernetes {

// What the handler fixes at setup that shapes every answer.
struct Options {
  uint32_t ttl = 5;
  PodMode pods = PodMode::Disabled;
  bool endpointPodNames = false;
  bool noEndpoints = false;
  bool ignoreEmptyService = false;
  bool zonal = false;
  std::vector<std::string> namespaces;  // lowercase; empty: every namespace
  dns::WireName primaryZone;            // lowercase wire; PTR targets live under it
  std::vector<Ip> localIps;             // this host's non-loopback addresses (NS answers)

  bool namespaceConfigured(std::string_view ns) const;
};

// Where an entry's name comes from when it needs one (SRV and NS targets).
enum class EntryKind : uint8_t {
  Service,    // service.ns.svc.zone
  Endpoint,   // label.service.ns.svc.zone
  Pod,        // dashed-ip.ns.pod.zone, from the query itself
  DefaultNs,  // ns.dns.zone
  External,   // ExternalName: a CNAME to service->externalName, no address
};

struct Entry {
  Ip ip;
  EntryKind kind = EntryKind::Service;
  int32_t port = -1;  // -1: the object has no ports (CoreDNS's sentinel; no SRV from it)
  const Service* service = nullptr;
  const EndpointAddress* address = nullptr;
};

// Open-addressing set of entry indices, reused so deduplication does not allocate once warm.
class SeenSet {
 public:
  void reset(size_t expected);
  // True when an item equal to `id` (as `same(otherId)` decides) was added before; else adds it.
  template <class Same>
  bool seen(uint64_t hash, uint32_t id, Same&& same) {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == 0) {
        slots_[i] = id + 1;
        return false;
      }
      if (same(slots_[i] - 1)) return true;
    }
  }

 private:
  std::vector<uint32_t> slots_;
  size_t mask_ = 0;
};

// Per-worker storage for one query at a time.
struct Scratch {
  std::vector<Entry> entries;
  SeenSet seen;
  std::array<uint8_t, 255> chase{};  // an ExternalName target outside the zone (Answer::chase)
  size_t chaseLen = 0;
};

// One query's view: options, snapshot and the zone it matched.
struct Lookup {
  const Options& opt;
  const Cluster& cluster;
  std::span<const uint8_t> zoneLower;  // matched zone, lowercase wire
  std::span<const uint8_t> zoneAsked;  // the same labels as the client spelled them
  bool multicluster = false;
  Scratch& scratch;
};

enum class Status : uint8_t { Ok, NameError };

// The name being answered: lowercased for matching, as asked for owners.
struct QueryName {
  std::span<const uint8_t> lower;
  std::span<const uint8_t> asked;
};

// --- lookups (records_lookup.cpp)

// CoreDNS Records(): entries for a service, endpoint or pod name; NameError when it does not
// exist. `req` receives the parsed name (its views point into `lowerName`).
Status records(const Lookup& lk, std::span<const uint8_t> lowerName, Request& req,
               std::vector<Entry>& out);
// CoreDNS Services() for every type but TXT and NS: ns.dns.<zone> first, then records().
Status services(const Lookup& lk, std::span<const uint8_t> lowerName, uint16_t qtype,
                Request& req, std::vector<Entry>& out);
// CoreDNS nsAddrs(): the services whose endpoints hold this host's addresses, else the host's
// addresses under ns.dns.<zone>.
void nsAddresses(const Lookup& lk, std::vector<Entry>& out);

// --- names (records_names.cpp)

// A wire name assembled on the stack; fails (ok() false) rather than exceed 255 bytes.
class NameBuilder {
 public:
  void label(std::string_view text);
  void text(std::string_view dotted);  // "a.b.c" or "a.b.c.": one label per dot-separated part
  void zone(std::span<const uint8_t> wire);  // a whole wire name, root label included: ends it
  bool ok() const { return ok_ && done_; }
  std::span<const uint8_t> wire() const { return {buf_.data(), len_}; }

 private:
  std::array<uint8_t, dns::kMaxNameLen> buf_{};
  size_t len_ = 0;
  bool ok_ = true;
  bool done_ = false;
};

// The DNS label of an endpoint address (hostname, pod name or dashed IP), into `buf`.
std::string_view endpointLabel(const EndpointAddress& a, bool podNames, std::array<char, 64>& buf);
// SRV/NS target of an entry: object names as stored under the zone as the client spelled it.
void targetName(const Lookup& lk, const Entry& e, const Request& req, NameBuilder& out);
// An ExternalName's CNAME target, spelled as stored and made fully qualified.
void externalTarget(const Service& svc, NameBuilder& out);
// Whether two entries have the same target name, and a hash consistent with it.
bool sameTarget(const Lookup& lk, const Entry& a, const Entry& b);
uint64_t targetHash(const Lookup& lk, const Entry& e);
uint64_t hashBytes(std::span<const uint8_t> bytes, uint64_t seed = 1469598103934665603ull);

// --- answers (records_answer.cpp, records_special.cpp). Each writes answer (and additional)
// RRs after the header the caller started; `count` is how many answer RRs it wrote, 0 meaning
// NODATA. On NameError nothing useful was written.
struct Answer {
  Status status = Status::Ok;
  size_t count = 0;
  // The CNAME chain left the cluster zone: its last target (in Scratch::chase) is to be
  // resolved through the whole server and appended, as CoreDNS's upstream.Lookup does.
  bool chase = false;
};

Answer answerAddress(const Lookup& lk, QueryName name, uint16_t qtype, dns::MessageWriter& w);
Answer answerSrv(const Lookup& lk, QueryName name, dns::MessageWriter& w);
Answer answerTxt(const Lookup& lk, QueryName name, dns::MessageWriter& w);
Answer answerCname(const Lookup& lk, QueryName name, dns::MessageWriter& w);
Answer answerPtr(const Lookup& lk, QueryName name, dns::MessageWriter& w);
Answer answerNs(const Lookup& lk, QueryName name, dns::MessageWriter& w);  // at the apex
// MX and every type without records here: only whether the name exists (CoreDNS's hidden A).
Answer answerExistence(const Lookup& lk, QueryName name);
// The zone's SOA (owner and names in the client's spelling of the zone).
void addSoa(const Lookup& lk, dns::Section section, dns::MessageWriter& w);

}  // namespace moat::plugins::kubernetes
