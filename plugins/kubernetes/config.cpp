#include "plugins/kubernetes/config.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>

#include "conf/args.hpp"
#include "conf/zone.hpp"

namespace moat::plugins::kubernetes {

namespace {

constexpr std::string_view kPlugin = "kubernetes";

// dnsutil.IsReverse: only names *below* in-addr.arpa./ip6.arpa. count, so a bare
// `in-addr.arpa` zone passes as a forward zone when CoreDNS picks the primary one.
bool isReverseZone(std::string_view zone) {
  auto endsWith = [&](std::string_view suffix) {
    return zone.size() >= suffix.size() && zone.substr(zone.size() - suffix.size()) == suffix;
  };
  return endsWith(".in-addr.arpa.") || endsWith(".ip6.arpa.");
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string joined(const std::vector<conf::Token>& args) {
  std::string out;
  for (const conf::Token& t : args) {
    if (!out.empty()) out += ' ';
    out += t.text;
  }
  return out;
}

std::string joinPath(const std::string& baseDir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative() && !baseDir.empty()) p = std::filesystem::path(baseDir) / p;
  return p.lexically_normal().string();
}

conf::Result<bool> zonesFrom(const std::vector<conf::Token>& args, std::vector<std::string>& out) {
  for (const conf::Token& arg : args) {
    auto zones = conf::normalizeZone(arg);
    if (!zones) return zones.error();
    for (std::string& z : *zones)
      if (std::find(out.begin(), out.end(), z) == out.end()) out.push_back(std::move(z));
  }
  return true;
}

conf::Result<int64_t> nonNegative(const conf::Directive& opt) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
  return conf::parseInt(opt.args[0], kPlugin, opt.name.text, 0,
                        std::numeric_limits<int32_t>::max());
}

conf::Result<bool> selector(const conf::Directive& opt, std::string& out) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 1, std::numeric_limits<size_t>::max()); !ok)
    return ok.error();
  // CoreDNS joins the arguments with spaces, so `labels a=b, c=d` is one selector.
  out = joined(opt.args);
  std::string why;
  if (!validLabelSelector(out, why)) {
    return conf::errorAt(opt.args[0], kPlugin,
                         "unable to parse " + opt.name.text + " selector '" + out + "': " + why);
  }
  return true;
}

conf::Diag unknown(const conf::Directive& opt) {
  return conf::unknownOption(
      opt, kPlugin,
      {"objects", "endpoint", "tls", "kubeconfig", "apiserver_qps", "apiserver_burst",
       "apiserver_max_inflight", "namespaces", "namespace_labels", "labels", "pods",
       "endpoint_pod_names", "ttl", "noendpoints", "fallthrough", "ignore", "multicluster",
       "zonal", "startup_timeout", "upstream"});
}

// One option line of the block; `state` carries what later checks need to point at.
struct Seen {
  const conf::Directive* namespaces = nullptr;
  const conf::Directive* namespaceLabels = nullptr;
  const conf::Directive* noEndpoints = nullptr;
  const conf::Directive* zonal = nullptr;
  const conf::Directive* multicluster = nullptr;
};

conf::Result<bool> parseOption(const conf::Directive& opt, const SetupContext& ctx,
                               KubernetesConfig& cfg, Seen& seen) {
  const std::string& word = opt.name.text;
  auto noArgs = [&]() { return conf::expectArgs(opt, kPlugin, 0, 0); };
  auto atLeastOne = [&]() {
    return conf::expectArgs(opt, kPlugin, 1, std::numeric_limits<size_t>::max());
  };
  if (opt.hasBlock) return conf::errorAt(opt.name, kPlugin, "'" + word + "' cannot open a block");

  if (word == "objects") {
    if (auto ok = atLeastOne(); !ok) return ok;
    for (const conf::Token& arg : opt.args) cfg.objects.push_back(joinPath(ctx.baseDir, arg.text));
  } else if (word == "endpoint") {
    if (auto ok = atLeastOne(); !ok) return ok;
    for (const conf::Token& arg : opt.args) cfg.endpoints.push_back(arg.text);
    if (opt.args.size() > 1) {
      cfg.warnings.push_back(conf::Diag{
          opt.args[1].pos,
          "kubernetes: multiple endpoints are deprecated, only the first ('" + opt.args[0].text +
              "') would be used",
          conf::Severity::Warning});
    }
  } else if (word == "tls") {
    if (auto ok = conf::expectArgs(opt, kPlugin, 3, 3); !ok) return ok;
    cfg.tls = TlsFiles{joinPath(ctx.baseDir, opt.args[0].text),
                       joinPath(ctx.baseDir, opt.args[1].text),
                       joinPath(ctx.baseDir, opt.args[2].text)};
  } else if (word == "kubeconfig") {
    if (auto ok = conf::expectArgs(opt, kPlugin, 1, 2); !ok) return ok;
    cfg.kubeconfig = joinPath(ctx.baseDir, opt.args[0].text);
    cfg.kubeconfigContext = opt.args.size() > 1 ? opt.args[1].text : "";
  } else if (word == "apiserver_qps") {
    if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok;
    const std::string& text = opt.args[0].text;
    double qps = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), qps);
    if (ec != std::errc() || end != text.data() + text.size() || !(qps >= 0)) {
      return conf::errorAt(opt.args[0], kPlugin,
                           "apiserver_qps must be a number >= 0, got '" + text + "'");
    }
    cfg.apiserverQps = qps;
  } else if (word == "apiserver_burst" || word == "apiserver_max_inflight") {
    auto n = nonNegative(opt);
    if (!n) return n.error();
    (word == "apiserver_burst" ? cfg.apiserverBurst : cfg.apiserverMaxInflight) = *n;
  } else if (word == "namespaces") {
    if (auto ok = atLeastOne(); !ok) return ok;
    for (const conf::Token& arg : opt.args) cfg.namespaces.push_back(lower(arg.text));
    seen.namespaces = &opt;
  } else if (word == "namespace_labels") {
    if (auto ok = selector(opt, cfg.namespaceLabels); !ok) return ok;
    seen.namespaceLabels = &opt;
  } else if (word == "labels") {
    if (auto ok = selector(opt, cfg.labels); !ok) return ok;
  } else if (word == "pods") {
    if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok;
    const std::string& mode = opt.args[0].text;
    if (mode == "disabled") {
      cfg.pods = PodMode::Disabled;
    } else if (mode == "insecure") {
      cfg.pods = PodMode::Insecure;
    } else if (mode == "verified") {
      cfg.pods = PodMode::Verified;
    } else {
      return conf::errorAt(opt.args[0], kPlugin,
                           "wrong value for pods: '" + mode +
                               "', must be one of: disabled, verified, insecure");
    }
  } else if (word == "endpoint_pod_names") {
    if (auto ok = noArgs(); !ok) return ok;
    cfg.endpointPodNames = true;
  } else if (word == "ttl") {
    if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok;
    auto ttl = conf::parseInt(opt.args[0], kPlugin, "ttl", 0, 3600);
    if (!ttl) return ttl.error();
    cfg.ttl = static_cast<uint32_t>(*ttl);
  } else if (word == "noendpoints") {
    if (auto ok = noArgs(); !ok) return ok;
    cfg.noEndpoints = true;
    seen.noEndpoints = &opt;
  } else if (word == "zonal") {
    if (auto ok = noArgs(); !ok) return ok;
    cfg.zonal = true;
    seen.zonal = &opt;
  } else if (word == "fallthrough") {
    auto fall = Fall::parse(opt);
    if (!fall) return fall.error();
    cfg.fall = std::move(*fall);
  } else if (word == "ignore") {
    if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok;
    if (opt.args[0].text != "empty_service") {
      return conf::errorAt(opt.args[0], kPlugin,
                           "unable to parse ignore value: '" + opt.args[0].text +
                               "' (only empty_service is known)");
    }
    cfg.ignoreEmptyService = true;
  } else if (word == "multicluster") {
    cfg.multiclusterZones.clear();
    if (auto ok = zonesFrom(opt.args, cfg.multiclusterZones); !ok) return ok;
    seen.multicluster = &opt;
  } else if (word == "startup_timeout") {
    if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok;
    auto d = conf::parseDuration(opt.args[0], kPlugin, "startup_timeout");
    if (!d) return d.error();
    // CoreDNS hands it to time.NewTicker, which panics on anything not positive.
    if (d->count() <= 0) {
      return conf::errorAt(opt.args[0], kPlugin,
                           "startup_timeout must be positive, got '" + opt.args[0].text + "'");
    }
    cfg.startupTimeout = *d;
  } else if (word == "upstream") {
    // Removed from CoreDNS (ExternalName targets always go through the server now); old
    // Corefiles still carry it, the incident's among them.
    cfg.warnings.push_back(conf::Diag{
        opt.name.pos,
        "kubernetes: 'upstream' was removed from CoreDNS and is ignored; ExternalName targets "
        "outside the zones are resolved through this server",
        conf::Severity::Warning});
  } else {
    return unknown(opt);
  }
  return true;
}

}  // namespace

conf::Result<KubernetesConfig> parseKubernetes(const SetupContext& ctx) {
  if (ctx.stanzas.empty()) return conf::errorAt(conf::Pos{}, "kubernetes: no stanza to set up");
  if (ctx.stanzas.size() > 1) {
    return conf::errorAt(ctx.stanzas[1]->name, kPlugin, "may appear only once per server block");
  }
  const conf::Directive& d = *ctx.stanzas[0];
  KubernetesConfig cfg;
  cfg.pos = d.name.pos;

  if (d.args.empty()) {
    cfg.zones = ctx.zones;
  } else if (auto ok = zonesFrom(d.args, cfg.zones); !ok) {
    return ok.error();
  }
  auto primary = std::find_if(cfg.zones.begin(), cfg.zones.end(),
                              [](const std::string& z) { return !isReverseZone(z); });
  if (primary == cfg.zones.end()) {
    return conf::errorAt(d.args.empty() ? d.name : d.args[0], kPlugin,
                         "non-reverse zone name must be used");
  }
  cfg.primaryZone = static_cast<size_t>(primary - cfg.zones.begin());

  Seen seen;
  for (const conf::Directive& opt : d.block) {
    if (auto ok = parseOption(opt, ctx, cfg, seen); !ok) return ok.error();
  }

  if (seen.namespaces != nullptr && seen.namespaceLabels != nullptr) {
    const conf::Directive* later =
        seen.namespaces->name.pos.line > seen.namespaceLabels->name.pos.line ? seen.namespaces
                                                                             : seen.namespaceLabels;
    return conf::errorAt(later->name, kPlugin, "namespaces and namespace_labels cannot both be set");
  }
  for (const std::string& zone : cfg.multiclusterZones) {
    if (std::find(cfg.zones.begin(), cfg.zones.end(), zone) == cfg.zones.end()) {
      std::string all;
      for (const std::string& z : cfg.zones) all += (all.empty() ? "" : " ") + z;
      return conf::errorAt(seen.multicluster->name, kPlugin,
                           "is not authoritative for the multicluster zone " + zone +
                               " (authoritative zones: " + all + ")");
    }
  }
  if (seen.zonal != nullptr && seen.noEndpoints != nullptr) {
    return conf::errorAt(seen.zonal->name, kPlugin,
                         "zonal requires the endpoint cache; remove noendpoints");
  }
  if (cfg.objects.empty()) {
    // A CoreDNS Corefile (the incident's among them) has no `objects`: it still loads, as an
    // empty cluster, so lint and explain can read it and the rest of the block serves.
    cfg.warnings.push_back(conf::Diag{
        d.name.pos,
        "kubernetes: no `objects PATH...` (Kubernetes YAML or JSON files): Moat's stub serves an "
        "empty cluster",
        conf::Severity::Warning});
  }
  return cfg;
}

}  // namespace moat::plugins::kubernetes
