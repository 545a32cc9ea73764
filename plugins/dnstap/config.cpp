#include "plugins/dnstap/config.hpp"

#include "conf/args.hpp"
#include "dns/version.hpp"

namespace moat::plugins::dnstap {
namespace {

constexpr std::string_view kPlugin = "dnstap";

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// tcp://HOST:PORT, tcp://[V6]:PORT; a path after the address is not an address.
conf::Result<bool> parseTcp(const conf::Token& token, std::string_view rest, TapConfig& tap) {
  std::string_view host;
  std::string_view port;
  if (startsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return conf::errorAt(token, kPlugin, "'" + token.text + "' is not tcp://HOST:PORT");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || rest.find(':') != colon) {
      return conf::errorAt(token, kPlugin, "'" + token.text + "' is not tcp://HOST:PORT");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  const bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string_view::npos;
  if (host.empty() || !digits || std::stoi(std::string(port)) > 65535 || std::stoi(std::string(port)) == 0) {
    return conf::errorAt(token, kPlugin, "'" + token.text + "' is not tcp://HOST:PORT with a port from 1 to 65535");
  }
  tap.transport = TapConfig::Transport::Tcp;
  tap.host = std::string(host);
  tap.port = std::string(port);
  return true;
}

conf::Result<bool> parseEndpoint(const conf::Token& token, TapConfig& tap) {
  const std::string_view text = token.text;
  tap.endpoint = token.text;
  if (startsWith(text, "tls://")) {
    return conf::errorAt(token, kPlugin,
                         "tls:// endpoints are not supported by Moat (its Frame Streams writer has no "
                         "TLS); send to tcp:// or a unix socket, and put a TLS proxy in front");
  }
  if (startsWith(text, "tcp://")) return parseTcp(token, text.substr(6), tap);
  std::string_view path = text;
  if (startsWith(path, "unix://")) path = path.substr(7);
  if (path.empty()) return conf::errorAt(token, kPlugin, "the socket path is empty");
  if (path.find("://") != std::string_view::npos) {
    return conf::errorAt(token, kPlugin, "'" + token.text + "': the endpoint is a socket path, unix://PATH or tcp://HOST:PORT");
  }
  tap.transport = TapConfig::Transport::Unix;
  tap.path = std::string(path);
  return true;
}

conf::Result<TapConfig> parseStanza(const conf::Directive& stanza, const std::string& hostname) {
  TapConfig tap;
  tap.identity = hostname;
  tap.version = versionLine();
  if (auto n = conf::expectArgs(stanza, kPlugin, 1, 4); !n) return n.error();
  const std::vector<conf::Token>& args = stanza.args;
  if (args[0].text == "listen") {
    return conf::errorAt(args[0], kPlugin,
                         "'dnstap listen' (accepting sinks' connections) is not implemented by Moat; "
                         "run the reader as the listener and point dnstap at it");
  }
  if (auto ok = parseEndpoint(args[0], tap); !ok) return ok.error();
  if (args.size() >= 2) {
    // CoreDNS reads the second word as `full` or nothing; a typo there would silently drop the
    // wire messages, so Moat insists on the word itself.
    if (args[1].text != "full") {
      return conf::errorAt(args[1], kPlugin, "the word after the endpoint is 'full', got '" + args[1].text + "'");
    }
    tap.full = true;
  }
  if (args.size() >= 3) {
    auto mib = conf::parseInt(args[2], kPlugin, "the write buffer (MiB)", 1, 1024);
    if (!mib) return mib.error();
    tap.writeBufferMiB = static_cast<int>(*mib);
  }
  if (args.size() >= 4) {
    auto queue = conf::parseInt(args[3], kPlugin, "the queue (x 10000 messages)", 1, 4096);
    if (!queue) return queue.error();
    tap.queueMultiple = static_cast<int>(*queue);
  }
  for (const conf::Directive& option : stanza.block) {
    const std::string& name = option.name.text;
    if (name == "identity" || name == "version" || name == "extra") {
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      std::string& field = name == "identity" ? tap.identity : name == "version" ? tap.version : tap.extra;
      field = option.args[0].text;
    } else if (name == "skipverify") {
      if (auto n = conf::expectArgs(option, kPlugin, 0, 0); !n) return n.error();
      tap.skipVerify = true;
    } else if (name == "tls") {
      return conf::errorAt(option.name, kPlugin, "'tls' belongs to 'dnstap listen', which Moat does not implement");
    } else {
      return conf::unknownOption(option, kPlugin, {"identity", "version", "extra", "skipverify"});
    }
  }
  return tap;
}

}  // namespace

conf::Result<std::vector<TapConfig>> parseConfig(const std::vector<const conf::Directive*>& stanzas,
                                                 const std::string& hostname) {
  std::vector<TapConfig> taps;
  for (const conf::Directive* stanza : stanzas) {
    auto tap = parseStanza(*stanza, hostname);
    if (!tap) return tap.error();
    taps.push_back(std::move(*tap));
  }
  return taps;
}

}  // namespace moat::plugins::dnstap
