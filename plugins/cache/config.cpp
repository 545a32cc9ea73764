#include "plugins/cache/config.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <string_view>

#include "conf/args.hpp"
#include "conf/zone.hpp"

namespace moat::plugins::cache {

namespace {

constexpr std::string_view kPlugin = "cache";
constexpr int64_t kMaxTtlArg = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxCapacity = 1 << 24;  // far above any sane cache; keeps sizes in 32 bits

// CoreDNS decides "TTL or zone" by whether strconv.Atoi accepts the first argument.
bool looksLikeInteger(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

conf::Result<uint32_t> positiveTtl(const conf::Token& t, std::string_view what) {
  auto v = conf::parseInt(t, kPlugin, what, 1, kMaxTtlArg);
  if (!v) return v.error();
  return static_cast<uint32_t>(*v);
}

// success|denial CAPACITY [TTL] [MINTTL]
conf::Result<bool> parseBounds(const conf::Directive& opt, TtlBounds& out) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 1, 3); !ok) return ok.error();
  auto cap = conf::parseInt(opt.args[0], kPlugin, "capacity", 0, kMaxCapacity);
  if (!cap) return cap.error();
  out.capacity = static_cast<uint32_t>(*cap);
  if (opt.args.size() > 1) {
    auto ttl = positiveTtl(opt.args[1], "TTL");
    if (!ttl) return ttl.error();
    out.maxTtl = *ttl;
  }
  if (opt.args.size() > 2) {
    auto min = conf::parseInt(opt.args[2], kPlugin, "min TTL", 0, kMaxTtlArg);
    if (!min) return min.error();
    out.minTtl = static_cast<uint32_t>(*min);
  }
  return true;
}

conf::Result<bool> appendZones(std::span<const conf::Token> args, std::vector<std::string>& out) {
  for (const conf::Token& arg : args) {
    auto zones = conf::normalizeZone(arg);
    if (!zones) return zones.error();
    out.insert(out.end(), zones->begin(), zones->end());
  }
  return true;
}

// disable success|denial [ZONES...]; no zones means every name.
conf::Result<bool> parseDisable(const conf::Directive& opt, CacheConfig& cfg) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 1, std::numeric_limits<size_t>::max()); !ok)
    return ok.error();
  const std::string& which = opt.args[0].text;
  std::vector<std::string>* target = nullptr;
  if (which == "success") target = &cfg.disableSuccess;
  else if (which == "denial") target = &cfg.disableDenial;
  else return conf::errorAt(opt.args[0], kPlugin,
                            "disable takes 'success' or 'denial', got '" + which + "'");
  target->clear();  // a later line replaces an earlier one, as in CoreDNS
  if (opt.args.size() == 1) {
    target->push_back(".");
    return true;
  }
  return appendZones(std::span(opt.args).subspan(1), *target);
}

conf::Result<bool> parseServfail(const conf::Directive& opt, CacheConfig& cfg) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
  auto d = conf::parseDuration(opt.args[0], kPlugin, "servfail");
  if (!d) return d.error();
  if (d->count() < 0)
    return conf::errorAt(opt.args[0], kPlugin, "servfail duration must not be negative");
  if (*d > kMaxServfailTtl) {
    return conf::errorAt(opt.args[0], kPlugin,
                         "caching SERVFAIL for more than 5m is not permitted (RFC 2308)");
  }
  cfg.servfailTtl = std::chrono::duration_cast<std::chrono::seconds>(*d);
  return true;
}

// prefetch AMOUNT [DURATION [PERCENTAGE%]]
conf::Result<bool> parsePrefetch(const conf::Directive& opt, PrefetchConfig& out) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 1, 3); !ok) return ok.error();
  auto amount = conf::parseInt(opt.args[0], kPlugin, "prefetch amount", 0, kMaxTtlArg);
  if (!amount) return amount.error();
  out.amount = static_cast<uint32_t>(*amount);
  if (opt.args.size() > 1) {
    auto d = conf::parseDuration(opt.args[1], kPlugin, "prefetch duration");
    if (!d) return d.error();
    if (d->count() < 0)
      return conf::errorAt(opt.args[1], kPlugin, "prefetch duration must not be negative");
    out.window = *d;
  }
  if (opt.args.size() > 2) {
    const conf::Token& t = opt.args[2];
    if (t.text.empty() || t.text.back() != '%') {
      return conf::errorAt(t, kPlugin,
                           "prefetch percentage must end with '%' (e.g. 10%), got '" + t.text + "'");
    }
    conf::Token number = t;
    number.text.pop_back();
    auto pct = conf::parseInt(number, kPlugin, "prefetch percentage", 10, 90);
    if (!pct) return pct.error();
    out.percentage = static_cast<uint32_t>(*pct);
  }
  return true;
}

// serve_stale [DURATION [immediate|verify]]
conf::Result<bool> parseServeStale(const conf::Directive& opt, StaleConfig& out) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 0, 2); !ok) return ok.error();
  out = StaleConfig{kDefaultStaleUpTo, false};
  if (!opt.args.empty()) {
    auto d = conf::parseDuration(opt.args[0], kPlugin, "serve_stale duration");
    if (!d) return d.error();
    if (d->count() < 0)
      return conf::errorAt(opt.args[0], kPlugin, "serve_stale duration must not be negative");
    out.upTo = *d;
  }
  if (opt.args.size() > 1) {
    std::string mode = opt.args[1].text;
    std::transform(mode.begin(), mode.end(), mode.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (mode != "immediate" && mode != "verify") {
      return conf::errorAt(opt.args[1], kPlugin,
                           "serve_stale refresh mode must be 'immediate' or 'verify', got '" +
                               opt.args[1].text + "'");
    }
    out.verify = mode == "verify";
  }
  return true;
}

void appendList(std::string& out, std::string_view name, const std::vector<std::string>& list) {
  out += name;
  out += '=';
  for (const std::string& item : list) {
    out += item;
    out += ',';
  }
  out += ';';
}

void appendBounds(std::string& out, std::string_view name, const TtlBounds& b) {
  out += std::string(name) + '=' + std::to_string(effectiveCapacity(b.capacity)) + '/' +
         std::to_string(b.maxTtl) + '/' + std::to_string(b.minTtl) + ';';
}

}  // namespace

std::string storageIdentity(const CacheConfig& config) {
  std::string out;
  appendList(out, "zones", config.zones);
  appendBounds(out, "success", config.success);
  appendBounds(out, "denial", config.denial);
  out += "servfail=" + std::to_string(config.servfailTtl.count()) + ';';
  appendList(out, "disable-success", config.disableSuccess);
  appendList(out, "disable-denial", config.disableDenial);
  return out;
}

uint32_t effectiveCapacity(uint32_t written) {
  return std::max(written / kShards, kMinShardSize) * kShards;
}

conf::Result<CacheConfig> parseCache(const SetupContext& ctx) {
  if (ctx.stanzas.empty()) return conf::errorAt(conf::Pos{}, "cache: no stanza to set up");
  if (ctx.stanzas.size() > 1)
    return conf::errorAt(ctx.stanzas[1]->name, kPlugin, "may appear only once per server block");
  const conf::Directive& d = *ctx.stanzas[0];
  CacheConfig cfg;
  cfg.zones = ctx.zones;

  std::span<const conf::Token> args = d.args;
  if (!args.empty() && looksLikeInteger(args[0].text)) {
    auto ttl = positiveTtl(args[0], "TTL");
    if (!ttl) return ttl.error();
    cfg.success.maxTtl = cfg.denial.maxTtl = *ttl;
    args = args.subspan(1);
  }
  if (!args.empty()) {
    cfg.zones.clear();
    if (auto ok = appendZones(args, cfg.zones); !ok) return ok.error();
  }

  for (const conf::Directive& opt : d.block) {
    const std::string& word = opt.name.text;
    conf::Result<bool> ok = true;
    if (word == "success") {
      ok = parseBounds(opt, cfg.success);
    } else if (word == "denial") {
      ok = parseBounds(opt, cfg.denial);
    } else if (word == "servfail") {
      ok = parseServfail(opt, cfg);
    } else if (word == "disable") {
      ok = parseDisable(opt, cfg);
    } else if (word == "keepttl") {
      ok = conf::expectArgs(opt, kPlugin, 0, 0);
      cfg.keepTtl = true;
    } else if (word == "prefetch") {
      ok = parsePrefetch(opt, cfg.prefetch);
    } else if (word == "serve_stale") {
      ok = parseServeStale(opt, cfg.stale);
    } else {
      return conf::unknownOption(opt, kPlugin,
                                 {"success", "denial", "prefetch", "serve_stale", "servfail",
                                  "disable", "keepttl"});
    }
    if (!ok) return ok.error();
  }
  return cfg;
}

}  // namespace moat::plugins::cache
