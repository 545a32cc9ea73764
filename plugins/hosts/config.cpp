#include "plugins/hosts/config.hpp"

#include <filesystem>

#include "conf/args.hpp"
#include "conf/zone.hpp"

namespace moat::plugins::hosts {

namespace {

constexpr std::string_view kPlugin = "hosts";

// CoreDNS hands the rest of the line to the hosts parser as one text line, so quoting or
// spacing inside the Corefile makes no difference to the entry.
std::string joinLine(const conf::Directive& line) {
  std::string out = line.name.text;
  for (const conf::Token& arg : line.args) {
    out += ' ';
    out += arg.text;
  }
  return out;
}

}  // namespace

conf::Result<HostsConfig> parseHosts(const SetupContext& ctx) {
  if (ctx.stanzas.empty()) return conf::errorAt(conf::Pos{}, "hosts: no stanza to set up");
  if (ctx.stanzas.size() > 1) {
    return conf::errorAt(ctx.stanzas[1]->name, kPlugin, "may appear only once per server block");
  }
  const conf::Directive& d = *ctx.stanzas[0];
  HostsConfig cfg;
  cfg.pos = d.name.pos;
  cfg.zones = ctx.zones;

  if (!d.args.empty()) {
    std::filesystem::path file(d.args[0].text);
    if (file.is_relative() && !ctx.baseDir.empty())
      file = std::filesystem::path(ctx.baseDir) / file;
    cfg.path = file.lexically_normal().string();
    cfg.pos = d.args[0].pos;
    if (d.args.size() > 1) {
      cfg.zones.clear();
      for (size_t i = 1; i < d.args.size(); ++i) {
        auto zones = conf::normalizeZone(d.args[i]);
        if (!zones) return zones.error();
        cfg.zones.insert(cfg.zones.end(), zones->begin(), zones->end());
      }
    }
  }

  const conf::Directive* unsupported = nullptr;
  for (const conf::Directive& opt : d.block) {
    const std::string& word = opt.name.text;
    if (word == "fallthrough") {
      auto fall = Fall::parse(opt);
      if (!fall) return fall.error();
      cfg.fall = std::move(*fall);
    } else if (word == "fallthrough_unsupported") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 0, 0); !ok) return ok.error();
      cfg.fallthroughUnsupported = true;
      unsupported = &opt;
    } else if (word == "no_reverse") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 0, 0); !ok) return ok.error();
      cfg.reverse = false;
    } else if (word == "ttl") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
      auto ttl = conf::parseInt(opt.args[0], kPlugin, "ttl", 1, 65535);
      if (!ttl) return ttl.error();
      cfg.ttl = static_cast<uint32_t>(*ttl);
    } else if (word == "reload") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
      auto reload = conf::parseDuration(opt.args[0], kPlugin, "reload");
      if (!reload) return reload.error();
      if (reload->count() < 0) {
        return conf::errorAt(
            opt.args[0], kPlugin,
            "reload must not be negative (0 disables it), got '" + opt.args[0].text + "'");
      }
      cfg.reload = *reload;
    } else if (!cfg.fall.enabled()) {
      // Before `fallthrough`, any other line is a hosts entry (CoreDNS's rule, kept as is).
      if (opt.hasBlock)
        return conf::errorAt(opt.name, kPlugin, "a hosts entry cannot open a block");
      cfg.inlineLines.push_back(joinLine(opt));
    } else {
      return conf::unknownOption(
          opt, kPlugin, {"ttl", "no_reverse", "reload", "fallthrough", "fallthrough_unsupported"});
    }
  }
  if (unsupported != nullptr && !cfg.fall.enabled()) {
    return conf::errorAt(unsupported->name, kPlugin,
                         "fallthrough_unsupported requires fallthrough");
  }
  return cfg;
}

}  // namespace moat::plugins::hosts
