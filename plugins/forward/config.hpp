// The typed, validated form of `forward` stanzas (CoreDNS syntax, semantics reference §6).
// Parsing is pure apart from reading resolv.conf-style TO files; nothing here opens sockets,
// so lint and explain can use it as well as setup.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <memory>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "dns/name.hpp"
#include "dns/tls_context.hpp"
#include "dns/zone_set.hpp"

namespace boost::asio::ssl {
class context;
}

namespace moat::plugins::forward {

using namespace std::chrono_literals;

constexpr size_t kMaxUpstreams = 15;  // CoreDNS's limit, kept so per-query state stays fixed-size

enum class Policy : uint8_t { Random, RoundRobin, Sequential };

struct UpstreamAddr {
  boost::asio::ip::address address;
  uint16_t port = 53;
  std::string text;  // "192.0.2.1:53", "[2001:db8::1]:53": what logs and metrics show as `to`
  bool tls = false;     // tls:// or https://: reached over TLS
  bool doh = false;     // https:// (DNS over HTTPS, RFC 8484, on /dns-query)
  std::string tlsName;  // tls://IP%NAME: the name this endpoint's certificate must carry

  bool operator==(const UpstreamAddr& o) const {
    return address == o.address && port == o.port && tls == o.tls && doh == o.doh;
  }
};

// A set of header rcodes (0..15), as `failover` and `next` list them.
class RcodeSet {
 public:
  void add(uint8_t rcode) { bits_ |= static_cast<uint16_t>(1u << (rcode & 0x0F)); }
  bool has(uint8_t rcode) const { return rcode < 16 && (bits_ >> rcode & 1u) != 0; }
  bool empty() const { return bits_ == 0; }

 private:
  uint16_t bits_ = 0;
};

struct Options {
  bool forceTcp = false;
  bool preferUdp = false;
  // DNS 0x20 (Moat only): the name goes out in random case and the reply must echo it exactly.
  bool randomizeCase = false;
  std::chrono::nanoseconds expire = 10s;      // idle pooled TCP connection lifetime
  std::chrono::nanoseconds maxAge = 0s;       // 0: connections live as long as they are used
  int64_t maxIdleConns = 0;                   // 0: unlimited
  std::chrono::nanoseconds readTimeout = 2s;  // per attempt
  uint32_t maxFails = 2;                      // 0: never down, never health checked
  uint32_t maxConnectAttempts = 0;            // effective only when maxConnectAttemptsSet
  bool maxConnectAttemptsSet = false;
  std::chrono::nanoseconds healthCheck = 500ms;  // 0: no health checks (Moat)
  bool hcRecursionDesired = true;
  dns::WireName hcDomain{0};  // "." in wire form
  std::string hcDomainText = ".";
  Policy policy = Policy::Random;
  int64_t maxConcurrent = 0;  // 0: unlimited
  RcodeSet failover;
  RcodeSet next;
  bool nextOnNodata = false;
  bool failfastAllUnhealthy = false;
  std::optional<boost::asio::ip::address> sourceAddress;
  // `tls [CERT KEY] [CA]` and `tls_servername`: how tls:// upstreams are reached.
  dns::TlsFiles tlsFiles;
  std::string tlsServerName;  // "" = each endpoint's %NAME, else its IP address
  conf::Pos tlsAt;            // the `tls` option, where a file that does not load is reported
  bool dohGet = false;        // doh_method GET (CoreDNS's default is POST)

  // The connect-attempt cap for one query: CoreDNS's default is two passes over the list.
  uint32_t attemptCap(size_t upstreams) const {
    return maxConnectAttemptsSet ? maxConnectAttempts : static_cast<uint32_t>(2 * upstreams);
  }
};

struct Stanza {
  std::string from;                     // "example.org." or "."
  dns::WireName fromWire;               // lowercased wire form of `from`
  dns::ZoneSet except;                  // names (and their subdomains) handed to the next plugin
  std::vector<UpstreamAddr> upstreams;  // 1..15, duplicates dropped, Corefile order
  std::string toText;                   // the TO arguments as written ("/etc/resolv.conf")
  Options options;
  conf::Pos pos;  // the directive, for messages
  // Built at load when an upstream is tls:// (the files are read then, so a missing CA is a
  // load error at the `tls` line); shared by every worker's connections.
  std::shared_ptr<boost::asio::ssl::context> tlsContext;

  // The name a tls:// upstream's certificate is checked against: its own %NAME, else
  // tls_servername, else its IP address (as Go's crypto/tls does for CoreDNS).
  std::string tlsNameOf(const UpstreamAddr& a) const;

  // True when this stanza forwards `lowerName` (lowercased wire name): inside FROM and not
  // excepted. FROM itself is never excepted, as in CoreDNS.
  bool matches(std::span<const uint8_t> lowerName) const;
};

// One `forward FROM TO... { ... }` directive. `baseDir` resolves relative TO files; non-fatal
// findings (CIDR narrowed, empty resolv.conf skipped) go to `warnings` when given.
conf::Result<Stanza> parseStanza(const conf::Directive& directive, const std::string& baseDir,
                                 std::vector<conf::Diag>* warnings);

// Every stanza of a block, in Corefile order.
conf::Result<std::vector<Stanza>> parseStanzas(std::span<const conf::Directive* const> stanzas,
                                               const std::string& baseDir,
                                               std::vector<conf::Diag>* warnings);

// One TO argument: IP, IP:port, [v6]:port, dns://..., or a resolv.conf-style file (its
// `nameserver` lines, port 53), tls://IP[%NAME][:PORT] (port 853), https://IP[:PORT] (port 443).
// An existing file without nameservers yields an empty list and a warning.
conf::Result<std::vector<UpstreamAddr>> parseTo(const conf::Token& to, const std::string& baseDir,
                                                std::vector<conf::Diag>* warnings);

// "IP" or "IP:port" / "[v6]:port" without a scheme; nullopt when not an address.
std::optional<UpstreamAddr> parseHostPort(std::string_view text, uint16_t defaultPort);

// Nameserver addresses of a resolv.conf-style text, port 53, in file order.
std::vector<UpstreamAddr> parseResolvConf(std::string_view text);

}  // namespace moat::plugins::forward
