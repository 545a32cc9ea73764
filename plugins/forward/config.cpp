// `forward FROM TO... { options }` to a Stanza, with CoreDNS's defaults and checks. Every error
// names the token it is about.
#include "plugins/forward/config.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "conf/args.hpp"
#include "conf/zone.hpp"

namespace moat::plugins::forward {
namespace {

constexpr std::string_view kPlugin = "forward";

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Header rcodes by name, as miekg/dns spells them (CoreDNS's StringToRcode).
std::optional<uint8_t> rcodeByName(std::string_view name) {
  static constexpr std::string_view kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                "NXRRSET", "NOTAUTH", "NOTZONE"};
  auto u = upper(name);
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (u == kNames[i]) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

bool isExtendedRcode(std::string_view name) {
  static constexpr std::string_view kExtended[] = {"BADSIG",  "BADVERS",  "BADKEY",
                                                   "BADTIME", "BADMODE",  "BADNAME",
                                                   "BADALG",  "BADTRUNC", "BADCOOKIE"};
  auto u = upper(name);
  return std::find(std::begin(kExtended), std::end(kExtended), u) != std::end(kExtended);
}

conf::Result<bool> parseRcodes(const conf::Directive& option, RcodeSet& into, bool allowNoError) {
  if (auto ok = conf::expectArgs(option, kPlugin, 1, 64); !ok) return ok.error();
  for (const auto& arg : option.args) {
    auto rc = rcodeByName(arg.text);
    if (!rc) {
      if (isExtendedRcode(arg.text)) {
        return conf::errorAt(arg, kPlugin,
                             "extended rcode '" + arg.text + "' is not implemented by Moat");
      }
      return conf::errorAt(arg, kPlugin, "'" + arg.text + "' is not a valid rcode");
    }
    if (*rc == 0 && !allowNoError) {
      return conf::errorAt(arg, kPlugin, "NOERROR cannot be used in " + option.name.text);
    }
    into.add(*rc);
  }
  return true;
}

conf::Result<std::chrono::nanoseconds> durationAt(const conf::Directive& option,
                                                  const conf::Token& token, bool positive) {
  auto d = conf::parseDuration(token, kPlugin, option.name.text);
  if (!d) return d.error();
  if (*d < std::chrono::nanoseconds::zero() ||
      (positive && *d == std::chrono::nanoseconds::zero())) {
    return conf::errorAt(
        token, kPlugin, option.name.text + (positive ? " must be positive" : " can't be negative"));
  }
  return *d;
}

conf::Result<std::chrono::nanoseconds> durationArg(const conf::Directive& option, bool positive) {
  if (auto ok = conf::expectArgs(option, kPlugin, 1, 1); !ok) return ok.error();
  return durationAt(option, option.args[0], positive);
}

conf::Result<int64_t> intArg(const conf::Directive& option, int64_t max) {
  if (auto ok = conf::expectArgs(option, kPlugin, 1, 1); !ok) return ok.error();
  return conf::parseInt(option.args[0], kPlugin, option.name.text, 0, max);
}

conf::Result<bool> parseHealthCheck(const conf::Directive& option, Options& o) {
  if (auto ok = conf::expectArgs(option, kPlugin, 1, 4); !ok) return ok.error();
  auto d = durationAt(option, option.args[0], false);
  if (!d) return d.error();
  o.healthCheck = *d;
  for (size_t i = 1; i < option.args.size(); ++i) {
    const auto& arg = option.args[i];
    if (arg.text == "no_rec") {
      o.hcRecursionDesired = false;
    } else if (arg.text == "domain") {
      if (i + 1 >= option.args.size()) {
        return conf::errorAt(arg, kPlugin, "health_check: domain needs a name");
      }
      const auto& name = option.args[++i];
      auto wire = dns::nameFromText(name.text);
      if (!wire) {
        return conf::errorAt(name, kPlugin, "health_check: invalid domain name " + name.text);
      }
      o.hcDomain = std::move(*wire);
      o.hcDomainText = dns::fqdnLower(name.text);
    } else {
      return conf::errorAt(arg, kPlugin, "health_check: unknown option " + arg.text);
    }
  }
  return true;
}

conf::Result<bool> parseExcept(const conf::Directive& option, Stanza& s,
                               std::vector<conf::Diag>* warnings) {
  if (auto ok = conf::expectArgs(option, kPlugin, 1, 4096); !ok) return ok.error();
  for (const auto& arg : option.args) {
    auto zones = conf::normalizeZone(arg);
    if (!zones) return zones.error();
    for (const auto& zone : *zones) {
      if (zone == s.from) {
        // CoreDNS ignores this silently (FROM is never excepted); it is always a mistake.
        return conf::errorAt(arg, kPlugin, "FROM '" + s.from + "' cannot be excepted");
      }
      if (!conf::isSubzone(zone, s.from) && !conf::isSubzone(s.from, zone) && warnings != nullptr) {
        warnings->push_back(conf::Diag{
            arg.pos,
            "forward: except '" + zone + "' is outside FROM '" + s.from + "' and has no effect",
            conf::Severity::Warning});
      }
      s.except.add(zone);
    }
  }
  return true;
}

conf::Result<bool> flagOption(const conf::Directive& option, bool& flag) {
  if (auto ok = conf::expectArgs(option, kPlugin, 0, 0); !ok) return ok.error();
  flag = true;
  return true;
}

conf::Result<bool> parseOption(const conf::Directive& option, Stanza& s,
                               std::vector<conf::Diag>* warnings) {
  Options& o = s.options;
  const std::string& name = option.name.text;
  if (option.hasBlock) return conf::errorAt(option.name, kPlugin, name + " takes no block");

  if (name == "except") return parseExcept(option, s, warnings);
  if (name == "force_tcp") return flagOption(option, o.forceTcp);
  if (name == "prefer_udp") return flagOption(option, o.preferUdp);
  if (name == "randomize_case") return flagOption(option, o.randomizeCase);
  if (name == "next_on_nodata") return flagOption(option, o.nextOnNodata);
  if (name == "failfast_all_unhealthy_upstreams") return flagOption(option, o.failfastAllUnhealthy);
  if (name == "health_check") return parseHealthCheck(option, o);
  if (name == "failover") return parseRcodes(option, o.failover, false);
  if (name == "next") return parseRcodes(option, o.next, true);
  if (name == "expire" || name == "max_age" || name == "read_timeout") {
    auto d = durationArg(option, name == "read_timeout");
    if (!d) return d.error();
    (name == "expire" ? o.expire : name == "max_age" ? o.maxAge : o.readTimeout) = *d;
    return true;
  }
  if (name == "max_fails" || name == "max_connect_attempts") {
    auto n = intArg(option, UINT32_MAX);
    if (!n) return n.error();
    if (name == "max_fails") {
      o.maxFails = static_cast<uint32_t>(*n);
    } else {
      o.maxConnectAttempts = static_cast<uint32_t>(*n);
      o.maxConnectAttemptsSet = true;
    }
    return true;
  }
  if (name == "max_concurrent" || name == "max_idle_conns") {
    auto n = intArg(option, INT32_MAX);
    if (!n) return n.error();
    (name == "max_concurrent" ? o.maxConcurrent : o.maxIdleConns) = *n;
    return true;
  }
  if (name == "policy") {
    if (auto ok = conf::expectArgs(option, kPlugin, 1, 1); !ok) return ok.error();
    static constexpr std::pair<std::string_view, Policy> kPolicies[] = {
        {"random", Policy::Random},
        {"round_robin", Policy::RoundRobin},
        {"sequential", Policy::Sequential},
    };
    for (const auto& [word, policy] : kPolicies) {
      if (option.args[0].text == word) {
        o.policy = policy;
        return true;
      }
    }
    return conf::errorAt(option.args[0], kPlugin, "unknown policy '" + option.args[0].text + "'");
  }
  if (name == "source_address") {
    if (auto ok = conf::expectArgs(option, kPlugin, 1, 1); !ok) return ok.error();
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(option.args[0].text, ec);
    if (ec) {
      return conf::errorAt(option.args[0], kPlugin, "invalid IP address: " + option.args[0].text);
    }
    o.sourceAddress = addr;
    return true;
  }
  if (name == "tls") {
    // CoreDNS's forms: none (system roots), CA, CERT KEY, CERT KEY CA.
    if (auto ok = conf::expectArgs(option, kPlugin, 0, 3); !ok) return ok.error();
    const auto& a = option.args;
    o.tlsFiles = {};
    if (a.size() == 1) o.tlsFiles.ca = a[0].text;
    if (a.size() >= 2) o.tlsFiles.cert = a[0].text, o.tlsFiles.key = a[1].text;
    if (a.size() == 3) o.tlsFiles.ca = a[2].text;
    o.tlsAt = option.name.pos;
    return true;
  }
  if (name == "tls_servername") {
    if (auto ok = conf::expectArgs(option, kPlugin, 1, 1); !ok) return ok.error();
    o.tlsServerName = option.args[0].text;
    for (auto& c : o.tlsServerName) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return true;
  }
  if (name == "doh_method") {
    if (auto ok = conf::expectArgs(option, kPlugin, 1, 1); !ok) return ok.error();
    const auto& m = option.args[0].text;
    if (m != "GET" && m != "POST") {
      return conf::errorAt(option.args[0], kPlugin, "doh_method must be either GET or POST");
    }
    o.dohGet = m == "GET";
    return true;
  }
  if (name == "resolver") {
    // Only meaningful with hostname upstreams, which Moat does not resolve.
    return conf::errorAt(option.name, kPlugin, name + " is not implemented by Moat");
  }
  // clang-format off
  return conf::unknownOption(option, kPlugin,
      {"except", "force_tcp", "prefer_udp", "expire", "max_age", "max_idle_conns", "read_timeout",
       "max_fails", "max_connect_attempts", "health_check", "policy", "max_concurrent", "next",
       "next_on_nodata", "failover", "source_address", "failfast_all_unhealthy_upstreams", "tls",
       "tls_servername", "doh_method", "resolver", "randomize_case"});
  // clang-format on
}

// For tls:// upstreams: the client context, made now so a file that does not load is a load
// error (lint reports it too). Relative files are taken from `baseDir`, as TO files are.
conf::Result<bool> buildTls(Stanza& s, const conf::Directive& directive, const std::string& baseDir) {
  auto& o = s.options;
  const bool anyTls = std::any_of(s.upstreams.begin(), s.upstreams.end(), [](const auto& a) { return a.tls; });
  if (!anyTls) return true;
  for (const auto& a : s.upstreams) {
    if (a.tls && !a.doh && !a.tlsName.empty() && !o.tlsServerName.empty()) {
      return conf::errorAt(directive.name, kPlugin,
                           "tls_servername must not be set when an upstream names its own server "
                           "(tls://IP%" + a.tlsName + ")");
    }
  }
  auto resolve = [&baseDir](std::string& path) {
    if (!path.empty() && path.front() != '/' && !baseDir.empty()) path = baseDir + "/" + path;
  };
  resolve(o.tlsFiles.cert);
  resolve(o.tlsFiles.key);
  resolve(o.tlsFiles.ca);
  std::string error;
  s.tlsContext = dns::makeClientTlsContext(o.tlsFiles, error);
  if (!s.tlsContext) return conf::errorAt(o.tlsAt.line != 0 ? o.tlsAt : directive.name.pos, "forward: " + error);
  return true;
}

}  // namespace

std::string Stanza::tlsNameOf(const UpstreamAddr& a) const {
  if (!a.tlsName.empty()) return a.tlsName;
  if (!options.tlsServerName.empty()) return options.tlsServerName;
  return a.address.to_string();
}

bool Stanza::matches(std::span<const uint8_t> lowerName) const {
  if (!dns::isSubdomain(lowerName, fromWire)) return false;
  if (lowerName.size() == fromWire.size()) return true;  // FROM itself: never excepted
  return !except.contains(lowerName);
}

conf::Result<Stanza> parseStanza(const conf::Directive& directive, const std::string& baseDir,
                                 std::vector<conf::Diag>* warnings) {
  Stanza s;
  s.pos = directive.name.pos;
  if (directive.args.size() < 2) {
    return conf::errorAt(directive.name, kPlugin, "expected FROM and at least one TO");
  }
  const auto& fromToken = directive.args[0];
  auto zones = conf::normalizeZone(fromToken);
  if (!zones) return zones.error();
  if (zones->empty()) {
    return conf::errorAt(fromToken, kPlugin, "unable to normalize '" + fromToken.text + "'");
  }
  s.from = zones->front();
  if (zones->size() > 1 && warnings != nullptr) {
    warnings->push_back(conf::Diag{fromToken.pos,
                                   "forward: '" + fromToken.text + "' expands to " +
                                       std::to_string(zones->size()) + " zones; only '" + s.from +
                                       "' is forwarded",
                                   conf::Severity::Warning});
  }
  auto wire = dns::nameFromText(s.from);
  if (!wire) return conf::errorAt(fromToken, kPlugin, "invalid zone '" + fromToken.text + "'");
  s.fromWire = dns::lowercased(*wire);

  // Options first, as CoreDNS does, so every TO is checked with the final settings.
  for (const auto& option : directive.block) {
    if (auto ok = parseOption(option, s, warnings); !ok) return ok.error();
  }
  if (s.options.maxAge > std::chrono::nanoseconds::zero() && s.options.maxAge < s.options.expire) {
    return conf::errorAt(directive.name, kPlugin, "max_age must not be less than expire");
  }

  for (size_t i = 1; i < directive.args.size(); ++i) {
    s.toText += (i > 1 ? " " : "") + directive.args[i].text;
    auto addrs = parseTo(directive.args[i], baseDir, warnings);
    if (!addrs) return addrs.error();
    for (auto& a : *addrs) {
      if (std::find(s.upstreams.begin(), s.upstreams.end(), a) == s.upstreams.end()) {
        s.upstreams.push_back(std::move(a));
      }
    }
  }
  if (s.upstreams.empty()) {
    return conf::errorAt(directive.args[1], kPlugin, "no valid upstream addresses found");
  }
  if (auto ok = buildTls(s, directive, baseDir); !ok) return ok.error();
  if (s.upstreams.size() > kMaxUpstreams) {
    return conf::errorAt(directive.args[1], kPlugin,
                         "more than " + std::to_string(kMaxUpstreams) +
                             " upstreams configured: " + std::to_string(s.upstreams.size()));
  }
  return s;
}

conf::Result<std::vector<Stanza>> parseStanzas(std::span<const conf::Directive* const> stanzas,
                                               const std::string& baseDir,
                                               std::vector<conf::Diag>* warnings) {
  std::vector<Stanza> out;
  if (stanzas.size() > 255) {  // per-query state keeps the stanza index in a byte
    return conf::errorAt(stanzas[255]->name, kPlugin, "more than 255 forward stanzas in one block");
  }
  out.reserve(stanzas.size());
  for (const auto* d : stanzas) {
    auto s = parseStanza(*d, baseDir, warnings);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace moat::plugins::forward
