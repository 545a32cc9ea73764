// A zone generated from a fixed seed, with every shape an authoritative server must get right:
// CNAME chains (in zone, dangling, leaving the zone), wildcards (plain, under an empty
// non-terminal, blocked by one, CNAME), empty non-terminals, delegations (glue, no glue, DS),
// DNAME, and a spread of record types. The test serves the text to NSD and to Moat and asks
// both the names it lists.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace moat::testing::zone {

struct RRset {
  std::string owner;  // absolute, lower case
  std::string type;   // "A", "MX", ...
  uint32_t ttl = 3600;
  std::vector<std::string> rdata;  // zone-file text
};

struct GeneratedZone {
  std::string origin;          // "zone.test."
  std::vector<RRset> rrsets;   // in the order written
  // Names worth asking that own no record: missing names, names under wildcards, below
  // delegations, empty non-terminals, names in other zones.
  std::vector<std::string> probes;
  // Delegation points (where DS is asked).
  std::vector<std::string> cuts;

  std::string text() const {
    std::ostringstream out;
    out << "$ORIGIN " << origin << "\n";
    for (const RRset& set : rrsets) {
      for (const std::string& rdata : set.rdata) {
        out << set.owner << " " << set.ttl << " IN " << set.type << " " << rdata << "\n";
      }
    }
    return out.str();
  }

  // Every owner name with the types it owns.
  std::map<std::string, std::set<std::string>> owners() const {
    std::map<std::string, std::set<std::string>> out;
    for (const RRset& set : rrsets) out[set.owner].insert(set.type);
    return out;
  }
};

// Each random draw is its own statement: operands of one `+` are unsequenced, and the zone must
// be the same whichever compiler built the test.
class ZoneGenerator {
 public:
  ZoneGenerator(std::string origin, uint32_t seed) : random_(seed) { zone_.origin = std::move(origin); }

  GeneratedZone generate(int hosts) {
    apex();
    for (int i = 0; i < hosts; ++i) host(i, hosts);
    for (int i = 0; i < hosts / 4; ++i) cnameChain(i, hosts);
    wildcards();
    emptyNonTerminals();
    delegations();
    dnames();
    reverse(hosts);
    missingNames(hosts);
    return std::move(zone_);
  }

 private:
  std::string at(const std::string& label) const { return label.empty() ? zone_.origin : label + "." + zone_.origin; }

  // Adds one record; records of one owner and type form one RRset with one TTL.
  void add(const std::string& owner, const std::string& type, const std::string& rdata, uint32_t ttl = 0) {
    auto key = std::make_pair(owner, type);
    auto found = index_.find(key);
    if (found == index_.end()) {
      found = index_.emplace(key, zone_.rrsets.size()).first;
      zone_.rrsets.push_back(RRset{owner, type, ttl != 0 ? ttl : ttlChoice(), {}});
    }
    auto& rdatas = zone_.rrsets[found->second].rdata;
    for (const auto& existing : rdatas) {
      if (existing == rdata) return;  // an RRset is a set
    }
    rdatas.push_back(rdata);
  }

  uint32_t ttlChoice() {
    static constexpr uint32_t kTtls[] = {300, 3600, 3600, 86400};
    return kTtls[below(4)];
  }
  uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(random_); }
  bool chance(int percent) { return static_cast<int>(below(100)) < percent; }

  std::string ipv4() {
    static const char* kNets[] = {"192.0.2.", "198.51.100.", "203.0.113."};
    const std::string net = kNets[below(3)];
    return net + std::to_string(1 + below(254));
  }
  std::string ipv6() {
    std::ostringstream out;
    out << "2001:db8:" << std::hex << below(0x10000) << "::" << (1 + below(0xffff));
    return out.str();
  }
  std::string hex(size_t digits) {
    std::string out;
    for (size_t i = 0; i < digits; ++i) out += "0123456789abcdef"[below(16)];
    return out;
  }
  std::string hostName(int i) const { return at("h" + std::to_string(i)); }

  void apex() {
    const std::string apex = at("");
    // SOA TTL above its minimum: the SOA of a negative answer carries min(TTL, minimum)
    // (RFC 2308 §3), which NSD does and Moat must match.
    add(apex, "SOA", "ns1." + zone_.origin + " hostmaster." + zone_.origin + " 2024010101 7200 3600 1209600 900",
        3600);
    add(apex, "NS", at("ns1"), 86400);
    add(apex, "NS", at("ns2"), 86400);
    add(at("ns1"), "A", "192.0.2.53");
    add(at("ns1"), "AAAA", "2001:db8::53");
    add(at("ns2"), "A", "198.51.100.53");
    add(apex, "MX", "10 " + at("mail"));
    add(apex, "MX", "20 mx.example.net.");
    add(at("mail"), "A", "192.0.2.25");
    add(apex, "TXT", "\"v=spf1 mx -all\"");
    add(apex, "A", "192.0.2.1");
    add(apex, "CAA", "0 issue \"ca.example.net\"");
    add(apex, "CAA", "128 tag \"critical\"");
  }

  void host(int i, int hosts) {
    const std::string name = hostName(i);
    // Some hosts sit under a department label, which then is an empty non-terminal.
    const std::string owner = i % 7 == 3 ? at("h" + std::to_string(i) + ".dept" + std::to_string(i % 5)) : name;
    if (owner != name) add(name, "CNAME", owner);  // and the plain name leads there
    if (chance(85)) {
      for (uint32_t n = 1 + below(3); n > 0; --n) add(owner, "A", ipv4());
    }
    if (chance(50)) {
      for (uint32_t n = 1 + below(2); n > 0; --n) add(owner, "AAAA", ipv6());
    }
    if (chance(25)) {
      const uint32_t preference = 10 * (1 + below(3));
      add(owner, "MX", std::to_string(preference) + " " + hostName(static_cast<int>(below(hosts))));
      if (chance(40)) add(owner, "MX", "50 mx" + std::to_string(below(3)) + ".example.net.");
    }
    if (chance(30)) add(owner, "TXT", txt());
    if (chance(10)) add(owner, "HINFO", "\"PC-" + std::to_string(i) + "\" \"Linux\"");
    if (chance(8)) {
      const uint32_t algorithm = 1 + below(2);
      add(owner, "SSHFP", std::to_string(algorithm) + " 2 " + hex(64));
    }
    if (chance(5)) add(owner, "CAA", "0 issuewild \";\"");
    if (chance(15)) {
      // SRV under _service._proto: _tcp.<host> becomes an empty non-terminal.
      const std::string target = hostName(static_cast<int>(below(hosts)));
      const uint32_t priority = below(3);
      const uint32_t weight = below(100);
      add("_sip._tcp." + owner, "SRV", std::to_string(priority) + " " + std::to_string(weight) + " 5060 " + target);
      if (chance(50)) add("_sip._tcp." + owner, "SRV", "10 0 5061 sip.example.net.");
    }
    if (chance(6)) add("_443._tcp." + owner, "TLSA", "3 1 1 " + hex(64));
    if (chance(4)) add(owner, "NAPTR", "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.net!\" .");
  }

  // TXT: one or several strings, with quotes, semicolons, spaces and escapes inside.
  std::string txt() {
    static const char* kStrings[] = {"\"hello world\"", "\"say \\\"hi\\\"\"", "\"a;b;c\"", "\"key=value\"",
                                     "\"\"", "\"tab\\009here\"", "\"back\\\\slash\"", "plain"};
    std::string out;
    for (uint32_t n = 1 + below(3); n > 0; --n) {
      if (!out.empty()) out += " ";
      out += kStrings[below(8)];
    }
    if (chance(5)) out += " \"" + std::string(200, 'x') + "\"";
    return out;
  }

  // alias<i> -> alias<i>-1 -> ... -> an end: a host with addresses, a missing name, a name in
  // another zone, a wildcard match, a name below a delegation, or an empty non-terminal.
  void cnameChain(int i, int hosts) {
    const std::string base = "alias" + std::to_string(i);
    const uint32_t length = 1 + below(3);
    std::string from = at(base);
    for (uint32_t step = 1; step < length; ++step) {
      std::string next = at(base + "-" + std::to_string(step));
      add(from, "CNAME", next);
      from = next;
    }
    const uint32_t roll = below(100);
    std::string end;
    if (roll < 55) end = hostName(static_cast<int>(below(hosts)));
    else if (roll < 70) end = at("gone" + std::to_string(i));
    else if (roll < 82) end = "www" + std::to_string(i) + ".example.net.";
    else if (roll < 88) end = at(base + ".wild");
    else if (roll < 94) end = at("www.sub1");
    else end = at("c");
    add(from, "CNAME", end);
  }

  void wildcards() {
    add(at("*.wild"), "A", "192.0.2.200");
    add(at("*.wild"), "TXT", "\"wildcard\"");
    add(at("exists.wild"), "A", "192.0.2.201");   // the wildcard does not apply to it
    add(at("host.sub.wild"), "A", "192.0.2.202");  // sub.wild: an ENT that blocks the wildcard
    add(at("*.x.y"), "A", "192.0.2.203");          // x.y and y: ENTs, the wildcard's parents
    add(at("*.x.y"), "AAAA", "2001:db8::203");
    add(at("*.wc"), "CNAME", hostName(1));         // wildcard CNAME into the zone
    add(at("*.wcout"), "CNAME", "target.example.net.");
    add(at("loop1"), "CNAME", at("loop2"));        // a loop: both servers must stop somewhere
    add(at("loop2"), "CNAME", at("loop1"));
    for (const char* probe : {"a.wild", "B.wild", "deep.er.wild", "sub.wild", "nope.sub.wild", "exists.wild",
                              "q.x.y", "r.s.x.y", "x.y", "y", "z.y", "one.wc", "two.three.wc", "wc", "one.wcout",
                              "*.wild", "*.x.y", "a.exists.wild"}) {
      zone_.probes.push_back(at(probe));
    }
  }

  void emptyNonTerminals() {
    add(at("a.b.c"), "A", "192.0.2.210");  // b.c and c: empty non-terminals
    add(at("a.b.c"), "TXT", "\"deep\"");
    for (const char* probe : {"b.c", "c", "x.b.c", "x.c", "z.a.b.c", "dept0", "dept3", "_tcp.h1", "_udp.h1"}) {
      zone_.probes.push_back(at(probe));
    }
  }

  void delegations() {
    // sub1: in-zone name servers with glue, and a DS.
    add(at("sub1"), "NS", at("ns.sub1"), 86400);
    add(at("sub1"), "NS", at("ns2.sub1"), 86400);
    add(at("ns.sub1"), "A", "192.0.2.60");
    add(at("ns.sub1"), "AAAA", "2001:db8::60");
    add(at("ns2.sub1"), "A", "192.0.2.61");
    add(at("sub1"), "DS", "12345 13 2 " + hex(64));
    // sub2: out-of-zone name servers, no glue, no DS.
    add(at("sub2"), "NS", "ns.example.net.");
    add(at("sub2"), "NS", "ns2.example.net.");
    // sub3: served by the parent's own name server; sub4 two labels down, under an ENT.
    add(at("sub3"), "NS", at("ns1"));
    add(at("sub4.deleg"), "NS", at("ns.sub1"));
    for (const char* cut : {"sub1", "sub2", "sub3", "sub4.deleg"}) zone_.cuts.push_back(at(cut));
    for (const char* probe : {"www.sub1", "a.b.sub1", "ns.sub1", "ns2.sub1", "ns3.sub1", "www.sub2", "x.y.sub2",
                              "www.sub3", "www.sub4.deleg", "deleg", "nope.deleg"}) {
      zone_.probes.push_back(at(probe));
    }
  }

  void dnames() {
    add(at("dn"), "DNAME", at("wild"));   // foo.dn -> foo.wild: the wildcard answers
    add(at("dn2"), "DNAME", "example.net.");
    add(at("dn3"), "DNAME", hostName(2));  // foo.dn3 -> foo.h2: a missing name
    for (const char* probe : {"foo.dn", "a.b.dn", "foo.dn2", "foo.dn3", "sub.dn"}) zone_.probes.push_back(at(probe));
  }

  void reverse(int hosts) {
    for (int i = 0; i < 20; ++i) {
      add(at(std::to_string(i) + ".rev"), "PTR", hostName(static_cast<int>(below(hosts))));
    }
    zone_.probes.push_back(at("rev"));
    zone_.probes.push_back(at("99.rev"));
  }

  void missingNames(int hosts) {
    for (int i = 0; i < 60; ++i) zone_.probes.push_back(at("nx" + std::to_string(i)));
    for (int i = 0; i < 30; ++i) zone_.probes.push_back(at("nx.h" + std::to_string(below(hosts))));
    for (int i = 0; i < 10; ++i) zone_.probes.push_back(at("gone" + std::to_string(i)));
    for (const char* outside : {"example.net.", "www.example.net.", "test.", "zone.test.example.", "ZONE.TEST."}) {
      zone_.probes.push_back(outside);
    }
  }

  std::mt19937 random_;
  GeneratedZone zone_;
  std::map<std::pair<std::string, std::string>, size_t> index_;
};

}  // namespace moat::testing::zone
