#include "plugins/file/config.hpp"

#include <algorithm>
#include <filesystem>

#include "conf/args.hpp"
#include "conf/zone.hpp"

namespace moat::plugins::file {

namespace {

constexpr std::string_view kPlugin = "file";

}  // namespace

conf::Result<FileConfig> parseFile(const SetupContext& ctx) {
  FileConfig cfg;
  for (const conf::Directive* stanza : ctx.stanzas) {
    const conf::Directive& d = *stanza;
    if (d.args.empty()) return conf::errorAt(d.name, kPlugin, "expected a zone file: file DBFILE [ZONES...]");
    std::filesystem::path path(d.args[0].text);
    if (path.is_relative() && !ctx.baseDir.empty()) path = std::filesystem::path(ctx.baseDir) / path;

    std::vector<std::string> origins;
    for (size_t i = 1; i < d.args.size(); ++i) {
      auto zones = conf::normalizeZone(d.args[i]);
      if (!zones) return zones.error();
      origins.insert(origins.end(), zones->begin(), zones->end());
    }
    if (origins.empty()) origins = ctx.zones;

    ZoneSource source;
    source.path = path.lexically_normal().string();
    source.pos = d.args[0].pos;
    for (const conf::Directive& opt : d.block) {
      const std::string& word = opt.name.text;
      if (word == "reload") {
        if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
        auto reload = conf::parseDuration(opt.args[0], kPlugin, "reload");
        if (!reload) return reload.error();
        if (reload->count() < 0) {
          return conf::errorAt(opt.args[0], kPlugin, "reload must not be negative (0 disables it)");
        }
        source.reload = *reload;
      } else if (word == "reload_by_mtime") {
        if (auto ok = conf::expectArgs(opt, kPlugin, 0, 0); !ok) return ok.error();
        source.reloadByMtime = true;
      } else if (word == "fallthrough") {
        auto fall = Fall::parse(opt);
        if (!fall) return fall.error();
        cfg.fall = std::move(*fall);
      } else if (word == "upstream") {
        // Accepted and ignored, as CoreDNS does since 1.7: CNAME targets always go through
        // the server's own chain.
      } else {
        return conf::unknownOption(opt, kPlugin, {"reload", "reload_by_mtime", "fallthrough"});
      }
    }
    for (const std::string& origin : origins) {
      const bool twice = std::ranges::any_of(cfg.zones, [&](const ZoneSource& z) { return z.origin == origin; });
      if (twice) return conf::errorAt(d.args[0], kPlugin, "zone " + origin + " is served twice in this block");
      source.origin = origin;
      cfg.zones.push_back(source);
    }
  }
  return cfg;
}

}  // namespace moat::plugins::file
