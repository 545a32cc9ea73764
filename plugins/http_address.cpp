#include "plugins/http_address.hpp"

#include "conf/args.hpp"
#include "dns/server/http.hpp"

namespace moat::plugins {

conf::Result<std::string> httpAddress(const conf::Directive& stanza, std::string_view plugin,
                                      std::string_view defaultAddress) {
  if (auto n = conf::expectArgs(stanza, plugin, 0, 1); !n) return n.error();
  if (stanza.args.empty()) return std::string(defaultAddress);
  const conf::Token& token = stanza.args[0];
  std::string host;
  uint16_t port = 0;
  if (!dns::server::splitHostPort(token.text, host, port)) {
    return conf::errorAt(token, plugin, "address must be host:port (e.g. " + std::string(defaultAddress) +
                                            "), got '" + token.text + "'");
  }
  return token.text;
}

}  // namespace moat::plugins
