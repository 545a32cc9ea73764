#include "plugins/bind/bind.hpp"

#include <algorithm>

#include "conf/args.hpp"

namespace moat::plugins::bind {

namespace {

constexpr std::string_view kPlugin = "bind";

std::string interfaceNames(const InterfaceTable& interfaces) {
  std::string out;
  for (const Interface& i : interfaces) {
    if (!out.empty()) out += ", ";
    out += i.name;
  }
  return out.empty() ? "none found" : out;
}

// The addresses one token stands for. An interface name wins over an address, as CoreDNS looks
// the name up among the interfaces first.
conf::Result<std::vector<std::string>> expand(const conf::Token& token, const InterfaceTable& interfaces) {
  for (const Interface& i : interfaces) {
    if (i.name == token.text) return i.addresses;
  }
  if (auto address = canonicalAddress(token.text)) return std::vector<std::string>{*address};
  // An IPv6 address with its interface as zone, as `bind IFACE` lists a link-local one.
  if (size_t percent = token.text.find('%'); percent != std::string::npos) {
    auto address = canonicalAddress(std::string_view(token.text).substr(0, percent));
    const std::string zone = token.text.substr(percent + 1);
    const bool known = std::any_of(interfaces.begin(), interfaces.end(), [&](const Interface& i) { return i.name == zone; });
    if (address && address->find(':') != std::string::npos && known) {
      return std::vector<std::string>{*address + "%" + zone};
    }
  }
  return conf::errorAt(token, kPlugin,
                       "'" + token.text + "' is neither an IP address nor a network interface of this host (" +
                           interfaceNames(interfaces) + ")");
}

conf::Result<std::vector<std::string>> expandAll(const std::vector<conf::Token>& tokens,
                                                 const InterfaceTable& interfaces) {
  std::vector<std::string> out;
  for (const conf::Token& token : tokens) {
    auto addresses = expand(token, interfaces);
    if (!addresses) return addresses.error();
    out.insert(out.end(), addresses->begin(), addresses->end());
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

conf::Result<std::vector<BindStanza>> parseStanzas(const std::vector<const conf::Directive*>& stanzas) {
  std::vector<BindStanza> out;
  for (const conf::Directive* d : stanzas) {
    if (d->args.empty()) {
      return conf::errorAt(d->name, kPlugin, "expected at least one address or interface name");
    }
    BindStanza stanza{d, d->args, {}};
    for (const conf::Directive& option : d->block) {
      if (option.name.text != "except") return conf::unknownOption(option, kPlugin, {"except"});
      if (option.args.empty()) {
        return conf::errorAt(option.name, kPlugin, "'except' needs at least one address or interface name");
      }
      if (option.hasBlock) return conf::errorAt(option.name, kPlugin, "'except' takes no block");
      // CoreDNS keeps only the last `except` line; every line counts here (see README).
      stanza.except.insert(stanza.except.end(), option.args.begin(), option.args.end());
    }
    out.push_back(std::move(stanza));
  }
  return out;
}

conf::Result<std::vector<std::string>> resolve(const std::vector<BindStanza>& stanzas,
                                               const InterfaceTable& interfaces) {
  std::vector<std::string> out;
  for (const BindStanza& stanza : stanzas) {
    auto targets = expandAll(stanza.targets, interfaces);
    if (!targets) return targets.error();
    auto except = expandAll(stanza.except, interfaces);
    if (!except) return except.error();
    for (const std::string& address : *targets) {
      if (!contains(*except, address) && !contains(out, address)) out.push_back(address);
    }
  }
  if (!stanzas.empty() && out.empty()) {
    // CoreDNS would silently serve this block nowhere; that is never what was meant.
    return conf::errorAt(stanzas.front().directive->name, kPlugin,
                         "no address left to listen on (interfaces without addresses, or all excluded)");
  }
  return out;
}

conf::Result<std::vector<std::string>> bindAddresses(const std::vector<const conf::Directive*>& stanzas) {
  auto parsed = parseStanzas(stanzas);
  if (!parsed) return parsed.error();
  if (parsed->empty()) return std::vector<std::string>{};
  return resolve(*parsed, systemInterfaces());
}

conf::Result<HandlerPtr> setupBind(const SetupContext& ctx) {
  auto addrs = bindAddresses(ctx.stanzas);
  if (!addrs) return addrs.error();
  return HandlerPtr{};
}

}  // namespace moat::plugins::bind
