#include "plugins/bind/bind.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "conf/args.hpp"

namespace moat::plugins::bind {

namespace {
bool isIp(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}
}  // namespace

conf::Result<std::vector<std::string>> bindAddresses(const std::vector<const conf::Directive*>& stanzas) {
  std::vector<std::string> out;
  for (const conf::Directive* d : stanzas) {
    if (d->args.empty()) return conf::errorAt(d->name, "bind", "expected at least one address");
    if (d->hasBlock) {
      return conf::errorAt(d->name, "bind", "the 'except' block is not implemented by Moat");
    }
    for (const conf::Token& t : d->args) {
      // CoreDNS also accepts interface names; Moat takes addresses only, so say so clearly.
      if (!isIp(t.text)) return conf::errorAt(t, "bind", "expected an IP address, got '" + t.text + "'");
      if (std::find(out.begin(), out.end(), t.text) == out.end()) out.push_back(t.text);
    }
  }
  return out;
}

conf::Result<HandlerPtr> setupBind(const SetupContext& ctx) {
  auto addrs = bindAddresses(ctx.stanzas);
  if (!addrs) return addrs.error();
  return HandlerPtr{};
}

}  // namespace moat::plugins::bind
