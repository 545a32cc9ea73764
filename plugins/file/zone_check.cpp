#include "plugins/file/zone_check.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <map>
#include <utility>

#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "plugins/file/zone_file.hpp"

namespace moat::plugins::file {

namespace {

using Name = std::span<const uint8_t>;
using Key = std::pair<dns::WireName, uint16_t>;

struct Line {
  std::string file;
  int line = 0;
};

conf::Pos at(const Line& l) { return conf::Pos{l.file, static_cast<uint32_t>(l.line), 1}; }

bool loopback(const RRset& set, const Zone& zone) {
  for (const Record& r : zone.records(set)) {
    const Name rdata = zone.rdata(r);
    if (set.type == dns::rrtype::A && rdata.size() == 4 && rdata[0] != 127) return false;
    if (set.type == dns::rrtype::AAAA && rdata.size() == 16) {
      boost::asio::ip::address_v6::bytes_type bytes;
      std::copy(rdata.begin(), rdata.end(), bytes.begin());
      if (!boost::asio::ip::address_v6(bytes).is_loopback()) return false;
    }
  }
  return true;
}

class Checker {
 public:
  Checker(const Zone& zone, const std::map<Key, Line>& lines, const PrivateZones* privateZones,
          std::vector<ZoneFinding>& out)
      : zone_(zone), lines_(lines), private_(privateZones), out_(out) {}

  void run() {
    Name cut;  // the delegation the walk is below, if any (descendants follow it in canonical order)
    for (const Node& node : zone_.nodes()) {
      const Name name = zone_.name(node);
      cnameBeside(node, name);
      if (!cut.empty() && dns::isSubdomain(name, cut)) {
        hidden(node, name, cut);
        continue;
      }
      cut = {};
      const RRset* ns = zone_.rrset(node, dns::rrtype::NS);
      if (ns == nullptr) continue;
      const bool apex = &node == &zone_.apex();
      addresses(*ns, name, apex);
      if (!apex) {
        cut = name;
        privateDelegation(*ns, name);
      }
    }
  }

 private:
  Line lineOf(Name owner, uint16_t type) const {
    auto it = lines_.find(Key(dns::WireName(owner.begin(), owner.end()), type));
    return it == lines_.end() ? Line{} : it->second;
  }
  void add(const Line& line, std::string rule, std::string message) {
    out_.push_back(ZoneFinding{at(line), std::move(rule), std::move(message)});
  }

  void cnameBeside(const Node& node, Name name) {
    if (zone_.rrset(node, dns::rrtype::CNAME) == nullptr) return;
    for (const RRset& set : zone_.sets(node)) {
      if (set.type == dns::rrtype::CNAME || set.type == dns::rrtype::RRSIG || set.type == 47 /* NSEC */) continue;
      add(lineOf(name, dns::rrtype::CNAME), "zone/cname-and-other-data",
          dns::nameToText(name) + " has a CNAME and other data (RFC 1034 §3.6.2): the CNAME wins "
          "for every other type, and the other records are never served");
      return;
    }
  }

  // Name servers inside the zone need addresses here: at the apex for the zone's own servers,
  // and inside a delegation (glue) for the child's, which no one could find otherwise.
  void addresses(const RRset& ns, Name owner, bool apex) {
    for (const Record& r : zone_.records(ns)) {
      const Name target = zone_.rdata(r);
      if (!dns::isSubdomain(target, apex ? zone_.origin() : owner)) continue;
      const Node* node = zone_.find(target);
      if (node != nullptr && (zone_.rrset(*node, dns::rrtype::A) || zone_.rrset(*node, dns::rrtype::AAAA))) continue;
      add(lineOf(owner, dns::rrtype::NS), "zone/missing-glue",
          dns::nameToText(owner) + " NS " + dns::nameToText(target) + ": the name server lies " +
              (apex ? "inside the zone" : "inside its own delegation") +
              " and has no A or AAAA record here, so it cannot be reached");
    }
  }

  // Below a delegation only the glue of its name servers belongs; the rest is never served.
  void hidden(const Node& node, Name name, Name cut) {
    const Node* cutNode = zone_.find(cut);
    const RRset* ns = cutNode == nullptr ? nullptr : zone_.rrset(*cutNode, dns::rrtype::NS);
    bool glue = false;
    if (ns != nullptr) {
      for (const Record& r : zone_.records(*ns)) glue = glue || std::ranges::equal(zone_.rdata(r), name);
    }
    for (const RRset& set : zone_.sets(node)) {
      if (glue && (set.type == dns::rrtype::A || set.type == dns::rrtype::AAAA)) continue;
      add(lineOf(name, set.type), "zone/below-delegation",
          dns::nameToText(name) + " lies below the delegation " + dns::nameToText(cut) +
              " and is not glue for it: queries for it get the referral, never this record");
      return;
    }
  }

  // A delegation under a private zone hands clients servers off this machine for private names.
  void privateDelegation(const RRset& ns, Name cut) {
    if (private_ == nullptr) return;
    const PrivateZone* zone = private_->find(cut);
    if (zone == nullptr) return;
    for (const Record& r : zone_.records(ns)) {
      const Name target = zone_.rdata(r);
      const Node* node = dns::isSubdomain(target, zone_.origin()) ? zone_.find(target) : nullptr;
      const RRset* a = node == nullptr ? nullptr : zone_.rrset(*node, dns::rrtype::A);
      const RRset* aaaa = node == nullptr ? nullptr : zone_.rrset(*node, dns::rrtype::AAAA);
      const bool local = (a != nullptr || aaaa != nullptr) && (a == nullptr || loopback(*a, zone_)) &&
                         (aaaa == nullptr || loopback(*aaaa, zone_));
      if (local) continue;
      add(lineOf(cut, dns::rrtype::NS), "leak/private-delegation",
          dns::nameToText(cut) + " is under private zone " + zone->name + " and delegated to " +
              dns::nameToText(target) + (node == nullptr ? ", a server this zone has no address for"
                                                         : ", a server off this machine") +
              ": clients following the referral ask it for private names");
    }
  }

  const Zone& zone_;
  const std::map<Key, Line>& lines_;
  const PrivateZones* private_;
  std::vector<ZoneFinding>& out_;
};

}  // namespace

std::vector<ZoneFinding> checkZone(const ZoneSource& source, const PrivateZones* privateZones) {
  std::vector<ZoneFinding> out;
  std::map<Key, Line> lines;  // the first line of each owner and type
  const RecordObserver observe = [&](const SeenRecord& seen) {
    Line line{std::string(seen.file), seen.line};
    if (seen.outsideOrigin) {
      out.push_back(ZoneFinding{at(line), "zone/out-of-zone",
                                dns::nameToText(seen.owner) + " is outside zone " + source.origin +
                                    ": the record is left out"});
      return;
    }
    lines.emplace(Key(dns::WireName(seen.owner.begin(), seen.owner.end()), seen.type), std::move(line));
  };
  ZoneLoad load = loadZoneFile(source.path, source.origin, std::nullopt, &observe);
  if (!load.zone) {
    const Line where{load.errorFile.empty() ? source.path : load.errorFile, load.errorLine};
    const bool noSoa = load.error.find("no SOA record") != std::string::npos;
    out.push_back(ZoneFinding{at(Line{where.file, where.line > 0 ? where.line : 1}),
                              noSoa ? "zone/no-soa" : "zone/syntax",
                              "zone " + source.origin + ": " + load.error});
    return out;
  }
  Checker(*load.zone, lines, privateZones, out).run();
  return out;
}

}  // namespace moat::plugins::file
