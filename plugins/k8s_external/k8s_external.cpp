// k8s_external's answers, as CoreDNS's external.go, apex.go and msg_to_dns.go write them,
// straight into the reply from the kubernetes plugin's snapshot.
#include "plugins/k8s_external/k8s_external.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dns/message.hpp"
#include "dns/wire.hpp"
#include "plugins/kubernetes/kubernetes.hpp"
#include "plugins/kubernetes/names.hpp"

namespace moat::plugins::k8s_external {

namespace {

using kubernetes::NameBuilder;

// CoreDNS's SOA timers for this zone; the minimum is the configured TTL.
constexpr uint32_t kRefresh = 7200, kRetry = 1800, kExpire = 86400;
constexpr uint8_t kRoot[1] = {0};

dns::WireName wireOf(const std::string& text) {
  auto wire = dns::nameFromText(text);
  return wire ? dns::lowercased(*wire) : dns::WireName{0};  // checked at parse
}

std::string under(std::string_view label, const std::string& zone) {
  return std::string(label) + (zone == "." ? "." : "." + zone);
}

uint64_t hashBytes(std::span<const uint8_t> bytes, uint64_t h) {
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

// The SRV target of an entry: the hostname as given, else [endpoint.]service.namespace.ZONE
// with the object names as stored under the zone as configured (CoreDNS's msg.Domain of the key).
void targetName(const ExternalView& v, const Entry& e, std::span<const uint8_t> zone,
                NameBuilder& out) {
  if (e.host != nullptr) {
    out.text(*e.host);
    out.zone(kRoot);
    return;
  }
  std::array<char, 64> buf;
  if (e.address != nullptr) out.text(kubernetes::endpointLabel(*e.address, v.options.endpointPodNames, buf));
  out.text(e.service->name);
  out.text(e.service->ns);
  out.zone(zone);
}

bool sameTarget(const ExternalView& v, const Entry& a, const Entry& b) {
  if ((a.host == nullptr) != (b.host == nullptr)) return false;
  if (a.host != nullptr) return kubernetes::equalFold(*a.host, *b.host);
  if (a.service != b.service || (a.address == nullptr) != (b.address == nullptr)) return false;
  if (a.address == nullptr) return true;
  std::array<char, 64> x, y;
  return kubernetes::equalFold(kubernetes::endpointLabel(*a.address, v.options.endpointPodNames, x),
                               kubernetes::endpointLabel(*b.address, v.options.endpointPodNames, y));
}

uint64_t targetHash(const ExternalView& v, const Entry& e) {
  uint64_t h = 1469598103934665603ull;
  if (e.host != nullptr) {
    for (char c : *e.host) h = (h ^ static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 1099511628211ull;
    return h;
  }
  const auto ptr = reinterpret_cast<uintptr_t>(e.service);
  h = hashBytes({reinterpret_cast<const uint8_t*>(&ptr), sizeof ptr}, h);
  if (e.address != nullptr) {
    std::array<char, 64> buf;
    std::string_view label = kubernetes::endpointLabel(*e.address, v.options.endpointPodNames, buf);
    for (char c : label) h = (h ^ static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 1099511628211ull;
  }
  return h ^ (h >> 31);
}

uint64_t ipHash(const Ip& ip) { return hashBytes(ip.wire(), 1469598103934665603ull); }

uint16_t typeOf(const Ip& ip) { return ip.family == 4 ? dns::rrtype::A : dns::rrtype::AAAA; }

}  // namespace

K8sExternal::K8sExternal(Config config, size_t workers)
    : config_(std::move(config)), scratch_(std::max<size_t>(workers, 1)) {
  for (const std::string& z : config_.zones) {
    const int index = zones_.add(z);
    if (index == dns::ZoneSet::kNone || static_cast<size_t>(index) < names_.size()) continue;
    names_.push_back(Zone{wireOf(under(config_.apex, z)), wireOf(under("ns1." + config_.apex, z)),
                          wireOf(under("hostmaster." + config_.apex, z))});
  }
  for (WorkerScratch& w : scratch_) {
    w.scratch.entries.reserve(64);
    w.scratch.addresses.reserve(16);
    w.scratch.seen.reset(64);
  }
}

Scratch& K8sExternal::scratchFor(unsigned worker) {
  if (worker < scratch_.size()) return scratch_[worker].scratch;
  thread_local Scratch outside;  // tools calling from their own threads
  return outside;
}

void K8sExternal::peersReady(std::span<const HandlerPtr> chain) {
  for (const HandlerPtr& h : chain) {
    if (auto* k = dynamic_cast<kubernetes::Kubernetes*>(h.get())) {
      k8s_ = k;
      return;
    }
  }
}

namespace {

// One query's state, so the answer functions below read like CoreDNS's.
struct Ctx {
  const Config& cfg;
  const ExternalView& v;
  Scratch& s;
  std::span<const uint8_t> zone;   // configured zone, lowercase wire (SOA and NS owner)
  std::span<const uint8_t> asked;  // the question's name as the client spelled it
  dns::MessageWriter& w;
};

void addSoa(const Ctx& c, std::span<const uint8_t> ns1, std::span<const uint8_t> hostmaster,
            dns::Section section) {
  std::array<uint8_t, 2 * dns::kMaxNameLen + 20> rdata;
  size_t len = 0;
  for (std::span<const uint8_t> n : {ns1, hostmaster}) {
    std::memcpy(rdata.data() + len, n.data(), n.size());
    len += n.size();
  }
  const uint32_t fields[5] = {c.v.cluster.serial(), kRefresh, kRetry, kExpire, c.cfg.ttl};
  for (uint32_t f : fields) {
    dns::put32(rdata.data() + len, f);
    len += 4;
  }
  c.w.addRR(section, c.zone, dns::rrtype::SOA, dns::rrclass::IN, c.cfg.ttl, {rdata.data(), len});
}

// A/AAAA: each address of the family once; a hostname is a CNAME (TTL of kubernetes, as
// CoreDNS builds it from the service), the first one resolved through the server afterwards.
size_t answerAddress(const Ctx& c, uint16_t qtype) {
  const std::vector<Entry>& entries = c.s.entries;
  const uint8_t family = qtype == dns::rrtype::A ? 4 : 6;
  c.s.seen.reset(entries.size());
  c.s.chaseLen = 0;
  size_t count = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.host != nullptr) {
      if (c.s.seen.seen(targetHash(c.v, e), static_cast<uint32_t>(i),
                        [&](uint32_t j) { return entries[j].host != nullptr && sameTarget(c.v, entries[j], e); }))
        continue;
      NameBuilder target;
      target.text(*e.host);
      target.zone(kRoot);
      if (!target.ok()) continue;
      c.w.addRR(dns::Section::Answer, c.asked, dns::rrtype::CNAME, dns::rrclass::IN, c.v.options.ttl,
                target.wire());
      if (c.s.chaseLen == 0) {
        std::copy(target.wire().begin(), target.wire().end(), c.s.chase.begin());
        c.s.chaseLen = target.wire().size();
      }
      ++count;
      continue;
    }
    if (e.ip.family != family) continue;
    if (c.s.seen.seen(ipHash(e.ip), static_cast<uint32_t>(i),
                      [&](uint32_t j) { return entries[j].host == nullptr && entries[j].ip == e.ip; }))
      continue;
    c.w.addRR(dns::Section::Answer, c.asked, qtype, dns::rrclass::IN, c.cfg.ttl, e.ip.wire());
    ++count;
  }
  return count;
}

// SRV: one per (target, port), weights shared out over every candidate as CoreDNS does; the
// addresses of the targets as additionals, once per (target, address).
size_t answerSrv(const Ctx& c) {
  const std::vector<Entry>& entries = c.s.entries;
  const double n = static_cast<double>(entries.size());
  auto weight = static_cast<uint16_t>(std::floor(100.0 / (100.0 * n) * 100.0));
  if (weight == 0) weight = 1;

  c.s.seen.reset(entries.size());
  size_t count = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.port < 0) continue;
    const uint64_t h = targetHash(c.v, e) ^ (uint64_t(e.port) * 0x9E3779B97F4A7C15ull);
    if (c.s.seen.seen(h, static_cast<uint32_t>(i), [&](uint32_t j) {
          return entries[j].port == e.port && sameTarget(c.v, entries[j], e);
        }))
      continue;
    NameBuilder target;
    targetName(c.v, e, c.zone, target);
    if (!target.ok()) continue;
    std::array<uint8_t, 6 + dns::kMaxNameLen> rdata;
    dns::put16(rdata.data(), 0);
    dns::put16(rdata.data() + 2, weight);
    dns::put16(rdata.data() + 4, static_cast<uint16_t>(e.port));
    std::memcpy(rdata.data() + 6, target.wire().data(), target.wire().size());
    c.w.addRR(dns::Section::Answer, c.asked, dns::rrtype::SRV, dns::rrclass::IN, c.v.options.ttl,
              {rdata.data(), 6 + target.wire().size()});
    ++count;
  }

  c.s.seen.reset(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.port < 0 || e.host != nullptr) continue;
    if (c.s.seen.seen(targetHash(c.v, e) ^ ipHash(e.ip), static_cast<uint32_t>(i), [&](uint32_t j) {
          return entries[j].ip == e.ip && sameTarget(c.v, entries[j], e);
        }))
      continue;
    NameBuilder target;
    targetName(c.v, e, c.zone, target);
    if (!target.ok()) continue;
    c.w.addRR(dns::Section::Additional, target.wire(), typeOf(e.ip), dns::rrclass::IN, c.cfg.ttl,
              e.ip.wire());
  }
  return count;
}

// PTR: service.namespace under the first configured zone, once per service.
size_t answerPtr(const Ctx& c, std::span<const uint8_t> firstZone) {
  size_t count = 0;
  for (const Entry& e : c.s.entries) {
    NameBuilder target;
    target.text(e.service->name);
    target.text(e.service->ns);
    target.zone(firstZone);
    if (!target.ok()) continue;
    c.w.addRR(dns::Section::Answer, c.asked, dns::rrtype::PTR, dns::rrclass::IN, c.cfg.ttl,
              target.wire());
    ++count;
  }
  return count;
}

}  // namespace

Verdict K8sExternal::onQuery(dns::Query& q) {
  if (k8s_ == nullptr) return Verdict::Next;  // never: setup refuses a block without kubernetes
  const dns::Question& question = q.view.question;
  const std::span<const uint8_t> lower = question.lowerName();
  const int zone = zones_.longestMatch(lower);
  if (zone == dns::ZoneSet::kNone) return Verdict::Next;

  const std::span<const uint8_t> zoneLower = zones_.wire(zone);
  const Zone& names = names_[static_cast<size_t>(zone)];
  const std::span<const uint8_t> asked(q.request.data() + question.nameOffset, question.nameLen);
  const uint16_t qtype = question.qtype;
  const ExternalView view = k8s_->externalView(q.worker);
  Scratch& scratch = scratchFor(q.worker);

  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  const Ctx c{config_, view, scratch, zoneLower, asked, w};
  const char* what = "";  // for explain

  if (lower.size() == zoneLower.size()) {
    // The apex: its SOA and NS, NODATA for the rest.
    if (qtype == dns::rrtype::SOA) {
      addSoa(c, names.ns1, names.hostmaster, dns::Section::Answer);
      what = "the apex SOA";
    } else if (qtype == dns::rrtype::NS) {
      w.addRR(dns::Section::Answer, zoneLower, dns::rrtype::NS, dns::rrclass::IN, config_.ttl, names.ns1);
      nameServerAddresses(view, config_.headless, scratch.addresses);
      // The glue is named after the question as asked, as CoreDNS names it.
      NameBuilder glue;
      glue.label("ns1");
      glue.text(config_.apex);
      glue.zone(asked);
      if (glue.ok()) {
        for (const Ip& ip : scratch.addresses)
          w.addRR(dns::Section::Additional, glue.wire(), typeOf(ip), dns::rrclass::IN, config_.ttl, ip.wire());
      }
      what = "the apex NS ns1 with this server's addresses";
    } else {
      addSoa(c, names.ns1, names.hostmaster, dns::Section::Authority);
      what = "the apex has no such type (NODATA)";
    }
  } else if (dns::isSubdomain(lower, names.apex)) {
    // The APEX subdomain: ns1.APEX.ZONE has this server's addresses; APEX.ZONE is empty.
    const kubernetes::Labels labels(lower, zoneLower.size());
    if (labels.size() == 1) {
      addSoa(c, names.ns1, names.hostmaster, dns::Section::Authority);
      what = "the apex subdomain holds no records (NODATA)";
    } else if (labels.size() == 2 && labels[0] == "ns1") {
      size_t count = 0;
      if (qtype == dns::rrtype::A || qtype == dns::rrtype::AAAA) {
        nameServerAddresses(view, config_.headless, scratch.addresses);
        for (const Ip& ip : scratch.addresses) {
          if (typeOf(ip) != qtype) continue;
          w.addRR(dns::Section::Answer, asked, qtype, dns::rrclass::IN, config_.ttl, ip.wire());
          ++count;
        }
      }
      if (count == 0) addSoa(c, names.ns1, names.hostmaster, dns::Section::Authority);
      what = count == 0 ? "the name server has no address of this type (NODATA)"
                        : "the name server's addresses";
    } else {
      w.setRCode(dns::RCode::NXDomain);
      addSoa(c, names.ns1, names.hostmaster, dns::Section::Authority);
      what = "no such name under the apex subdomain (NXDOMAIN)";
    }
  } else {
    Found found;
    std::optional<Ip> reverseIp;
    if (qtype == dns::rrtype::PTR) reverseIp = kubernetes::addressFromReverse(lower);
    if (reverseIp) {
      found = lookupReverse(view, *reverseIp, scratch.entries);
    } else {
      found = lookup(view, lower, zoneLower.size(), config_.headless, scratch.entries);
      // A forward name asked for PTR: only whether it exists.
      if (qtype == dns::rrtype::PTR) scratch.entries.clear();
    }
    if (scratch.entries.empty()) {
      if (found == Found::NameError && config_.fall.through(lower)) {
        if (q.trace != nullptr) q.trace->note(name(), zones_.text(zone) + ": no such service; fallthrough");
        q.reply.clear();
        return Verdict::Next;
      }
      if (found == Found::NameError) w.setRCode(dns::RCode::NXDomain);
      addSoa(c, names.ns1, names.hostmaster, dns::Section::Authority);
      what = found == Found::NameError ? "no such service or namespace with external addresses (NXDOMAIN)"
                                       : "the name exists, holds no records (NODATA)";
    } else {
      size_t count = 0;
      switch (qtype) {
        case dns::rrtype::A:
        case dns::rrtype::AAAA:
          count = answerAddress(c, qtype);
          break;
        case dns::rrtype::SRV:
          count = answerSrv(c);
          break;
        case dns::rrtype::PTR:
          count = answerPtr(c, zones_.wire(0));
          break;
        default:
          break;
      }
      if (count == 0) addSoa(c, names.ns1, names.hostmaster, dns::Section::Authority);
      what = count == 0 ? "the service has no records of this type (NODATA)"
             : reverseIp ? "the service with this external IP"
                         : "the service's external addresses";
      const bool chase = count > 0 && scratch.chaseLen > 0 &&
                         (qtype == dns::rrtype::A || qtype == dns::rrtype::AAAA);
      if (chase && q.dispatcher != nullptr &&
          static_cast<Runner*>(q.dispatcher)->subquery(q, {scratch.chase.data(), scratch.chaseLen}, qtype, *this)) {
        if (q.trace != nullptr)
          q.trace->note(name(), zones_.text(zone) + ": " + what +
                                    "; the load balancer's hostname is resolved through the server");
        return Verdict::Pending;
      }
    }
  }
  if (q.trace != nullptr) q.trace->note(name(), zones_.text(zone) + ": " + what);
  return Verdict::Answered;
}

void K8sExternal::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  // parent.reply holds the header, question and CNAME written before it went pending.
  dns::MessageWriter w(parent.reply);
  if (reply.size() >= dns::kHeaderSize) {
    dns::appendAnswersExpanded(w, reply, dns::Section::Answer);
    if (dns::get16(reply.data() + 2) & dns::flag::TC) w.setFlag(dns::flag::TC, true);
  }
  resume(parent, Verdict::Answered);
}

}  // namespace moat::plugins::k8s_external
