#include "plugins/file/lookup.hpp"

#include <algorithm>
#include <cstring>

#include "dns/name.hpp"
#include "dns/wire.hpp"

namespace moat::plugins::file {

namespace {

using Name = std::span<const uint8_t>;

constexpr uint16_t kSvcb = 64, kHttps = 65, kNsec = 47;

// Where each label of a wire name starts, left to right.
struct Labels {
  std::array<uint8_t, 128> starts{};
  size_t count = 0;

  explicit Labels(Name name) {
    for (size_t off = 0; off < name.size() && name[off] != 0; off += 1u + name[off]) {
      starts[count++] = static_cast<uint8_t>(off);
    }
  }
  // The name made of the last `keep` labels (0: the root).
  Name suffix(Name name, size_t keep) const {
    return keep == 0 ? name.subspan(name.size() - 1) : name.subspan(starts[count - keep]);
  }
};

size_t labelCount(Name name) { return Labels(name).count; }

bool sameName(Name a, Name b) { return std::ranges::equal(a, b); }

class Walk {
 public:
  Walk(const Zone& zone, Name qname, uint16_t qtype, bool dnssecOk, Lookup& out)
      : zone_(zone), qname_(qname), qtype_(qtype), dnssec_(dnssecOk), out_(out) {}

  void run();
  void chase(Name target);

  template <size_t N>
  void addType(Parts<N>& to, const Node& node, Name owner, uint16_t type) {
    if (const RRset* set = zone_.rrset(node, type)) to.add(Part{owner, set});
    if (dnssec_) addSignatures(to, node, owner, type);
  }
  template <size_t N>
  void addSignatures(Parts<N>& to, const Node& node, Name owner, uint16_t covered) {
    if (const RRset* sigs = zone_.signatures(node, covered)) to.add(Part{owner, sigs});
  }
  // The SOA of a negative answer, with its signature under DO.
  void soa() {
    const RRset* set = zone_.rrset(zone_.apex(), dns::rrtype::SOA);
    if (set == nullptr) return;
    const Name rdata = zone_.firstRdata(*set);
    const uint32_t minimum = rdata.size() >= 4 ? dns::get32(rdata.data() + rdata.size() - 4) : 0;
    Part part{zone_.origin(), set};
    part.maxTtl = minimum;
    out_.authority.add(part);
    if (dnssec_) {
      if (const RRset* sigs = zone_.signatures(zone_.apex(), dns::rrtype::SOA)) {
        Part sig{zone_.origin(), sigs};
        sig.maxTtl = minimum;
        out_.authority.add(sig);
      }
    }
  }
  template <size_t N>
  void apexNs(Parts<N>& to) { addType(to, zone_.apex(), zone_.origin(), dns::rrtype::NS); }

 private:
  bool referralAt(const Node& node, Name name, Name asked);
  void glue(const RRset& ns, Name owner);
  void additionalForAnswer();
  void negative(bool nameError);
  bool closerEmptyNonTerminal(Name wildcardParent) const;
  bool dname(const Node& node, const Labels& labels, size_t keep);
  void answerFrom(const Node& node, Name owner, bool wildcard);

  const Zone& zone_;
  Name qname_;
  uint16_t qtype_;
  bool dnssec_;
  Lookup& out_;
};

// A zone cut at `node` (not the apex): a referral, unless DS is asked at the cut itself, which
// the parent side answers.
bool Walk::referralAt(const Node& node, Name name, Name asked) {
  const RRset* ns = zone_.rrset(node, dns::rrtype::NS);
  if (ns == nullptr || (qtype_ == dns::rrtype::DS && sameName(name, asked))) return false;
  out_.outcome = Outcome::Referral;
  out_.cut = &node;
  out_.authority.add(Part{name, ns});
  // With DO: the DS that secures the child, or the cut's NSEC proving there is none (NSD
  // sends that proof; CoreDNS leaves it out, and validators then reject the referral).
  if (dnssec_) {
    if (zone_.rrset(node, dns::rrtype::DS) != nullptr) {
      addType(out_.authority, node, name, dns::rrtype::DS);
    } else {
      addType(out_.authority, node, name, kNsec);
    }
  }
  glue(*ns, name);
  return true;
}

// Addresses of the name servers that lie inside the cut they serve.
void Walk::glue(const RRset& ns, Name owner) {
  for (const Record& r : zone_.records(ns)) {
    const Name target = zone_.rdata(r);
    if (!dns::isSubdomain(target, owner)) continue;
    if (const Node* node = zone_.find(target)) {
      addType(out_.additional, *node, zone_.name(*node), dns::rrtype::A);
      addType(out_.additional, *node, zone_.name(*node), dns::rrtype::AAAA);
    }
  }
}

// MX, SRV, SVCB and HTTPS targets inside the zone get their addresses in the additional
// section, each target once.
void Walk::additionalForAnswer() {
  std::array<const Node*, 16> seen{};
  size_t seenCount = 0;
  for (const Part& part : out_.answer.view()) {
    if (part.set == nullptr) continue;
    size_t at = 0;
    switch (part.set->type) {
      case dns::rrtype::MX: case kSvcb: case kHttps: at = 2; break;
      case dns::rrtype::SRV: at = 6; break;
      default: continue;
    }
    for (const Record& r : zone_.records(*part.set)) {
      const Name rdata = zone_.rdata(r);
      if (rdata.size() <= at) continue;
      const Name target = rdata.subspan(at, dns::skipName(rdata, at) - at);
      if (target.empty() || !dns::isSubdomain(target, zone_.origin())) continue;
      const Node* node = zone_.find(target);
      if (node == nullptr || std::find(seen.begin(), seen.begin() + seenCount, node) != seen.begin() + seenCount) continue;
      if (seenCount < seen.size()) seen[seenCount++] = node;
      addType(out_.additional, *node, zone_.name(*node), dns::rrtype::A);
      addType(out_.additional, *node, zone_.name(*node), dns::rrtype::AAAA);
    }
  }
}

// NXDOMAIN, or NOERROR for an empty non-terminal: the SOA, and with DO the NSEC records that
// deny the name (and, for NXDOMAIN, the wildcard), as CoreDNS picks them.
void Walk::negative(bool nameError) {
  out_.outcome = nameError ? Outcome::NameError : Outcome::EmptyNonTerminal;
  soa();
  if (!dnssec_) return;
  const Node* deny = zone_.previous(qname_);
  if (deny == nullptr) return;
  addType(out_.authority, *deny, zone_.name(*deny), kNsec);
  if (!nameError) return;
  // The closest encloser: the longest ancestor that exists, as a name with data or as an empty
  // non-terminal (CoreDNS looks for data only and so denies the wrong wildcard below an
  // empty non-terminal); the apex at worst.
  const Labels labels(qname_);
  Name ce = zone_.origin();
  for (size_t keep = labels.count - 1; keep > labelCount(zone_.origin()); --keep) {
    const Name ancestor = labels.suffix(qname_, keep);
    if (zone_.find(ancestor) != nullptr || zone_.hasDescendant(ancestor)) {
      ce = ancestor;
      break;
    }
  }
  if (ce.size() + 2 > dns::kMaxNameLen) return;
  std::array<uint8_t, dns::kMaxNameLen> wildcard{1, '*'};
  std::copy(ce.begin(), ce.end(), wildcard.begin() + 2);
  const Node* cover = zone_.previous({wildcard.data(), ce.size() + 2});
  if (cover != nullptr && cover != deny) addType(out_.authority, *cover, zone_.name(*cover), kNsec);
}

// RFC 4592: an empty non-terminal between the wildcard's parent and the query name, or the
// query name itself, is the closest encloser, so the shallower wildcard does not apply.
// (CoreDNS checks only the names between, and synthesizes from the wildcard for an empty
// non-terminal it was asked about; NSD, and the RFC, answer NODATA.)
bool Walk::closerEmptyNonTerminal(Name wildcardParent) const {
  const Labels labels(qname_);
  const size_t parentLabels = labelCount(wildcardParent);
  for (size_t keep = labels.count; keep > parentLabels; --keep) {
    if (zone_.hasDescendant(labels.suffix(qname_, keep))) return true;
  }
  return false;
}

// A DNAME at `node` (the name of the last `keep` labels) above the query name: the DNAME, the
// CNAME it synthesizes, and the chase of that CNAME's target.
bool Walk::dname(const Node& node, const Labels& labels, size_t keep) {
  const RRset* set = zone_.rrset(node, dns::rrtype::DNAME);
  if (set == nullptr || keep == labels.count) return false;
  const Name owner = zone_.name(node);
  const Name target = zone_.firstRdata(*set);
  const size_t prefix = labels.starts[labels.count - keep];
  if (prefix + target.size() > dns::kMaxNameLen || out_.synthesizedCount == out_.synthesized.size()) {
    out_.outcome = Outcome::ServFail;  // the substitution does not fit a name (RFC 6672 YXDOMAIN)
    return true;
  }
  auto& buffer = out_.synthesized[out_.synthesizedCount++];
  std::copy(qname_.begin(), qname_.begin() + static_cast<std::ptrdiff_t>(prefix), buffer.begin());
  std::copy(target.begin(), target.end(), buffer.begin() + static_cast<std::ptrdiff_t>(prefix));
  const Name cname(buffer.data(), prefix + target.size());
  if (sameName(cname, qname_)) {  // a substitution that changes nothing can only loop
    out_.outcome = Outcome::ServFail;
    return true;
  }
  addType(out_.answer, node, owner, dns::rrtype::DNAME);
  out_.answer.add(Part{qname_, nullptr, dns::rrtype::CNAME, zone_.records(*set)[0].ttl, cname});
  ++out_.cnames;
  if (qtype_ == dns::rrtype::CNAME) {
    out_.outcome = Outcome::Answer;
    apexNs(out_.authority);
    return true;
  }
  chase(cname);
  return true;
}

void Walk::run() {
  if (out_.visitedCount < out_.visited.size()) out_.visited[out_.visitedCount++] = qname_;
  const Name origin = zone_.origin();
  if (sameName(qname_, origin) && (qtype_ == dns::rrtype::SOA || qtype_ == dns::rrtype::NS)) {
    out_.outcome = Outcome::Answer;
    if (qtype_ == dns::rrtype::SOA) {
      addType(out_.answer, zone_.apex(), origin, dns::rrtype::SOA);
      apexNs(out_.authority);
    } else {
      apexNs(out_.answer);
      if (const RRset* ns = zone_.rrset(zone_.apex(), dns::rrtype::NS)) glue(*ns, origin);
    }
    return;
  }

  // From the apex down, one label at a time: a cut or a DNAME on the way decides; a missing
  // name remembers the wildcard that could stand for it.
  const Labels labels(qname_);
  const size_t originLabels = labelCount(origin);
  std::array<uint8_t, dns::kMaxNameLen> wildName{};
  size_t wildLength = 0;
  const Node* wildNode = nullptr;
  const Node* node = nullptr;
  for (size_t keep = originLabels; keep <= labels.count; ++keep) {
    const Name name = labels.suffix(qname_, keep);
    node = keep == originLabels ? &zone_.apex() : zone_.find(name);
    if (node == nullptr) {
      const Name parent = labels.suffix(qname_, keep - 1);
      if (parent.size() + 2 <= dns::kMaxNameLen) {
        std::array<uint8_t, dns::kMaxNameLen> candidate{1, '*'};
        std::copy(parent.begin(), parent.end(), candidate.begin() + 2);
        const Name wildcard(candidate.data(), parent.size() + 2);
        if (const Node* wild = zone_.find(wildcard)) {
          wildNode = wild;
          wildName = candidate;
          wildLength = wildcard.size();
        } else if (zone_.hasDescendant(wildcard)) {
          wildNode = nullptr;  // the wildcard exists only as an empty non-terminal
          wildName = candidate;
          wildLength = wildcard.size();
        }
      }
      continue;
    }
    if (dname(*node, labels, keep)) return;
    if (keep > originLabels && referralAt(*node, name, qname_)) return;
  }

  if (node != nullptr) {  // the name itself exists
    answerFrom(*node, zone_.name(*node), false);
    return;
  }
  const Name wildName_(wildName.data(), wildLength);
  if (wildLength > 0 && !closerEmptyNonTerminal(wildName_.subspan(2))) {
    out_.wildcard = wildNode;
    if (wildNode == nullptr) {  // the wildcard is an empty non-terminal: NODATA
      out_.outcome = Outcome::NoData;
      soa();
      return;
    }
    answerFrom(*wildNode, qname_, true);
    return;
  }
  negative(!zone_.hasDescendant(qname_));
}

// The records of `node` for the question, owned by `owner` (the asked name for a wildcard):
// its CNAME to follow, NODATA with the node's NSEC, or the answer.
void Walk::answerFrom(const Node& node, Name owner, bool wildcard) {
  if (const RRset* cname = zone_.rrset(node, dns::rrtype::CNAME); cname != nullptr && qtype_ != dns::rrtype::CNAME) {
    addType(out_.answer, node, owner, dns::rrtype::CNAME);
    ++out_.cnames;
    chase(zone_.firstRdata(*cname));
    return;
  }
  if (zone_.rrset(node, qtype_) == nullptr) {
    out_.outcome = Outcome::NoData;
    soa();
    if (dnssec_) addType(out_.authority, node, zone_.name(node), kNsec);
    return;
  }
  out_.outcome = Outcome::Answer;
  addType(out_.answer, node, owner, qtype_);
  apexNs(out_.authority);
  if (wildcard && dnssec_) {
    // An NSEC proving no closer name exists under the wildcard.
    if (const Node* deny = zone_.previous(qname_)) addType(out_.authority, *deny, zone_.name(*deny), kNsec);
  }
  additionalForAnswer();
}

// Follows a CNAME to `target`. Inside the zone the target is looked up here, exactly as if it
// had been asked (wildcards, empty non-terminals, cuts, NXDOMAIN with the SOA), so the answer
// is NSD's; CoreDNS instead asks its whole server for a target it does not hold as a name,
// which loses the DO bit and the zone's own denial. Outside the zone the rest is the server's.
// A loop ends at its first repeat, each CNAME given once, as NSD answers it.
void Walk::chase(Name target) {
  const bool repeat = std::any_of(out_.visited.begin(), out_.visited.begin() + out_.visitedCount,
                                  [&](Name seen) { return sameName(seen, target); });
  if (repeat || out_.visitedCount == out_.visited.size()) {
    out_.outcome = Outcome::Answer;
    apexNs(out_.authority);
    return;
  }
  if (!dns::isSubdomain(target, zone_.origin())) {
    out_.outcome = Outcome::Chase;
    out_.chaseTarget = target;
    return;
  }
  Walk(zone_, target, qtype_, dnssec_, out_).run();
}

}  // namespace

void lookup(const Zone& zone, std::span<const uint8_t> qname, uint16_t qtype, bool dnssecOk,
            Lookup& out) {
  Walk(zone, qname, qtype, dnssecOk, out).run();
}

void chasedAuthority(const Zone& zone, bool negative, bool dnssecOk, Lookup& out) {
  Walk walk(zone, {}, 0, dnssecOk, out);
  if (negative) {
    walk.soa();
  } else {
    walk.apexNs(out.authority);
  }
}

}  // namespace moat::plugins::file
