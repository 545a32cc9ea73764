#include "plugins/errors/config.hpp"

#include <algorithm>
#include <optional>

#include "conf/args.hpp"

namespace moat::plugins::errors {
namespace {

constexpr std::string_view kPlugin = "errors";

std::optional<spdlog::level::level_enum> levelFromWord(std::string_view word) {
  if (word == "warning") return spdlog::level::warn;
  if (word == "error") return spdlog::level::err;
  if (word == "info") return spdlog::level::info;
  if (word == "debug") return spdlog::level::debug;
  return std::nullopt;
}

conf::Result<boost::regex> compileRegex(const conf::Token& token) {
  if (token.text.size() > kMaxPatternLen) {
    return conf::errorAt(token, kPlugin,
                         "regex pattern too long: " + std::to_string(token.text.size()) + " > " +
                             std::to_string(kMaxPatternLen));
  }
  // no_except: a bad pattern is a config error to report, not an exception to unwind.
  boost::regex re(token.text, boost::regex::perl | boost::regex::no_except);
  if (re.status() != 0) {
    return conf::errorAt(token, kPlugin, "invalid regular expression '" + token.text + "'");
  }
  return re;
}

conf::Result<ConsolidateRule> parseConsolidate(const conf::Directive& option) {
  if (auto n = conf::expectArgs(option, kPlugin, 2, 4); !n) return n.error();
  if (option.hasBlock) return conf::errorAt(option.name, kPlugin, "'consolidate' takes no block");
  ConsolidateRule rule;
  auto period = conf::parseDuration(option.args[0], kPlugin, "consolidate period");
  if (!period) return period.error();
  rule.period = std::max(*period, std::chrono::nanoseconds{0});
  auto re = compileRegex(option.args[1]);
  if (!re) return re.error();
  rule.pattern = option.args[1].text;
  rule.regex = std::move(*re);

  // Optional: a level, then show_first, in that order.
  bool haveLevel = false;
  for (size_t i = 2; i < option.args.size(); ++i) {
    const conf::Token& arg = option.args[i];
    if (auto level = levelFromWord(arg.text)) {
      if (haveLevel) {
        return conf::errorAt(arg, kPlugin, "multiple log levels specified in consolidate");
      }
      if (rule.showFirst) {
        return conf::errorAt(arg, kPlugin, "log level must come before show_first in consolidate");
      }
      rule.level = *level;
      haveLevel = true;
    } else if (arg.text == "show_first") {
      rule.showFirst = true;
    } else {
      return conf::errorAt(arg, kPlugin,
                           "unknown option in consolidate '" + arg.text +
                               "' (want warning, error, info, debug or show_first)");
    }
  }
  return rule;
}

}  // namespace

conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas,
                                 std::vector<conf::Diag>* warnings) {
  Config config;
  if (stanzas.size() > 1) {
    return conf::errorAt(stanzas[1]->name, kPlugin,
                         "this plugin can only be used once per Server Block");
  }
  for (const conf::Directive* stanza : stanzas) {
    if (auto n = conf::expectArgs(*stanza, kPlugin, 0, 1); !n) return n.error();
    if (!stanza->args.empty() && stanza->args[0].text != "stdout") {
      return conf::errorAt(stanza->args[0], kPlugin,
                           "invalid log file '" + stanza->args[0].text +
                               "' (errors only go to stdout)");
    }
    for (const conf::Directive& option : stanza->block) {
      if (option.name.text == "stacktrace") {
        if (auto n = conf::expectArgs(option, kPlugin, 0, 0); !n) return n.error();
        config.stacktrace = true;
        if (warnings != nullptr) {
          warnings->push_back(conf::Diag{option.name.pos,
                                         "errors: stacktrace has no effect in Moat",
                                         conf::Severity::Warning});
        }
      } else if (option.name.text == "consolidate") {
        auto rule = parseConsolidate(option);
        if (!rule) return rule.error();
        config.consolidate.push_back(std::move(*rule));
      } else {
        return conf::unknownOption(option, kPlugin, {"stacktrace", "consolidate"});
      }
    }
  }
  return config;
}

}  // namespace moat::plugins::errors
