#include "tests/support/leak_probe.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/support/server_process.hpp"

namespace moat::testing::leak {

namespace {

std::string rcodeName(int rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 5: return "REFUSED";
    default: return "RCODE" + std::to_string(rcode);
  }
}

std::vector<std::string> fields(const std::string& record) {
  std::vector<std::string> out;
  std::istringstream in(record);
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

}  // namespace

const std::vector<std::string>& builtinPrivateZones() {
  static const std::vector<std::string> zones = [] {
    std::vector<std::string> z = {"localhost.", "invalid.", "local.", "home.arpa.", "internal.",
                                  "10.in-addr.arpa.", "168.192.in-addr.arpa.", "254.169.in-addr.arpa.",
                                  "127.in-addr.arpa.", "d.f.ip6.arpa.", "8.e.f.ip6.arpa.",
                                  "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa."};
    for (int i = 16; i <= 31; ++i) z.push_back(std::to_string(i) + ".172.in-addr.arpa.");
    z.push_back(reverseName("::1"));
    return z;
  }();
  return zones;
}

std::vector<std::string> privateZones(const std::vector<std::string>& declared) {
  std::vector<std::string> out = builtinPrivateZones();
  for (const auto& d : declared) out.push_back(canonical(d));
  return out;
}

std::string canonical(std::string_view name) {
  std::string out;
  for (char c : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (out.size() > 1 && out.back() == '.') out.pop_back();
  if (out != ".") out += '.';
  return out;
}

bool atOrUnder(std::string_view name, std::string_view zone) {
  if (zone == ".") return true;
  if (name.size() < zone.size()) return false;
  if (name.substr(name.size() - zone.size()) != zone) return false;
  return name.size() == zone.size() || name[name.size() - zone.size() - 1] == '.';
}

std::string deepestZone(std::string_view name, const std::vector<std::string>& zones) {
  std::string best;
  for (const auto& z : zones) {
    if (atOrUnder(name, z) && (best.empty() || z.size() > best.size())) best = z;
  }
  return best;
}

std::string reverseName(const std::string& address) {
  std::string out;
  if (address.find(':') == std::string::npos) {
    in_addr a{};
    if (inet_pton(AF_INET, address.c_str(), &a) != 1) return "";
    const auto* b = reinterpret_cast<const uint8_t*>(&a);
    for (int i = 3; i >= 0; --i) out += std::to_string(b[i]) + ".";
    return out + "in-addr.arpa.";
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, address.c_str(), &a) != 1) return "";
  static const char* hex = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out += hex[a.s6_addr[i] & 0xf];
    out += '.';
    out += hex[a.s6_addr[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa.";
}

const std::vector<std::string>& allTypes() {
  static const std::vector<std::string> types = {"A", "AAAA", "HTTPS", "MX", "TXT", "SRV", "PTR", "ANY"};
  return types;
}

uint16_t typeCode(std::string_view t) {
  if (t == "A") return 1;
  if (t == "NS") return 2;
  if (t == "CNAME") return 5;
  if (t == "SOA") return 6;
  if (t == "PTR") return 12;
  if (t == "MX") return 15;
  if (t == "TXT") return 16;
  if (t == "AAAA") return 28;
  if (t == "SRV") return 33;
  if (t == "HTTPS") return 65;
  if (t == "ANY") return 255;
  return 0;
}

std::string Asked::what() const {
  std::ostringstream o;
  o << name << " " << type << (tcp ? " tcp" : " udp") << " -> ";
  if (!reply.ok) return o.str() + "no reply";
  o << rcodeName(reply.rcode) << (reply.aa ? " aa" : "") << (reply.ra ? " ra" : "");
  for (const auto& r : reply.answer) o << " | an: " << r;
  for (const auto& r : reply.authority) o << " | ns: " << r;
  return o.str();
}

std::vector<Asked> askAll(uint16_t port, const std::vector<std::string>& names,
                          const std::vector<std::string>& types, bool udp, bool tcp,
                          const std::string& source) {
  std::vector<Asked> out;
  uint16_t id = 1;
  for (const auto& name : names) {
    for (const auto& type : types) {
      for (int transport = 0; transport < 2; ++transport) {
        bool overTcp = transport == 1;
        if ((overTcp && !tcp) || (!overTcp && !udp)) continue;
        auto query = makeQuery({.name = name, .type = typeCode(type), .id = id++, .edns = 1232});
        auto wire = overTcp ? exchangeTcpFrom(source, port, query)
                            : exchangeUdpFrom(source, port, query);
        Asked a{name, type, overTcp, {}};
        if (!wire.empty()) a.reply = decode(wire);
        out.push_back(std::move(a));
      }
    }
  }
  return out;
}

std::vector<std::string> seenUnder(const FakeUpstream& upstream, const std::vector<std::string>& zones) {
  std::vector<std::string> out;
  for (const auto& r : upstream.received()) {
    std::string name = canonical(r.name);
    for (const auto& z : zones) {
      if (z != "." && atOrUnder(name, z)) {
        out.push_back(r.name + " type " + std::to_string(r.type) + (r.tcp ? " tcp" : " udp") +
                      " (under private " + z + ")");
        break;
      }
    }
  }
  return out;
}

bool saw(const FakeUpstream& upstream, std::string_view name, uint16_t type, int tcp) {
  std::string want = canonical(name);
  for (const auto& r : upstream.received()) {
    if (canonical(r.name) != want) continue;
    if (type != 0 && r.type != type) continue;
    if (tcp >= 0 && r.tcp != (tcp == 1)) continue;
    return true;
  }
  return false;
}

std::string everythingSeen(const FakeUpstream& upstream) {
  std::vector<std::string> all;
  for (const auto& r : upstream.received()) {
    all.push_back(r.name + " type " + std::to_string(r.type) + (r.tcp ? " tcp" : " udp"));
  }
  return all.empty() ? "(nothing)" : join(all);
}

std::string soaOwner(const Reply& r) {
  for (const auto& rec : r.authority) {
    auto f = fields(rec);
    if (f.size() >= 4 && f[3] == "SOA") return canonical(f[0]);
  }
  return "";
}

Expect data(std::string text) { return {Expect::Kind::Data, "", std::move(text)}; }
Expect nodata(std::string zone) { return {Expect::Kind::NoData, std::move(zone), ""}; }
Expect miss(std::string zone) { return {Expect::Kind::Miss, std::move(zone), ""}; }
Expect negative() { return {Expect::Kind::Negative, "", ""}; }
Expect refused() { return {Expect::Kind::Refused, "", ""}; }
Expect local() { return {Expect::Kind::Local, "", ""}; }
Expect forwarded() { return {Expect::Kind::Forwarded, "", ""}; }

std::string check(const Asked& a, const Expect& e) {
  const Reply& r = a.reply;
  auto fail = [&](std::string_view want) { return a.what() + "   (wanted " + std::string(want) + ")"; };
  if (!r.ok) return fail("a reply");
  std::string owner = soaOwner(r);
  switch (e.kind) {
    case Expect::Kind::Data: {
      bool found = std::any_of(r.answer.begin(), r.answer.end(),
                               [&](const std::string& rec) { return rec.find(e.text) != std::string::npos; });
      if (r.rcode != 0 || !r.aa || !found) return fail("NOERROR aa with an answer containing '" + e.text + "'");
      return "";
    }
    case Expect::Kind::NoData:
      if (r.rcode != 0 || !r.aa || !r.answer.empty() || (!e.zone.empty() && owner != e.zone)) {
        return fail("NODATA: NOERROR aa, no answers" + (e.zone.empty() ? std::string() : ", SOA of " + e.zone));
      }
      return "";
    case Expect::Kind::Miss:
      if (r.rcode != 3 || !r.aa || !r.answer.empty() || owner != e.zone) {
        return fail("NXDOMAIN aa with the SOA of " + e.zone);
      }
      return "";
    case Expect::Kind::Negative:
      if ((r.rcode != 0 && r.rcode != 3) || !r.aa || !r.answer.empty() || owner.empty() ||
          !atOrUnder(canonical(a.name), owner)) {
        return fail("NXDOMAIN or NODATA, aa, with an SOA of a zone containing the name");
      }
      return "";
    case Expect::Kind::Refused:
      if (r.rcode != 5) return fail("REFUSED");
      return "";
    case Expect::Kind::Local:
      if ((r.rcode != 0 && r.rcode != 3) || !r.aa) return fail("a local answer: NOERROR or NXDOMAIN with aa");
      return "";
    case Expect::Kind::Forwarded: {
      bool ok = r.rcode == 0 && !r.aa && r.ra;
      if (a.type == "A") {
        ok = ok && std::any_of(r.answer.begin(), r.answer.end(), [](const std::string& rec) {
               return rec.find("192.0.2.1") != std::string::npos;
             });
      }
      if (!ok) return fail("the upstream's answer (NOERROR, no aa, ra; A 192.0.2.1)");
      return "";
    }
  }
  return "";
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

void expectBlocked(uint16_t port, const std::vector<std::string>& names,
                   const std::vector<std::string>& declared,
                   const std::vector<const FakeUpstream*>& upstreams, const std::string& refusing,
                   const std::string& source) {
  auto zones = privateZones(declared);
  std::vector<std::string> wrong;
  for (const Asked& a : askAll(port, names, allTypes(), true, true, source)) {
    std::string zone = deepestZone(canonical(a.name), zones);
    REQUIRE_MESSAGE(!zone.empty(), a.name << " is not private");
    std::string why = check(a, !refusing.empty() && atOrUnder(zone, refusing) ? refused() : miss(zone));
    if (!why.empty()) wrong.push_back(source + ": " + why);
  }
  CHECK_MESSAGE(wrong.empty(), wrong.size() << " wrong answers:\n  " << join(wrong));
  for (const FakeUpstream* up : upstreams) {
    auto leaked = seenUnder(*up, zones);
    CHECK_MESSAGE(leaked.empty(), "LEAKED to " << up->address() << ":\n  " << join(leaked));
  }
}

void expectForwarded(uint16_t port, const std::vector<std::string>& names,
                     const FakeUpstream& upstream, const std::string& source) {
  for (const Asked& a : askAll(port, names, {"A", "TXT"}, true, true, source)) {
    std::string why = check(a, forwarded());
    CHECK_MESSAGE(why.empty(), source << ": " << why);
    CHECK_MESSAGE(saw(upstream, a.name, typeCode(a.type)),
                  source << ": " << a.what() << " did not reach " << upstream.address()
                         << "; it saw:\n  " << everythingSeen(upstream));
  }
}

}  // namespace moat::testing::leak
