#include "plugins/server_label.hpp"

#include "conf/zone.hpp"

namespace moat::plugins {

std::string serverLabel(const SetupContext& ctx) {
  uint16_t port = 53;
  std::string scheme = "dns";
  std::string host;
  if (ctx.block != nullptr) {
    if (!ctx.block->keys.empty()) {
      auto keys = conf::parseServerKey(ctx.block->keys.front(), 53);
      if (keys && !keys->empty()) {
        port = keys->front().port;
        scheme = keys->front().scheme;  // "tls://:853" for DNS over TLS, as CoreDNS
      }
    }
    // Without resolved addresses (tools that set up plugins alone), the first bind argument.
    for (const conf::Directive& d : ctx.block->directives) {
      if (d.name.text == "bind" && !d.args.empty()) {
        host = d.args.front().text;
        break;
      }
    }
  }
  if (!ctx.listenAddresses.empty()) host = ctx.listenAddresses.front();
  // net.JoinHostPort: an IPv6 literal gets brackets.
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return scheme + "://" + host + ":" + std::to_string(port);
}

}  // namespace moat::plugins
