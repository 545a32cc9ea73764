#include "plugins/timeouts/timeouts.hpp"

#include <string>

#include "conf/args.hpp"

namespace moat::plugins::timeouts {
namespace {
constexpr std::string_view kPlugin = "timeouts";

// CoreDNS reads a bare number as seconds here (its durations package), unlike elsewhere.
conf::Result<std::chrono::milliseconds> parseTimeout(const conf::Token& arg) {
  conf::Token token = arg;
  if (!token.text.empty() && token.text.find_first_not_of("0123456789") == std::string::npos) token.text += "s";
  auto d = conf::parseDuration(token, kPlugin, "DURATION");
  if (!d) return conf::errorAt(arg, kPlugin, "'" + arg.text + "' is not a duration (like 10s, 1m)");
  if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(24)) {
    return conf::errorAt(arg, kPlugin, "'" + arg.text + "' must be from 1 second to 24 hours");
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}
}  // namespace

conf::Result<Timeouts> parseTimeouts(const std::vector<const conf::Directive*>& stanzas) {
  Timeouts t;
  for (const conf::Directive* stanza : stanzas) {
    if (!stanza->args.empty()) {
      return conf::errorAt(stanza->args.front(), kPlugin, "takes no arguments, only a block of timeouts");
    }
    if (stanza->block.empty()) {
      return conf::errorAt(stanza->name, kPlugin,
                           "needs at least one of read, write, idle or maxtcpqueries in its block");
    }
    for (const conf::Directive& option : stanza->block) {
      const std::string& name = option.name.text;
      if (name != "read" && name != "write" && name != "idle" && name != "maxtcpqueries") {
        return conf::unknownOption(option, kPlugin, {"read", "write", "idle", "maxtcpqueries"});
      }
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      const conf::Token& arg = option.args.front();
      if (name == "maxtcpqueries") {
        if (arg.text == "-1") {
          t.maxTcpQueries = 0;
          continue;
        }
        auto n = conf::parseInt(arg, kPlugin, "maxtcpqueries (-1 for unlimited)", 1, 1 << 30);
        if (!n) return n.error();
        t.maxTcpQueries = static_cast<unsigned>(*n);
        continue;
      }
      auto d = parseTimeout(arg);
      if (!d) return d.error();
      (name == "read" ? t.read : name == "write" ? t.write : t.idle) = *d;
    }
  }
  return t;
}

void applyTo(const Timeouts& t, dns::server::TcpLimits& limits) {
  if (t.read) limits.read = *t.read;
  if (t.write) limits.write = *t.write;
  if (t.idle) limits.idle = *t.idle;
  if (t.maxTcpQueries) limits.maxQueries = *t.maxTcpQueries;
}

conf::Result<HandlerPtr> setupTimeouts(const SetupContext& ctx) {
  auto t = parseTimeouts(ctx.stanzas);
  if (!t) return t.error();
  return HandlerPtr{};
}

}  // namespace moat::plugins::timeouts
