#include "plugins/bind/interfaces.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>

namespace moat::plugins::bind {

namespace {

std::string v4Text(const in_addr& a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, buf, sizeof buf) ? std::string(buf) : std::string();
}

std::string v6Text(const in6_addr& a) {
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    in_addr v4;
    std::copy(&a.s6_addr[12], &a.s6_addr[16], reinterpret_cast<uint8_t*>(&v4));
    return v4Text(v4);
  }
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, &a, buf, sizeof buf) ? std::string(buf) : std::string();
}

Interface& entryFor(InterfaceTable& table, const char* name) {
  auto it = std::find_if(table.begin(), table.end(), [&](const Interface& i) { return i.name == name; });
  if (it != table.end()) return *it;
  table.push_back(Interface{name, {}});
  return table.back();
}

}  // namespace

InterfaceTable systemInterfaces() {
  InterfaceTable table;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return table;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_name == nullptr) continue;
    // Every link appears at least once (its AF_PACKET entry), so interfaces without an
    // address are known too: binding to one is not "no such interface".
    Interface& entry = entryFor(table, it->ifa_name);
    if (it->ifa_addr == nullptr) continue;
    std::string text;
    if (it->ifa_addr->sa_family == AF_INET) {
      text = v4Text(reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr);
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr)->sin6_addr;
      text = v6Text(a);
      // A link-local address is only bindable with its interface, as CoreDNS writes it.
      if (IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_MC_LINKLOCAL(&a)) text += std::string("%") + it->ifa_name;
    } else {
      continue;
    }
    if (!text.empty() && std::find(entry.addresses.begin(), entry.addresses.end(), text) == entry.addresses.end()) {
      entry.addresses.push_back(std::move(text));
    }
  }
  ::freeifaddrs(list);
  return table;
}

std::optional<std::string> canonicalAddress(std::string_view text) {
  if (text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return v4Text(v4);
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) return v6Text(v6);
  return std::nullopt;
}

}  // namespace moat::plugins::bind
