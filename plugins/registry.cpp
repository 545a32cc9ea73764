// Moat's plugins in execution order (DESIGN.md §3, CoreDNS's plugin.cfg order); the Corefile's
// order of lines does not matter. Plugins that only configure the server (bind) have no handler.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "conf/args.hpp"
#include "plugins/acl/acl.hpp"
#include "plugins/any/any.hpp"
#include "plugins/auto/auto.hpp"
#include "plugins/autopath/autopath.hpp"
#include "plugins/bind/bind.hpp"
#include "plugins/bufsize/bufsize.hpp"
#include "plugins/cancel/cancel.hpp"
#include "plugins/cache/cache.hpp"
#include "plugins/chaos/chaos.hpp"
#include "plugins/dns64/dns64.hpp"
#include "plugins/dnstap/dnstap.hpp"
#include "plugins/errors/errors.hpp"
#include "plugins/file/file.hpp"
#include "plugins/forward/forward.hpp"
#include "plugins/health/health.hpp"
#include "plugins/header/header.hpp"
#include "plugins/hosts/hosts.hpp"
#include "plugins/k8s_external/k8s_external.hpp"
#include "plugins/kubernetes/kubernetes.hpp"
#include "plugins/local/local.hpp"
#include "plugins/loadbalance/loadbalance.hpp"
#include "plugins/log/log.hpp"
#include "plugins/loop/loop.hpp"
#include "plugins/minimal/minimal.hpp"
#include "plugins/nsid/nsid.hpp"
#include "plugins/plugin.hpp"
#include "plugins/private/private.hpp"
#include "plugins/prometheus/prometheus.hpp"
#include "plugins/ready/ready.hpp"
#include "plugins/reload/reload.hpp"
#include "plugins/rewrite/rewrite.hpp"
#include "plugins/template/template.hpp"
#include "plugins/secondary/secondary.hpp"
#include "plugins/timeouts/timeouts.hpp"
#include "plugins/tls/tls.hpp"
#include "plugins/transfer/transfer.hpp"
#include "plugins/view/view.hpp"
#include "plugins/whoami/whoami.hpp"

namespace moat::plugins {

namespace {

const auto kPlugins = std::to_array<PluginSpec>({
    // First, as in plugin.cfg: the deadline is on the query before any plugin could wait.
    {"cancel", false, cancel::setupCancel},
    // The certificate of the block's tls:// listener, read by the runtime; no query path role.
    {"tls", true, tls::setupTls},
    // TCP limits of the block's listeners, read by the runtime; no query path role.
    {"timeouts", false, timeouts::setupTimeouts},
    {"reload", true, reload::setupReload},
    // First on the query path, as in plugin.cfg: nsid's onReply then runs last, on the reply
    // the client gets, cached and forwarded ones included.
    {"nsid", true, nsid::setupNsid},
    // Several stanzas are accepted as CoreDNS accepts them: the first applies, the others warn.
    {"bufsize", false, bufsize::setupBufsize},
    {"bind", false, bind::setupBind},
    {"health", true, health::setupHealth},
    {"ready", true, ready::setupReady},
    {"prometheus", true, prometheus::setupPrometheus},
    {"errors", true, errors::setupErrors},
    {"log", false, log::setupLog},
    // After log, as in plugin.cfg: it sees every query a later plugin answers, and the reply as
    // the client gets it (its onReply runs after theirs). Each stanza is one more tap.
    {"dnstap", false, dnstap::setupDnstap},
    // After log, as in plugin.cfg, and before everything that could send a name upstream: the
    // local names are answered here and never reach cache, forward or the egress check.
    // Several lines are read in order, as CoreDNS reads them.
    {"local", false, local::setupLocal},
    // Right after local, as in plugin.cfg: it sees what every plugin after it answers to an
    // AAAA question (cache included), and asks the whole server for A when that has no AAAA.
    // Several lines are read in order, as CoreDNS reads them.
    {"dns64", false, dns64::setupDns64},
    // any and chaos come right after log, as in plugin.cfg: before acl and cache, so an acl
    // does not stop their answers, and before loadbalance, whose shuffle they never pass
    // (CoreDNS's loadbalance only sees replies of plugins after it). Repeated lines are
    // accepted as CoreDNS accepts them (chaos warns that only its first counts).
    {"any", false, any::setupAny},
    {"chaos", false, chaos::setupChaos},
    {"loadbalance", false, loadbalance::setupLoadbalance},
    // Before cache, as in CoreDNS 1.14.7: a blocked client never gets an answer another client
    // had cached. Several stanzas per block are its rules, in order.
    {"acl", false, acl::setupAcl},
    {"cache", true, cache::setupCache},
    // After cache and before header, as in plugin.cfg: cache keys and stores the client's
    // question (rewrite gives the request and the reply their question back in onReply, which
    // runs before cache's), and every plugin after it, forward's egress check included, sees
    // the rewritten question. Several stanzas are its rules, in order, as CoreDNS's.
    {"rewrite", false, rewrite::setupRewrite},
    // header and minimal after cache, as in plugin.cfg: their onReply runs before cache's, so
    // the cache keeps the reply as they left it, and a cached reply is not changed twice.
    // header's later stanzas are ignored with a warning (CoreDNS reads the first with rules);
    // minimal may be repeated as CoreDNS allows.
    {"header", false, header::setupHeader},
    // After header and before minimal, as in plugin.cfg: cache (before it) keeps the reply the
    // client got under the name it asked, and every plugin that answers names (hosts,
    // kubernetes, forward with its egress check) answers each search-path try after it.
    {"autopath", true, autopath::setupAutoPath},
    {"minimal", false, minimal::setupMinimal},
    // After minimal, as in plugin.cfg: its answers pass header's and minimal's onReply; and
    // before the plugins that serve zones and forward, which it may fall through to. Several
    // stanzas are its templates, tried in order, as CoreDNS's.
    {"template", false, tmpl::setupTemplate},
    // Answers AXFR/IXFR before the plugins serving the zones see them (they refuse transfers);
    // several stanzas per block, the longest zone match wins, as in CoreDNS.
    {"transfer", false, transfer::setupTransfer},
    {"hosts", true, hosts::setupHosts},
    // Before kubernetes, as in plugin.cfg; it answers from the kubernetes plugin of its block.
    {"k8s_external", true, k8s_external::setupK8sExternal},
    {"kubernetes", true, kubernetes::setupKubernetes},
    // Several stanzas per block serve their zones side by side, as in CoreDNS.
    {"file", false, file::setupFile},
    // After file, as in CoreDNS's plugin.cfg.
    {"auto", true, auto_zone::setupAuto},
    // After auto, as in plugin.cfg; several stanzas per block pull their zones side by side.
    {"secondary", false, secondary::setupSecondary},
    {"loop", true, loop::setupLoop},
    {"forward", false, forward::setupForward},
    // Answers private names nothing above answered; before whoami, which answers everything.
    {"private", false, private_zone::setupPrivate, true},
    {"whoami", false, whoami::setupWhoami},
    // Last, as in CoreDNS's plugin.cfg: it chose the block before the chain ran.
    {"view", true, view::setupView},
});

// Every plugin of CoreDNS's plugin.cfg (1.14), so a missing plugin is told apart from a typo.
constexpr std::array<std::string_view, 57> kCoreDns = {
    "metadata", "geoip",    "cancel",   "tls",        "quic",      "proxyproto", "timeouts",
    "multisocket", "reload", "nsid",    "bufsize",    "bind",      "debug",      "trace",
    "ready",    "health",   "pprof",    "prometheus", "errors",    "log",        "dnstap",
    "local",    "dns64",    "acl",      "any",        "chaos",     "loadbalance", "tsig",
    "cache",    "rewrite",  "header",   "dnssec",     "autopath",  "minimal",    "template",
    "transfer", "hosts",    "route53",  "azure",      "clouddns",  "k8s_external", "kubernetes",
    "file",     "auto",     "secondary", "etcd",      "loop",      "forward",    "grpc",
    "erratic",  "whoami",   "on",       "sign",       "view",      "nomad",      "root",
    "grpc_server",
};

}  // namespace

std::span<const PluginSpec> registry() { return kPlugins; }

const PluginSpec* findPlugin(std::string_view name) {
  for (const PluginSpec& spec : registry()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool isCoreDnsPlugin(std::string_view name) {
  return std::find(kCoreDns.begin(), kCoreDns.end(), name) != kCoreDns.end();
}

bool isIgnorablePlugin(std::string_view name) { return name == "debug" || name == "pprof"; }

std::span<const std::string_view> coreDnsPluginNames() { return kCoreDns; }


std::string suggestPlugin(std::string_view word) {
  std::string_view best;
  // More than two edits is not a typo any more, nor is replacing the whole word ("-" is not "on").
  size_t bestDistance = std::min<size_t>(3, word.size());
  auto consider = [&](std::string_view candidate) {
    const size_t d = conf::editDistance(word, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  };
  for (std::string_view name : kCoreDns) consider(name);
  for (const PluginSpec& spec : kPlugins) consider(spec.name);  // Moat's own (private)
  return std::string(best);
}

}  // namespace moat::plugins
