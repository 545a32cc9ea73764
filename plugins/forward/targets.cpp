// TO arguments of `forward`: addresses, schemes and resolv.conf-style files.
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "plugins/forward/config.hpp"

namespace moat::plugins::forward {
namespace {

namespace ip = boost::asio::ip;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<ip::address> parseIp(std::string_view text) {
  // An IPv6 zone ("fe80::1%eth0") names an interface; Moat only talks to global or loopback
  // addresses, so a zone makes the text "not an address" and the caller reports it.
  boost::system::error_code ec;
  auto addr = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return addr;
}

std::optional<uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

std::string addrText(const ip::address& address, uint16_t port) {
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

std::string resolvePath(const std::string& path, const std::string& baseDir) {
  if (path.empty() || path.front() == '/' || baseDir.empty()) return path;
  return baseDir.back() == '/' ? baseDir + path : baseDir + "/" + path;
}

}  // namespace

namespace {

// tls://IP[:PORT] or tls://IP%NAME[:PORT] ([v6] with a port): port 853 by default.
conf::Result<std::vector<UpstreamAddr>> parseTlsTo(const conf::Token& to, std::string_view text) {
  std::string name;
  std::string hostPort(text);
  if (auto pct = text.find('%'); pct != std::string_view::npos) {
    // The name runs to the port's colon, if any ("9.9.9.9%dns.quad9.net:10853").
    auto rest = text.substr(pct + 1);
    auto colon = rest.find(':');
    name = std::string(rest.substr(0, colon));
    hostPort = std::string(text.substr(0, pct));
    if (colon != std::string_view::npos) hostPort += std::string(rest.substr(colon));
    if (name.empty()) return conf::errorAt(to.pos, "forward: empty server name in '" + to.text + "'");
  }
  auto addr = parseHostPort(hostPort, 853);
  if (!addr) {
    return conf::errorAt(to.pos, "forward: '" + to.text + "' is not tls://IP[%NAME][:PORT] (hostname "
                                 "upstreams are not implemented by Moat)");
  }
  addr->tls = true;
  addr->tlsName = lower(name);
  return std::vector<UpstreamAddr>{*addr};
}

// https://IP[:PORT], queries POSTed (or sent with GET) to /dns-query as CoreDNS does; a path is
// refused, as CoreDNS refuses it.
conf::Result<std::vector<UpstreamAddr>> parseHttpsTo(const conf::Token& to, std::string_view text) {
  if (text.find('/') != std::string_view::npos) {
    return conf::errorAt(to.pos, "forward: paths are not allowed in https:// upstreams (/dns-query is "
                                 "used): " + to.text);
  }
  auto addr = parseHostPort(text, 443);
  if (!addr) {
    return conf::errorAt(to.pos, "forward: '" + to.text + "' is not https://IP[:PORT] (hostname "
                                 "upstreams are not implemented by Moat)");
  }
  addr->tls = true;
  addr->doh = true;
  return std::vector<UpstreamAddr>{*addr};
}

}  // namespace

std::optional<UpstreamAddr> parseHostPort(std::string_view text, uint16_t defaultPort) {
  std::string_view host = text;
  uint16_t port = defaultPort;
  if (!text.empty() && text.front() == '[') {
    // "[v6]" or "[v6]:port"
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      auto p = parsePort(rest.substr(1));
      if (!p) return std::nullopt;
      port = *p;
    }
    auto addr = parseIp(host);
    if (!addr || !addr->is_v6()) return std::nullopt;
    return UpstreamAddr{*addr, port, addrText(*addr, port)};
  }
  // A single colon separates IPv4 and port; several colons mean a bare IPv6 address (Go's
  // SplitHostPort refuses those, so CoreDNS takes them as an address with the default port).
  auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon);
    auto p = parsePort(text.substr(colon + 1));
    if (!p) return std::nullopt;
    port = *p;
  }
  auto addr = parseIp(host);
  if (!addr) return std::nullopt;
  return UpstreamAddr{*addr, port, addrText(*addr, port)};
}

std::vector<UpstreamAddr> parseResolvConf(std::string_view text) {
  std::vector<UpstreamAddr> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto cut = line.find_first_of("#;");
    if (cut != std::string::npos) line.resize(cut);
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    // resolv.conf may carry an IPv6 zone ("fe80::1%eth0"); CoreDNS strips it.
    if (auto pct = value.find('%'); pct != std::string::npos) value.resize(pct);
    auto addr = parseIp(value);
    if (!addr) continue;  // the libc resolver ignores such lines too
    out.push_back(UpstreamAddr{*addr, 53, addrText(*addr, 53)});
  }
  return out;
}

conf::Result<std::vector<UpstreamAddr>> parseTo(const conf::Token& to, const std::string& baseDir,
                                                std::vector<conf::Diag>* warnings) {
  std::string_view text = to.text;
  std::string scheme;
  if (auto sep = text.find("://"); sep != std::string_view::npos) {
    scheme = lower(text.substr(0, sep));
    text = text.substr(sep + 3);
  }
  if (scheme == "tls") return parseTlsTo(to, text);
  if (scheme == "https") return parseHttpsTo(to, text);
  if (!scheme.empty() && scheme != "dns") {
    return conf::errorAt(
        to.pos, "forward: '" + scheme + "' is not supported as a destination protocol: " + to.text);
  }
  if (text.empty()) return conf::errorAt(to.pos, "forward: invalid address '" + to.text + "'");
  if (auto addr = parseHostPort(text, 53)) return std::vector<UpstreamAddr>{*addr};

  // Not an address: a resolv.conf-style file, read now (CoreDNS reads it once at start too).
  std::string path = resolvePath(std::string(text), baseDir);
  std::ifstream file(path);
  if (!file) {
    return conf::errorAt(to.pos, "forward: '" + to.text +
                                     "' is not an IP address or a readable file (hostname "
                                     "upstreams are not implemented by Moat)");
  }
  std::ostringstream body;
  body << file.rdbuf();
  auto servers = parseResolvConf(body.str());
  if (servers.empty() && warnings != nullptr) {
    // CoreDNS skips a file without nameservers; the stanza fails only if nothing remains.
    warnings->push_back(conf::Diag{to.pos, "forward: no nameserver found in '" + path + "'",
                                   conf::Severity::Warning});
  }
  return servers;
}

}  // namespace moat::plugins::forward
