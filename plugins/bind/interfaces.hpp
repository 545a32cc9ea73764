// The host's network interfaces and their addresses, as `bind IFACE` listens on them. Read
// with getifaddrs (a netlink dump) when a configuration is loaded or reloaded, never while
// serving.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::plugins::bind {

struct Interface {
  std::string name;
  // IPv4 and IPv6, in the order the kernel lists them, as listen addresses: canonical text, an
  // IPv6 link-local address with its zone ("fe80::1%eth0") so it can be bound.
  std::vector<std::string> addresses;
};

using InterfaceTable = std::vector<Interface>;

// Every interface of the host, those without an address included. Empty when getifaddrs fails.
InterfaceTable systemInterfaces();

// An IP address as Go prints it after parsing: canonical IPv6 (inet_ntop), an IPv4-mapped IPv6
// address as IPv4. nullopt when `text` is not an address (zones are not accepted, as Go's
// net.ParseIP does not).
std::optional<std::string> canonicalAddress(std::string_view text);

}  // namespace moat::plugins::bind
