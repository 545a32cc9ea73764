// Parsing `loadbalance` stanzas and matching `prefer` subnets.
#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "conf/args.hpp"
#include "plugins/loadbalance/loadbalance.hpp"

namespace moat::plugins::loadbalance {

namespace {
constexpr std::string_view kPlugin = "loadbalance";
constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};  // ::ffff:0:0/96
}  // namespace

bool Subnet::contains(std::span<const uint8_t> address) const {
  if (address.size() == 16 && std::memcmp(address.data(), kMapped, 12) == 0) {
    address = address.subspan(12);
  }
  if (address.size() != (v4 ? 4u : 16u)) return false;
  size_t full = prefix / 8;
  if (std::memcmp(address.data(), network.data(), full) != 0) return false;
  if (prefix % 8 == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - prefix % 8));
  return (address[full] & mask) == network[full];
}

std::optional<Subnet> parseSubnet(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  unsigned prefix = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + unsigned(c - '0');
  }
  std::string host(text.substr(0, slash));
  Subnet out;
  out.v4 = host.find(':') == std::string::npos;
  if (inet_pton(out.v4 ? AF_INET : AF_INET6, host.c_str(), out.network.data()) != 1) {
    return std::nullopt;
  }
  if (prefix > (out.v4 ? 32u : 128u)) return std::nullopt;
  size_t bytes = out.v4 ? 4 : 16;
  for (size_t i = 0; i < bytes; ++i) {
    unsigned kept = prefix > i * 8 ? std::min(8u, prefix - unsigned(i * 8)) : 0u;
    out.network[i] &= static_cast<uint8_t>(0xFF00u >> kept);
  }
  out.prefix = static_cast<uint8_t>(prefix);
  // Go treats a masked network that is IPv4-mapped as the IPv4 network in its last 32 bits.
  if (!out.v4 && std::memcmp(out.network.data(), kMapped, 12) == 0) {
    out.v4 = true;
    std::memmove(out.network.data(), out.network.data() + 12, 4);
    std::fill(out.network.begin() + 4, out.network.end(), 0);
    out.prefix = static_cast<uint8_t>(prefix - 96);
  }
  return out;
}

conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas) {
  Config config;
  for (const conf::Directive* stanza : stanzas) {
    if (!stanza->args.empty()) {
      const conf::Token& policy = stanza->args[0];
      if (policy.text == "weighted") {
        return conf::errorAt(policy, kPlugin, "policy 'weighted' is not implemented by Moat");
      }
      if (policy.text != "round_robin") {
        std::string message = "unknown policy '" + policy.text + "'";
        std::string guess = conf::didYouMean(policy.text, {"round_robin", "weighted"});
        if (!guess.empty()) message += ", did you mean '" + guess + "'?";
        return conf::errorAt(policy, kPlugin, message);
      }
      if (stanza->args.size() > 1) {
        const conf::Token& extra = stanza->args[1];
        return conf::errorAt(extra, kPlugin,
                             "unexpected argument '" + extra.text + "' after round_robin");
      }
    }
    for (const conf::Directive& option : stanza->block) {
      if (option.name.text != "prefer") return conf::unknownOption(option, kPlugin, {"prefer"});
      if (option.hasBlock) return conf::errorAt(option.name, kPlugin, "'prefer' takes no block");
      // No CIDR at all is accepted, as CoreDNS accepts it: it prefers nothing.
      for (const conf::Token& cidr : option.args) {
        auto subnet = parseSubnet(cidr.text);
        if (!subnet) {
          return conf::errorAt(cidr, kPlugin,
                               "invalid CIDR '" + cidr.text + "', expected e.g. 10.9.20.0/24");
        }
        config.prefer.push_back(*subnet);
      }
    }
  }
  return config;
}

}  // namespace moat::plugins::loadbalance
