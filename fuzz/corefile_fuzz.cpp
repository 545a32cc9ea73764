// Fuzz target: a Corefile's text through the conf lexer and parser (imports from an in-memory
// source that includes the input itself, so import cycles come up; a fixed environment), then,
// as the runtime reads it before building anything: every server key, and each block's stanzas
// through the pure config parsers of the plugins (no files, no threads, no sockets). `forward`
// stanzas naming a file (a resolv.conf) are skipped: reading one is I/O. The hosts plugin's
// inline lines go through the hosts text parser. `acl` rules are parsed into their matchers;
// `bind` directives are resolved against a fixed interface table rather than the host's.
#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "conf/test_source.hpp"
#include "conf/zone.hpp"
#include "dns/zone_set.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/acl/config.hpp"
#include "plugins/bind/bind.hpp"
#include "plugins/cache/config.hpp"
#include "plugins/errors/config.hpp"
#include "plugins/forward/config.hpp"
#include "plugins/hosts/config.hpp"
#include "plugins/hosts/hosts_file.hpp"
#include "plugins/k8s_external/k8s_external.hpp"
#include "plugins/tls/tls.hpp"
#include "plugins/kubernetes/config.hpp"
#include "plugins/loadbalance/loadbalance.hpp"
#include "plugins/log/config.hpp"
#include "plugins/plugin.hpp"
#include "plugins/private/private.hpp"
#include "plugins/reload/reload.hpp"

namespace {

using namespace moat;
namespace plug = moat::plugins;

// A TO argument that would be read as a file rather than an address.
bool namesFile(const conf::Token& to) {
  std::string_view text = to.text;
  if (auto sep = text.find("://"); sep != std::string_view::npos) text.remove_prefix(sep + 3);
  return !text.empty() && !plug::forward::parseHostPort(text, 53).has_value();
}

void checkDiag(const conf::Diag& d) {
  FUZZ_CHECK(!d.message.empty());
  (void)d.str();
}

template <class T>
void check(const conf::Result<T>& r) {
  if (!r) checkDiag(r.error());
}

void parseBlock(const conf::ServerBlock& block, const std::vector<std::string>& zones,
                std::vector<conf::Diag>& warnings) {
  std::map<std::string, std::vector<const conf::Directive*>, std::less<>> byName;
  for (const conf::Directive& d : block.directives) byName[d.name.text].push_back(&d);
  auto stanzas = [&](std::string_view name) -> std::span<const conf::Directive* const> {
    auto it = byName.find(name);
    if (it == byName.end()) return {};
    return it->second;
  };

  plug::SetupContext ctx;
  ctx.block = &block;
  ctx.zones = zones;
  ctx.baseDir = "/nonexistent-moat-fuzz";
  ctx.warnings = &warnings;
  auto withStanzas = [&](std::string_view name) {
    auto s = stanzas(name);
    ctx.stanzas.assign(s.begin(), s.end());
    return !s.empty();
  };

  if (withStanzas("acl")) check(plug::acl::parseConfig(ctx.stanzas, ctx.zones, &warnings));
  if (withStanzas("bind")) {
    // No getifaddrs in a fuzz target: a pretend host with a loopback and one other interface.
    static const plug::bind::InterfaceTable kInterfaces = {
        {"lo", {"127.0.0.1", "::1"}},
        {"eth0", {"192.0.2.2", "fd00::2", "fe80::1%eth0"}},
        {"down0", {}},
    };
    auto parsed = plug::bind::parseStanzas(ctx.stanzas);
    check(parsed);
    if (parsed) check(plug::bind::resolve(*parsed, kInterfaces));
  }
  if (withStanzas("errors")) check(plug::errors::parseConfig(ctx.stanzas, &warnings));
  if (withStanzas("log")) check(plug::log::parseConfig(ctx.stanzas));
  if (withStanzas("loadbalance")) check(plug::loadbalance::parseConfig(ctx.stanzas));
  if (withStanzas("reload")) check(plug::reload::parseConfig(*ctx.stanzas.front()));
  if (withStanzas("cache")) check(plug::cache::parseCache(ctx));
  if (withStanzas("kubernetes")) check(plug::kubernetes::parseKubernetes(ctx));
  if (withStanzas("k8s_external")) check(plug::k8s_external::parseConfig(ctx));
  // The stanza only: loading its files is OpenSSL's business, not the Corefile's.
  if (withStanzas("tls")) {
    for (const conf::Directive* d : ctx.stanzas) check(plug::tls::parseTls(*d, ctx.baseDir));
  }
  if (withStanzas("hosts")) {
    auto config = plug::hosts::parseHosts(ctx);
    check(config);
    if (config) {
      dns::ZoneSet set;
      for (const std::string& z : config->zones) set.add(z);
      std::string text;
      for (const std::string& line : config->inlineLines) text += line + "\n";
      plug::hosts::parseHostsText(text, set);
    }
  }
  if (withStanzas("forward")) {
    bool files = false;
    for (const conf::Directive* d : ctx.stanzas) {
      for (size_t i = 1; i < d->args.size(); ++i) files = files || namesFile(d->args[i]);
    }
    if (!files) check(plug::forward::parseStanzas(ctx.stanzas, ctx.baseDir, &warnings));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  conf::test::MemorySource source;
  source.file("/fuzz/snippets.conf", "(common) {\n  errors\n  log . \"{remote} {name}\"\n}\n")
      .file("/fuzz/conf.d/a.conf", "example.org {\n  import common\n  whoami\n}\n")
      .file("/fuzz/conf.d/b.conf", "forward . 10.0.0.1 {\n  max_fails 3\n}\n")
      .file("/fuzz/self.conf", std::string(text))
      .directory("/fuzz/dir");
  static const conf::EnvLookup env = conf::test::envOf(
      {{"ZONE", "example.org"}, {"UPSTREAM", "10.0.0.1:53"}, {"EMPTY", ""}, {"BRACE", "{"}});
  std::vector<conf::Diag> warnings;
  conf::ParseOptions options{&source, env, &warnings};

  auto corefile = conf::parseCorefile(text, "/fuzz/Corefile", options);
  if (!corefile) {
    checkDiag(corefile.error());
    return 0;
  }
  for (const conf::Diag& w : warnings) checkDiag(w);

  std::vector<plug::private_zone::StanzaInput> privateStanzas;
  std::vector<std::vector<std::string>> blockZones;
  for (const conf::ServerBlock& block : corefile->blocks) {
    FUZZ_CHECK(!block.keys.empty());
    std::vector<std::string> zones;
    for (const conf::Token& key : block.keys) {
      auto keys = conf::parseServerKey(key, 53);
      check(keys);
      if (!keys) continue;
      for (const conf::ServerKey& k : *keys) {
        FUZZ_CHECK(!k.zone.empty() && k.zone.back() == '.');
        if (std::find(zones.begin(), zones.end(), k.zone) == zones.end()) zones.push_back(k.zone);
      }
    }
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "private") privateStanzas.push_back({&d, zones});
      for (const conf::Token& arg : d.args) conf::cidrToReverseZones(arg.text);
    }
    blockZones.push_back(std::move(zones));
  }
  check(plug::private_zone::buildPrivateZones(privateStanzas));
  check(plug::reload::findConfig(*corefile));
  plug::reload::corefileHash(*corefile);

  for (size_t i = 0; i < corefile->blocks.size(); ++i) {
    parseBlock(corefile->blocks[i], blockZones[i], warnings);
  }
  return 0;
}
