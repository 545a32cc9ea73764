#include "plugins/auto/config.hpp"

#include <filesystem>

#include "conf/args.hpp"
#include "conf/zone.hpp"

namespace moat::plugins::auto_zone {

namespace {

constexpr std::string_view kPlugin = "auto";

// `directory DIR [REGEXP ORIGIN_TEMPLATE]`
conf::Result<bool> parseDirectory(const conf::Directive& opt, const SetupContext& ctx, AutoConfig& cfg) {
  if (auto ok = conf::expectArgs(opt, kPlugin, 1, 3); !ok) return ok.error();
  if (opt.args.size() == 2) {
    return conf::errorAt(opt.args[1], kPlugin, "expected an ORIGIN_TEMPLATE after the REGEXP, as in: directory DIR db\\.(.*) {1}");
  }
  std::filesystem::path dir(opt.args[0].text);
  if (dir.is_relative() && !ctx.baseDir.empty()) dir = std::filesystem::path(ctx.baseDir) / dir;
  cfg.directory = dir.lexically_normal().string();
  if (cfg.directory.size() > 1 && cfg.directory.back() == '/') cfg.directory.pop_back();  // "dir/." -> "dir"
  cfg.directoryPos = opt.args[0].pos;
  if (opt.args.size() == 3) {
    auto rule = OriginRule::compile(opt.args[1], opt.args[2]);
    if (!rule) return rule.error();
    cfg.rule = std::move(*rule);
  }
  return true;
}

}  // namespace

conf::Result<AutoConfig> parseAuto(const SetupContext& ctx) {
  AutoConfig cfg;
  if (ctx.stanzas.empty()) return cfg;
  if (ctx.stanzas.size() > 1) {
    return conf::errorAt(ctx.stanzas[1]->name, kPlugin, "only one auto per server block");
  }
  const conf::Directive& d = *ctx.stanzas.front();
  for (const conf::Token& zone : d.args) {
    auto zones = conf::normalizeZone(zone);
    if (!zones) return zones.error();
    cfg.origins.insert(cfg.origins.end(), zones->begin(), zones->end());
  }
  if (cfg.origins.empty()) cfg.origins = ctx.zones;

  bool sawDirectory = false;
  for (const conf::Directive& opt : d.block) {
    const std::string& word = opt.name.text;
    if (word == "directory") {
      if (auto ok = parseDirectory(opt, ctx, cfg); !ok) return ok.error();
      sawDirectory = true;
    } else if (word == "reload") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
      auto reload = conf::parseDuration(opt.args[0], kPlugin, "reload");
      if (!reload) return reload.error();
      if (reload->count() < 0) return conf::errorAt(opt.args[0], kPlugin, "reload must not be negative (0 scans once, at start)");
      cfg.reload = *reload;
    } else if (word == "fallthrough") {
      auto fall = Fall::parse(opt);
      if (!fall) return fall.error();
      cfg.fall = std::move(*fall);
    } else if (word == "upstream") {
      // Accepted with any arguments and ignored, as CoreDNS does: CNAME targets outside a zone
      // are always resolved through the server's own chain.
    } else {
      return conf::unknownOption(opt, kPlugin, {"directory", "reload", "fallthrough"});
    }
  }
  if (!sawDirectory) {
    return conf::errorAt(d.name, kPlugin, "expected a directory: auto [ZONES...] { directory DIR [REGEXP ORIGIN_TEMPLATE] }");
  }
  return cfg;
}

}  // namespace moat::plugins::auto_zone
