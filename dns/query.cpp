#include "dns/query.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace moat::dns {

uint16_t Endpoint::port() const {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return 0;
}

std::string_view Endpoint::addressText(std::array<char, 64>& out) const {
  const char* r = nullptr;
  if (addr.ss_family == AF_INET) {
    r = inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, out.data(), out.size());
  } else if (addr.ss_family == AF_INET6) {
    r = inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, out.data(), out.size());
  }
  return r ? std::string_view(r) : std::string_view("-");
}

int Endpoint::address(std::array<uint8_t, 16>& out) const {
  if (addr.ss_family == AF_INET) {
    std::memcpy(out.data(), &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, 4);
    return AF_INET;
  }
  if (addr.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      std::memcpy(out.data(), &a.s6_addr[12], 4);
      return AF_INET;
    }
    std::memcpy(out.data(), &a, 16);
    return AF_INET6;
  }
  return 0;
}

}  // namespace moat::dns
