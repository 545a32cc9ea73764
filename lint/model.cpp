#include "lint/model.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "conf/parser.hpp"
#include "dns/name.hpp"
#include "plugins/bind/bind.hpp"
#include "plugins/cache/config.hpp"
#include "plugins/file/zone_check.hpp"
#include "plugins/kubernetes/objects.hpp"
#include "plugins/plugin.hpp"
#include "plugins/private/private.hpp"
#include "plugins/tls/tls.hpp"

namespace moat::lint {

namespace {

constexpr uint16_t kDefaultPort = 53;  // lint has no -dns.port flag; keys without a port get 53

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// A setup error: unknown options keep their own id, everything else is invalid configuration.
void addSetupError(const conf::Diag& diag, Findings& findings) {
  if (contains(diag.message, "unknown option") || contains(diag.message, "unknown property") ||
      contains(diag.message, "rewrite: unknown")) {
    findings.add(diag, "option/unknown");
  } else {
    findings.add(diag, "config/invalid");
  }
}

// Directive names Moat cannot run, and once-per-block plugins written twice. The server stops
// at the first of these; lint reports every one.
void checkDirectives(const conf::ServerBlock& block, Findings& findings) {
  std::vector<const conf::Directive*> seen;
  for (const conf::Directive& d : block.directives) {
    const std::string& name = d.name.text;
    const plugins::PluginSpec* spec = plugins::findPlugin(name);
    if (spec == nullptr) {
      if (plugins::isIgnorablePlugin(name)) {
        findings.add(d.name.pos, "directive/ignored", "plugin '" + name + "' is ignored by Moat");
      } else if (plugins::isCoreDnsPlugin(name)) {
        findings.add(d.name.pos, "directive/unimplemented",
                     "plugin '" + name + "' is a CoreDNS plugin not implemented by Moat");
      } else {
        std::string hint = plugins::suggestPlugin(name);
        findings.add(d.name.pos, "directive/unknown",
                     "unknown directive '" + name + "'" +
                         (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
      continue;
    }
    auto first = std::find_if(seen.begin(), seen.end(),
                              [&](const conf::Directive* s) { return s->name.text == name; });
    if (first == seen.end()) {
      seen.push_back(&d);
    } else if (spec->once) {
      findings.add(d.name.pos, "directive/duplicate",
                   "plugin '" + name + "' may appear only once per server block (first at " +
                       (*first)->name.pos.str() + ")");
    }
  }
}

// Keys -> zones, ports and bind addresses of one block.
Block readBlock(const conf::ServerBlock& ast, Findings& findings) {
  Block block;
  block.ast = &ast;
  for (const conf::Token& key : ast.keys) {
    auto parsed = conf::parseServerKey(key, kDefaultPort);
    if (!parsed) {
      findings.add(parsed.error(), "config/invalid");
      block.keysOk = false;
      continue;
    }
    for (const conf::ServerKey& k : *parsed) {
      block.keys.push_back(k);
      if (std::find(block.zones.begin(), block.zones.end(), k.zone) == block.zones.end()) {
        block.zones.push_back(k.zone);
      }
    }
  }
  if (auto missing = plugins::tls::missingCertificate(ast, block.keys)) findings.add(*missing, "config/invalid");
  // bind's own errors are reported when its setup runs.
  auto binds = plugins::bind::bindAddresses(block.directives("bind"));
  if (binds) block.binds = std::move(*binds);
  return block;
}

plugins::PrivateZonesPtr readPrivateZones(const std::vector<Block>& blocks, Findings& findings) {
  std::vector<plugins::private_zone::StanzaInput> stanzas;
  for (const Block& block : blocks) {
    for (const conf::Directive* d : block.directives("private")) stanzas.push_back({d, block.zones});
  }
  auto zones = plugins::private_zone::buildPrivateZones(stanzas);
  if (zones) return *zones;
  addSetupError(zones.error(), findings);
  // Go on with the built-ins, so the other rules still run.
  auto builtins = plugins::private_zone::buildPrivateZones({});
  return builtins ? *builtins : std::make_shared<const plugins::PrivateZones>();
}

// A warning from a plugin's setup: the removed kubernetes `upstream` option has its own id.
void addSetupWarning(const conf::Diag& diag, const std::vector<const conf::Directive*>& stanzas,
                     Findings& findings) {
  for (const conf::Directive* d : stanzas) {
    if (d->name.text != "kubernetes") continue;
    for (const conf::Directive& option : d->block) {
      if (option.name.text == "upstream" && option.name.pos.line == diag.pos.line &&
          option.name.pos.file == diag.pos.file) {
        findings.add(diag, "kubernetes/upstream");
        return;
      }
    }
  }
  findings.add(diag, "config/warning");
}

// The objects files a kubernetes stanza names: the server logs a file that does not parse and
// serves an empty cluster; lint says so with the file's position.
void checkObjects(const plugins::kubernetes::KubernetesConfig& cfg, Findings& findings) {
  if (cfg.objects.empty()) return;
  // A file that is not there yet is normal in a pod: the objects feed writes it after start,
  // and the server waits for it (/ready 503). Only a file that exists and fails is an error.
  for (const std::string& path : cfg.objects) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      findings.add(conf::Diag{cfg.pos,
                              "kubernetes: objects path " + path +
                                  " does not exist yet; the server serves an empty cluster and "
                                  "stays unready until it appears",
                              conf::Severity::Warning},
                   "config/warning");
      return;
    }
  }
  auto loaded = plugins::kubernetes::loadObjects(cfg.objects, 0);
  if (loaded) return;
  conf::Diag diag = loaded.error();
  if (diag.pos.file.empty()) diag.pos = cfg.pos;
  diag.message = "kubernetes: objects do not load (the server would serve an empty cluster): " +
                 diag.message;
  findings.add(diag, "config/invalid");
}

// The zone files of a block's `file` stanzas (those that exist: a missing one is setup's
// warning or error). True when one of them does not load.
bool checkZoneFiles(const plugins::SetupContext& ctx, const plugins::PrivateZones& privateZones,
                    Findings& findings) {
  auto config = plugins::file::parseFile(ctx);
  if (!config) return false;
  bool unloadable = false;
  for (const plugins::file::ZoneSource& source : config->zones) {
    if (!std::filesystem::exists(source.path)) continue;
    for (const auto& f : plugins::file::checkZone(source, &privateZones)) {
      unloadable = unloadable || f.rule == "zone/syntax" || f.rule == "zone/no-soa";
      findings.add(f.pos, f.rule, f.message);
    }
  }
  return unloadable;
}

// Every plugin of the block, in execution order, through its own setup function.
void setUpBlock(Model& model, Block& block, Findings& findings) {
  std::vector<plugins::HttpRoute> routes;
  std::chrono::milliseconds lameduck{0};
  plugins::SetupContext ctx;
  ctx.block = block.ast;
  ctx.zones = block.zones;
  ctx.baseDir = model.baseDir;
  ctx.http = &routes;
  ctx.lameduck = &lameduck;
  ctx.readiness = std::make_shared<std::vector<std::shared_ptr<const plugins::Readiness>>>();
  ctx.privateZones = model.privateZones;

  for (const plugins::PluginSpec& spec : plugins::registry()) {
    if (spec.name == "private") continue;  // its stanzas were read for the whole file
    ctx.stanzas = block.directives(spec.name);
    if (ctx.stanzas.empty()) continue;
    if (spec.once && ctx.stanzas.size() > 1) ctx.stanzas.resize(1);  // directive/duplicate said so

    std::vector<conf::Diag> warnings;
    ctx.warnings = &warnings;
    const size_t routesBefore = routes.size();
    // Zone files are checked line by line, where the server would only stop at the first
    // error; a zone that does not load is reported there instead of at the directive.
    const bool zoneUnloadable = spec.name == "file" && checkZoneFiles(ctx, *model.privateZones, findings);
    auto handler = spec.setup(ctx);
    for (const conf::Diag& w : warnings) addSetupWarning(w, ctx.stanzas, findings);
    if (!handler) {
      if (!zoneUnloadable) addSetupError(handler.error(), findings);
      continue;
    }
    ctx.warnings = nullptr;  // the typed parses below would repeat setup's warnings

    if (spec.name == "hosts") {
      if (auto cfg = plugins::hosts::parseHosts(ctx)) block.hosts = std::move(*cfg);
    } else if (spec.name == "kubernetes") {
      if (auto cfg = plugins::kubernetes::parseKubernetes(ctx)) {
        checkObjects(*cfg, findings);
        block.kubernetes = std::move(*cfg);
      }
    } else if (spec.name == "file") {
      if (auto cfg = plugins::file::parseFile(ctx)) block.file = std::move(*cfg);
    } else if (spec.name == "cache") {
      if (auto cfg = plugins::cache::parseCache(ctx)) block.cache = std::move(*cfg);
    } else if (spec.name == "view") {
      block.view = std::dynamic_pointer_cast<const plugins::view::View>(*handler);
    } else if (spec.name == "acl") {
      if (auto cfg = plugins::acl::parseConfig(ctx.stanzas, block.zones, nullptr)) block.acl = std::move(*cfg);
    } else if (spec.name == "forward") {
      if (auto stanzas = plugins::forward::parseStanzas(ctx.stanzas, ctx.baseDir, nullptr)) {
        block.forwards = std::move(*stanzas);
        block.forwardDirectives = ctx.stanzas;
      }
    } else if (routes.size() > routesBefore) {
      // health and ready add one route per stanza; prometheus one for the block (its last
      // stanza's address wins).
      const size_t added = routes.size() - routesBefore;
      for (size_t i = 0; i < added; ++i) {
        const conf::Directive* d =
            added == ctx.stanzas.size() ? ctx.stanzas[i] : ctx.stanzas.back();
        block.http.push_back(
            HttpEndpoint{std::string(spec.name), routes[routesBefore + i].address, d->name.pos});
      }
    }
  }
}

}  // namespace

std::vector<const conf::Directive*> Block::directives(std::string_view plugin) const {
  std::vector<const conf::Directive*> out;
  for (const conf::Directive& d : ast->directives) {
    if (d.name.text == plugin) out.push_back(&d);
  }
  return out;
}

const conf::Directive* Block::first(std::string_view plugin) const {
  for (const conf::Directive& d : ast->directives) {
    if (d.name.text == plugin) return &d;
  }
  return nullptr;
}

std::unique_ptr<Model> loadModel(const std::string& path, std::string_view text,
                                 const conf::Source* source, Findings& findings) {
  std::vector<conf::Diag> parseWarnings;
  conf::ParseOptions options;
  options.warnings = &parseWarnings;
  options.source = source;
  auto corefile = conf::parseCorefile(text, path, options);
  for (conf::Diag& w : parseWarnings) {
    if (w.pos.file.empty()) w.pos.file = path;
    findings.add(w, "config/warning");
  }
  if (!corefile) {
    conf::Diag error = corefile.error();
    if (error.pos.file.empty()) error.pos.file = path;
    findings.add(error, "syntax/error");
    return nullptr;
  }

  auto model = std::make_unique<Model>();
  model->path = path;
  model->baseDir = std::filesystem::path(path).parent_path().string();
  model->corefile = std::move(*corefile);
  for (const conf::ServerBlock& ast : model->corefile.blocks) {
    checkDirectives(ast, findings);
    model->blocks.push_back(readBlock(ast, findings));
  }
  model->privateZones = readPrivateZones(model->blocks, findings);
  for (Block& block : model->blocks) {
    if (block.zones.empty()) continue;  // every key failed: nothing to set up against
    setUpBlock(*model, block, findings);
  }
  return model;
}

std::vector<uint8_t> wireOf(std::string_view zone) {
  auto wire = dns::nameFromText(dns::fqdnLower(zone));
  if (!wire) return {};
  dns::lowercaseInPlace(*wire);
  return std::move(*wire);
}

const conf::Directive* optionLine(const conf::Directive& directive, std::string_view option) {
  for (const conf::Directive& line : directive.block) {
    if (line.name.text == option) return &line;
  }
  return nullptr;
}

std::string listZones(const std::vector<std::string>& zones, size_t limit) {
  std::string out;
  const size_t shown = std::min(zones.size(), limit);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += (i + 1 == zones.size() ? " and " : ", ");
    out += zones[i];
  }
  if (zones.size() > shown) out += " and " + std::to_string(zones.size() - shown) + " more";
  return out;
}

}  // namespace moat::lint
