#include "plugins/acl/net_set.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <string>

namespace moat::plugins::acl {

namespace {

Uint128 fromBytes(const uint8_t* bytes, size_t n) {
  Uint128 v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | bytes[i];
  return v;
}

// The prefix length of a CIDR: decimal digits only (leading zeros allowed, as Go's dtoi does),
// at most `bits`.
std::optional<unsigned> prefixLength(std::string_view text, unsigned bits) {
  if (text.empty()) return std::nullopt;
  unsigned n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
    if (n > bits) return std::nullopt;
  }
  return n;
}

// The addresses covered by `value`/`prefix` in a family of `bits` bits.
Cidr span(bool v4, Uint128 value, unsigned prefix, unsigned bits) {
  const unsigned hostBits = bits - prefix;
  // A shift by the full width is undefined: a /0 covers everything.
  const Uint128 all = bits == 128 ? ~Uint128{0} : (Uint128{1} << bits) - 1;
  const Uint128 hostMask = hostBits == 128 ? ~Uint128{0} : (Uint128{1} << hostBits) - 1;
  const Uint128 first = value & all & ~hostMask;
  return Cidr{v4, first, first | hostMask};
}

}  // namespace

std::optional<IpKey> clientKey(const dns::Endpoint& client) {
  if (client.family() == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(client.addr);
    return IpKey{true, ntohl(a.sin_addr.s_addr)};
  }
  if (client.family() == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(client.addr).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return IpKey{true, fromBytes(&a.s6_addr[12], 4)};
    return IpKey{false, fromBytes(a.s6_addr, 16)};
  }
  return std::nullopt;
}

std::optional<Cidr> parseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  // inet_pton needs a terminated string; an address is short, a long token is no address.
  const std::string address(text.substr(0, slash));
  if (address.size() > INET6_ADDRSTRLEN) return std::nullopt;
  uint8_t bytes[16];
  bool v4 = false;
  if (address.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, address.c_str(), bytes) != 1) return std::nullopt;
    v4 = true;
  } else if (inet_pton(AF_INET6, address.c_str(), bytes) != 1) {
    return std::nullopt;
  }
  const unsigned bits = v4 ? 32 : 128;
  unsigned prefix = bits;  // a bare address is one host
  if (slash != std::string_view::npos) {
    auto length = prefixLength(text.substr(slash + 1), bits);
    if (!length) return std::nullopt;
    prefix = *length;
  }
  return span(v4, fromBytes(bytes, v4 ? 4 : 16), prefix, bits);
}

void NetSet::addEverything() {
  add(Cidr{true, 0, 0xFFFFFFFFu});
  add(Cidr{false, 0, ~Uint128{0}});
}

void NetSet::add(const Cidr& cidr) { (cidr.v4 ? v4_ : v6_).push_back(Range{cidr.first, cidr.last}); }

void NetSet::seal() {
  merge(v4_);
  merge(v6_);
}

void NetSet::merge(std::vector<Range>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  std::vector<Range> merged;
  for (const Range& r : ranges) {
    // Overlapping or adjacent ranges become one (adjacent: the previous ends right before).
    if (!merged.empty() && (r.first <= merged.back().last || r.first - 1 == merged.back().last)) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  merged.shrink_to_fit();
  ranges = std::move(merged);
}

bool NetSet::within(const std::vector<Range>& ranges, Uint128 value) {
  // The last range starting at or before `value` is the only one that can hold it.
  auto after = std::upper_bound(ranges.begin(), ranges.end(), value,
                                [](Uint128 v, const Range& r) { return v < r.first; });
  if (after == ranges.begin()) return false;
  return value <= std::prev(after)->last;
}

bool NetSet::contains(const IpKey& address) const {
  return within(address.v4 ? v4_ : v6_, address.value);
}

}  // namespace moat::plugins::acl
