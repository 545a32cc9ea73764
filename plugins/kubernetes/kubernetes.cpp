#include "plugins/kubernetes/kubernetes.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "dns/message.hpp"
#include "plugins/kubernetes/store.hpp"
#include "plugins/resolv_search.hpp"

namespace moat::plugins::kubernetes {

namespace {

// The objects store as a ClusterSource: the store keeps its own interface, the handler only
// needs these two calls.
class StoreSource final : public ClusterSource {
 public:
  StoreSource(std::vector<std::string> paths, size_t workers)
      : store_(std::move(paths), workers) {}
  const Cluster* current(unsigned worker) override { return store_.current(worker); }
  bool loaded() const override { return store_.loaded(); }
  ClusterPtr snapshot() const override { return store_.snapshot(); }

 private:
  ClusterStore store_;
};

Options optionsOf(const KubernetesConfig& config, std::vector<Ip> localIps) {
  Options o;
  o.ttl = config.ttl;
  o.pods = config.pods;
  o.endpointPodNames = config.endpointPodNames;
  o.noEndpoints = config.noEndpoints;
  o.ignoreEmptyService = config.ignoreEmptyService;
  o.zonal = config.zonal;
  o.namespaces = config.namespaces;
  if (auto primary = dns::nameFromText(config.zones.at(config.primaryZone))) {
    o.primaryZone = dns::lowercased(*primary);
  } else {
    o.primaryZone = dns::WireName{0};
  }
  o.localIps = std::move(localIps);
  return o;
}

void deny(dns::Query& q, const Lookup& lk, dns::RCode rcode) {
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, rcode, true);
  addSoa(lk, dns::Section::Authority, w);
}

}  // namespace

Kubernetes::Kubernetes(const KubernetesConfig& config, std::shared_ptr<ClusterSource> source,
                       size_t workers, std::vector<Ip> localIps)
    : options_(optionsOf(config, std::move(localIps))),
      fall_(config.fall),
      source_(std::move(source)),
      scratch_(std::max<size_t>(workers, 1)) {
  dns::ZoneSet multi;
  for (const std::string& z : config.multiclusterZones) multi.add(z);
  for (const std::string& z : config.zones) {
    const int index = zones_.add(z);
    if (index == dns::ZoneSet::kNone) continue;  // config normalised it; cannot happen
    if (static_cast<size_t>(index) >= multicluster_.size()) multicluster_.resize(index + 1u);
    // A zone at or below a multicluster zone is one (CoreDNS isMultiClusterZone).
    multicluster_[static_cast<size_t>(index)] = multi.contains(zones_.wire(index));
  }
  for (WorkerScratch& w : scratch_) w.scratch.entries.reserve(64);
}

Scratch& Kubernetes::scratchFor(unsigned worker) {
  if (worker < scratch_.size()) return scratch_[worker].scratch;
  thread_local Scratch outside;  // tools calling from their own threads
  return outside;
}

Verdict Kubernetes::onQuery(dns::Query& q) {
  const dns::Question& question = q.view.question;
  const std::span<const uint8_t> lower = question.lowerName();
  const int zone = zones_.longestMatch(lower);
  if (zone == dns::ZoneSet::kNone) return Verdict::Next;

  const uint16_t qtype = question.qtype;
  if (qtype == dns::rrtype::AXFR || qtype == dns::rrtype::IXFR) {
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
    return Verdict::Answered;
  }

  const std::span<const uint8_t> asked(q.request.data() + question.nameOffset, question.nameLen);
  const std::span<const uint8_t> zoneLower = zones_.wire(zone);
  const Cluster* snapshot = source_->current(q.worker);
  const Lookup lk{options_,
                  snapshot != nullptr ? *snapshot : empty_,
                  zoneLower,
                  asked.last(zoneLower.size()),  // the zone as the client spelled it
                  multicluster_[static_cast<size_t>(zone)],
                  scratchFor(q.worker)};
  const QueryName name{lower, asked};
  const bool apex = lower.size() == zoneLower.size();

  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  Answer answer;
  switch (qtype) {
    case dns::rrtype::A:
    case dns::rrtype::AAAA:
      answer = answerAddress(lk, name, qtype, w);
      break;
    case dns::rrtype::TXT:
      answer = answerTxt(lk, name, w);
      break;
    case dns::rrtype::CNAME:
      answer = answerCname(lk, name, w);
      break;
    case dns::rrtype::PTR:
      answer = answerPtr(lk, name, w);
      break;
    case dns::rrtype::SRV:
      answer = answerSrv(lk, name, w);
      break;
    case dns::rrtype::SOA:
      // Only the apex has one; below it SOA is NODATA whether or not the name exists.
      if (apex) {
        addSoa(lk, dns::Section::Answer, w);
        answer = {Status::Ok, 1};
      }
      break;
    case dns::rrtype::NS:
      if (apex) {
        answer = answerNs(lk, name, w);
        break;
      }
      [[fallthrough]];
    default:
      answer = answerExistence(lk, name);
      break;
  }

  if (answer.chase && q.dispatcher != nullptr) {
    const Scratch& s = scratchFor(q.worker);
    if (static_cast<Runner*>(q.dispatcher)->subquery(q, {s.chase.data(), s.chaseLen}, qtype, *this)) {
      return Verdict::Pending;
    }
  }
  if (q.trace != nullptr) {
    const std::string zoneText = zones_.text(zone);
    if (answer.status == Status::NameError) {
      q.trace->note("kubernetes", zoneText + ": no such name in the cluster" +
                                      (fall_.through(lower) ? std::string("; fallthrough")
                                                            : std::string("; NXDOMAIN")));
    } else {
      q.trace->note("kubernetes", zoneText + (answer.count == 0 ? ": the name exists, not with this type"
                                                                : ": answered from the cluster objects"));
    }
  }
  if (answer.status == Status::NameError) {
    // Fallthrough is for names that do not exist here, and only within its zones.
    if (fall_.through(lower)) {
      q.reply.clear();
      return Verdict::Next;
    }
    deny(q, lk, source_->loaded() ? dns::RCode::NXDomain : dns::RCode::ServFail);
  } else if (answer.count == 0) {
    deny(q, lk, dns::RCode::NoError);  // NODATA: the name exists, not with this type
  }
  return Verdict::Answered;
}

void Kubernetes::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  // parent.reply holds the header, question and CNAME chain written before it went pending.
  dns::MessageWriter w(parent.reply);
  if (reply.size() >= dns::kHeaderSize) {
    dns::appendAnswersExpanded(w, reply, dns::Section::Answer);
    if (dns::get16(reply.data() + 2) & dns::flag::TC) w.setFlag(dns::flag::TC, true);
  }
  resume(parent, Verdict::Answered);
}

std::vector<Ip> localAddresses() {
  std::vector<Ip> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    Ip ip;
    if (it->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      ip.family = 4;
      std::memcpy(ip.bytes.data(), &sin->sin_addr, 4);
      if (ip.bytes[0] == 127) continue;
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) continue;
      ip.family = 6;
      std::memcpy(ip.bytes.data(), &sin6->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
  }
  ::freeifaddrs(list);
  return out;
}

conf::Result<HandlerPtr> setupKubernetes(const SetupContext& ctx) {
  auto config = parseKubernetes(ctx);
  if (!config) return config.error();
  if (ctx.warnings != nullptr) {
    ctx.warnings->insert(ctx.warnings->end(), config->warnings.begin(), config->warnings.end());
  }
  // The store loads the objects now, so the first query already has them; a file that does
  // not parse is logged by the store and answered as an empty cluster until it is fixed.
  const size_t workers = std::max<size_t>(ctx.loops.size(), 1);
  auto source = std::make_shared<StoreSource>(config->objects, workers);
  auto handler = std::make_shared<Kubernetes>(*config, std::move(source), workers, localAddresses());
  handler->setHostSearch(hostSearchDomains());
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::kubernetes
