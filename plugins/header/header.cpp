#include "plugins/header/header.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "conf/args.hpp"
#include "dns/wire.hpp"

namespace moat::plugins::header {

namespace {
constexpr std::string_view kPlugin = "header";
constexpr std::string_view kRuleSyntax = "SELECTOR ACTION FLAGS... (e.g. 'response set ra')";

struct FlagName {
  std::string_view name;
  uint16_t bit;
};
// The flags CoreDNS's header accepts; TC, AD, CD and the rest are left to the server.
constexpr FlagName kFlags[] = {{"aa", dns::flag::AA}, {"ra", dns::flag::RA}, {"rd", dns::flag::RD}};

// CoreDNS lowercases selectors, actions and flags before reading them.
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string withGuess(std::string message, std::string_view word,
                      std::initializer_list<std::string_view> known) {
  const std::string guess = conf::didYouMean(word, known);
  if (!guess.empty()) message += ", did you mean '" + guess + "'?";
  return message;
}

// One rule line, `SELECTOR ACTION FLAGS...`, folded into `config`.
conf::Result<bool> parseRule(const conf::Directive& line, Config& config) {
  const std::string selector = lower(line.name.text);
  if (selector == "set" || selector == "clear") {
    // The selector-less form CoreDNS dropped in 1.12.4 (it meant `response`).
    return conf::errorAt(line.name, kPlugin,
                         "a rule starts with its selector, query or response: write 'response " +
                             line.name.text + " ...' (the form without one is no longer accepted)");
  }
  if (selector != "query" && selector != "response") {
    return conf::errorAt(line.name, kPlugin,
                         withGuess("unknown selector '" + line.name.text + "', expected query or response",
                                   selector, {"query", "response"}));
  }
  if (line.hasBlock) return conf::errorAt(line.name, kPlugin, "a rule takes no block");
  if (line.args.empty()) {
    return conf::errorAt(line.name, kPlugin,
                         "'" + line.name.text + "' needs an action (set or clear) and flags: " +
                             std::string(kRuleSyntax));
  }
  const conf::Token& actionToken = line.args[0];
  const std::string action = lower(actionToken.text);
  if (action != "set" && action != "clear") {
    return conf::errorAt(actionToken, kPlugin,
                         withGuess("unknown action '" + actionToken.text + "', expected set or clear",
                                   action, {"set", "clear"}));
  }
  if (line.args.size() < 2) {
    return conf::errorAt(actionToken, kPlugin, "'" + actionToken.text + "' needs at least one flag (aa, ra, rd)");
  }
  FlagEdit& edit = selector == "query" ? config.query : config.response;
  for (size_t i = 1; i < line.args.size(); ++i) {
    const std::string flag = lower(line.args[i].text);
    const auto* known = std::find_if(std::begin(kFlags), std::end(kFlags),
                                     [&](const FlagName& f) { return f.name == flag; });
    if (known == std::end(kFlags)) {
      return conf::errorAt(line.args[i], kPlugin,
                           withGuess("unknown flag '" + line.args[i].text + "', expected aa, ra or rd",
                                     flag, {"aa", "ra", "rd"}));
    }
    edit.add(known->bit, action == "set");
  }
  return true;
}

void writeFlags(std::span<uint8_t> msg, const FlagEdit& edit) {
  if (msg.size() < dns::kHeaderSize) return;
  dns::put16(&msg[2], edit.apply(dns::get16(&msg[2])));
}
}  // namespace

void FlagEdit::add(uint16_t flags, bool on) {
  if (on) {
    set |= flags;
    clear &= static_cast<uint16_t>(~flags);
  } else {
    clear |= flags;
    set &= static_cast<uint16_t>(~flags);
  }
}

std::string FlagEdit::text() const {
  auto names = [](uint16_t bits) {
    std::string out;
    for (const FlagName& f : kFlags) {
      if ((bits & f.bit) != 0) out += (out.empty() ? "" : " ") + std::string(f.name);
    }
    return out;
  };
  std::string out;
  if (set != 0) out = "set " + names(set);
  if (clear != 0) out += (out.empty() ? "clear " : ", clear ") + names(clear);
  return out;
}

conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas,
                                 std::vector<conf::Diag>* warnings) {
  const conf::Directive* chosen = nullptr;
  Config config;
  for (const conf::Directive* stanza : stanzas) {
    if (chosen != nullptr) {
      // CoreDNS stops reading at the first stanza with rules; Moat says what it skips.
      if (warnings != nullptr) {
        warnings->push_back(conf::Diag{stanza->name.pos,
                                       "header: ignored: only the first header with rules applies (" +
                                           chosen->name.pos.str() + "), as in CoreDNS",
                                       conf::Severity::Warning});
      }
      continue;
    }
    if (!stanza->args.empty()) {
      return conf::errorAt(stanza->args[0], kPlugin,
                           "rules go in a block, one per line: header { " + std::string(kRuleSyntax) + " }");
    }
    for (const conf::Directive& line : stanza->block) {
      auto ok = parseRule(line, config);
      if (!ok) return ok.error();
    }
    if (!stanza->block.empty()) chosen = stanza;
  }
  if (chosen == nullptr) {
    return conf::errorAt(stanzas.front()->name, kPlugin,
                         "needs a block with at least one rule: header { " + std::string(kRuleSyntax) + " }");
  }
  return config;
}

Verdict HeaderHandler::onQuery(dns::Query& q) {
  if (!config_.query.empty()) {
    // Both the bytes (forward sends them on) and the parsed header (answering plugins copy RD
    // from it) change, so every plugin after this one sees the same query.
    writeFlags(std::span(q.request.data(), q.requestLen), config_.query);
    q.view.header.flags = config_.query.apply(q.view.header.flags);
  }
  if (q.trace != nullptr) {
    std::string text;
    if (!config_.query.empty()) text = "query: " + config_.query.text();
    if (!config_.response.empty()) {
      text += (text.empty() ? "" : "; ") + std::string("the reply will get: ") + config_.response.text();
    }
    q.trace->note(name(), text);
  }
  return Verdict::Next;
}

void HeaderHandler::onReply(dns::Query& q) { writeFlags(q.reply, config_.response); }

conf::Result<HandlerPtr> setupHeader(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas, ctx.warnings);
  if (!config) return config.error();
  return HandlerPtr(std::make_shared<HeaderHandler>(*config));
}

}  // namespace moat::plugins::header
