#include "plugins/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace moat::plugins {

namespace {

// `text` copied into `out` (INET6_ADDRSTRLEN + 1 bytes) and terminated; false when longer than
// any address, which is then no address.
bool terminated(std::string_view text, char* out) {
  if (text.size() > INET6_ADDRSTRLEN) return false;
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return true;
}

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

std::optional<Cidr> parseCidr(std::string_view text, bool prefixRequired) {
  const size_t slash = text.find('/');
  if (prefixRequired && slash == std::string_view::npos) return std::nullopt;
  char address[INET6_ADDRSTRLEN + 1];
  if (!terminated(text.substr(0, slash), address)) return std::nullopt;
  uint8_t bytes[16];
  bool v4 = false;
  if (std::string_view(address).find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, address, bytes) != 1) return std::nullopt;
    v4 = true;
  } else if (inet_pton(AF_INET6, address, bytes) != 1) {
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

std::optional<IpKey> parseAddress(std::string_view text) {
  char address[INET6_ADDRSTRLEN + 1];  // inet_pton wants it terminated; no allocation
  if (!terminated(text, address)) return std::nullopt;
  uint8_t bytes[16];
  if (inet_pton(AF_INET, address, bytes) == 1) return IpKey{true, fromBytes(bytes, 4)};
  in6_addr a{};
  if (inet_pton(AF_INET6, address, &a) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&a)) return IpKey{true, fromBytes(&a.s6_addr[12], 4)};
  return IpKey{false, fromBytes(a.s6_addr, 16)};
}

}  // namespace moat::plugins
