#include "conf/zone.hpp"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <optional>

namespace moat::conf {
namespace {

constexpr std::string_view kSchemeSep = "://";

// Transports CoreDNS knows that Moat does not serve (it serves dns:// and tls://): recognised so
// the error can say "not implemented" rather than "invalid zone".
constexpr std::string_view kOtherTransports[] = {"quic", "grpc", "https", "https3", "unix"};
constexpr uint16_t kTlsPort = 853;  // RFC 7858; the -dns.port flag is for dns:// only, as in CoreDNS

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

struct Cidr {
  std::array<uint8_t, 16> addr{};  // network address, host bits cleared
  int bytes = 4;                   // 4 or 16
  int prefix = 0;
};

// "IP/len" with a full address, as Go's net.ParseCIDR accepts it (no zone, no leading zeros).
std::optional<Cidr> parseCidr(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string ip(text.substr(0, slash));
  std::string_view len = text.substr(slash + 1);
  if (!allDigits(len) || len.size() > 3) return std::nullopt;
  Cidr c;
  if (ip.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, ip.c_str(), c.addr.data()) != 1) return std::nullopt;
    c.bytes = 16;
  } else {
    if (inet_pton(AF_INET, ip.c_str(), c.addr.data()) != 1) return std::nullopt;
    c.bytes = 4;
  }
  int prefix = std::stoi(std::string(len));
  if (prefix > c.bytes * 8) return std::nullopt;
  c.prefix = prefix;
  for (int bit = prefix; bit < c.bytes * 8; ++bit) {
    c.addr[size_t(bit / 8)] &= uint8_t(~(0x80u >> (bit % 8)));
  }
  return c;
}

// Adds 2^(bits - prefix) to the address: the next network of that prefix length.
void nextNetwork(Cidr& c) {
  int bit = c.prefix - 1;  // the lowest network bit, counted from the most significant
  int byte = bit / 8;
  unsigned carry = 0x80u >> (bit % 8);
  for (; byte >= 0 && carry != 0; --byte) {
    unsigned sum = c.addr[size_t(byte)] + carry;
    c.addr[size_t(byte)] = uint8_t(sum & 0xFF);
    carry = sum >> 8;
  }
}

// The reverse zone of a network whose prefix sits on a label boundary (8 bits v4, 4 bits v6).
std::string reverseZone(const Cidr& c) {
  std::string out;
  if (c.bytes == 4) {
    for (int i = c.prefix / 8 - 1; i >= 0; --i) {
      out += std::to_string(c.addr[size_t(i)]);
      out += '.';
    }
    return out + "in-addr.arpa.";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (int nibble = c.prefix / 4 - 1; nibble >= 0; --nibble) {
    uint8_t b = c.addr[size_t(nibble / 2)];
    out += kHex[nibble % 2 == 0 ? b >> 4 : b & 0x0F];
    out += '.';
  }
  return out + "ip6.arpa.";
}

// Label-length rules of a DNS name in presentation form: labels of 1..63 octets (an escape
// such as \. or \065 counts as one), 255 octets in all, "." alone for the root.
bool validDomainName(std::string_view s, std::string& why) {
  if (s.empty()) {
    why = "the zone is empty";
    return false;
  }
  if (s == ".") return true;
  size_t wire = 1;  // the root label
  size_t label = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (label == 0) {
        why = "it has an empty label";
        return false;
      }
      wire += label + 1;
      label = 0;
      continue;
    }
    if (c == '\\' && i + 1 < s.size()) {
      if (i + 3 < s.size() && allDigits(s.substr(i + 1, 3))) {
        i += 3;
      } else {
        i += 1;
      }
    }
    if (++label > 63) {
      why = "a label is longer than 63 characters";
      return false;
    }
  }
  if (label > 0) wire += label + 1;
  if (wire > 255) {
    why = "the name is longer than 255 octets";
    return false;
  }
  return true;
}

std::string fqdn(std::string_view s) {
  std::string out = toLower(s);
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

struct HostPort {
  std::vector<std::string> zones;
  std::optional<uint16_t> port;
};

// The part of a key after the scheme: zone or CIDR, then an optional ":port". Like CoreDNS, the
// port is what follows the last ':' when it is a number, which keeps IPv6 CIDRs intact.
Result<HostPort> splitHostPort(const Token& key, std::string_view s) {
  HostPort out;
  size_t colon = s.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view tail = s.substr(colon + 1);
    if (tail.empty()) {
      return errorAt(key.pos, "expected a port after the last ':' in '" + key.text + "'");
    }
    if (allDigits(tail)) {
      if (tail.size() > 5 || std::stoul(std::string(tail)) > 65535) {
        return errorAt(key.pos, "port must be from 0 to 65535 in '" + key.text + "'");
      }
      out.port = uint16_t(std::stoul(std::string(tail)));
      s = s.substr(0, colon);
    }
  }
  std::string why;
  if (!validDomainName(s, why)) {
    return errorAt(key.pos, "'" + key.text + "' is not a valid zone: " + why);
  }
  if (auto cidr = parseCidr(s)) {
    // CoreDNS refuses IPv6 CIDRs written with a leading "::" or "0...:" form.
    if (s[0] == ':' || (s[0] == '0' && s.find(':') != std::string_view::npos)) {
      return errorAt(key.pos, "invalid CIDR '" + std::string(s) + "' in '" + key.text + "'");
    }
    out.zones = cidrToReverseZones(s);
    return out;
  }
  if (s.find(':') != std::string_view::npos) {
    return errorAt(key.pos, "'" + key.text +
                                "' is not a valid zone: ':' may only appear in an IPv6 CIDR "
                                "or before the port");
  }
  out.zones.push_back(fqdn(s));
  return out;
}

// Splits "scheme://rest"; scheme is lowercased, empty when there is none.
std::pair<std::string, std::string_view> splitScheme(std::string_view text) {
  size_t sep = text.find(kSchemeSep);
  if (sep == std::string_view::npos) return {"", text};
  return {toLower(text.substr(0, sep)), text.substr(sep + kSchemeSep.size())};
}

bool isOtherTransport(std::string_view scheme) {
  for (std::string_view t : kOtherTransports) {
    if (t == scheme) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<ServerKey>> parseServerKey(const Token& key, uint16_t defaultPort) {
  auto [scheme, rest] = splitScheme(key.text);
  if (scheme.empty()) scheme = "dns";
  if (scheme == "tls") defaultPort = kTlsPort;
  if (scheme != "dns" && scheme != "tls") {
    if (isOtherTransport(scheme)) {
      return errorAt(key.pos, "transport " + scheme + ":// is not implemented by Moat");
    }
    return errorAt(key.pos, "unknown transport '" + scheme + "://' in server key '" + key.text +
                                "': expected dns://, tls:// or no scheme");
  }
  auto hp = splitHostPort(key, rest);
  if (!hp) return hp.error();
  std::vector<ServerKey> keys;
  for (std::string& zone : hp->zones) {
    keys.push_back(ServerKey{scheme, std::move(zone), hp->port.value_or(defaultPort), key.pos});
  }
  return keys;
}

Result<std::vector<std::string>> normalizeZone(const Token& zone) {
  // CoreDNS strips any transport and port from plugin zone arguments before using them.
  auto [scheme, rest] = splitScheme(zone.text);
  if (!scheme.empty() && scheme != "dns" && scheme != "tls" && !isOtherTransport(scheme)) {
    return errorAt(zone.pos, "unknown transport '" + scheme + "://' in zone '" + zone.text + "'");
  }
  auto hp = splitHostPort(zone, rest);
  if (!hp) return hp.error();
  return std::move(hp->zones);
}

std::vector<std::string> cidrToReverseZones(std::string_view text) {
  auto parsed = parseCidr(text);
  if (!parsed) return {};
  Cidr net = *parsed;
  const int boundary = net.bytes == 4 ? 8 : 4;
  if (net.prefix % boundary == 0) return {reverseZone(net)};
  // Not on a label boundary: enumerate the networks of the next boundary that it contains.
  const int wider = (net.prefix / boundary + 1) * boundary;
  const int count = 1 << (wider - net.prefix);  // at most 128 (v4) or 8 (v6)
  std::vector<std::string> zones;
  zones.reserve(size_t(count));
  net.prefix = wider;
  for (int i = 0; i < count; ++i) {
    zones.push_back(reverseZone(net));
    nextNetwork(net);
  }
  return zones;
}

bool isSubzone(std::string_view name, std::string_view zone) {
  // Tolerate a missing final dot on either side; compare case-insensitively.
  auto trim = [](std::string_view s) {
    if (!s.empty() && s.back() == '.') s.remove_suffix(1);
    return s;
  };
  name = trim(name);
  zone = trim(zone);
  if (zone.empty()) return true;  // the root contains every name
  if (name.size() < zone.size()) return false;
  std::string_view tail = name.substr(name.size() - zone.size());
  for (size_t i = 0; i < zone.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) !=
        std::tolower(static_cast<unsigned char>(zone[i]))) {
      return false;
    }
  }
  return name.size() == zone.size() || name[name.size() - zone.size() - 1] == '.';
}

}  // namespace moat::conf
