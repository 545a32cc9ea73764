// The `header` plugin, as CoreDNS's: sets or clears header flags (aa, ra, rd) on the query the
// following plugins see (`query`) and on the reply the client gets (`response`). Rules apply in
// the order written, so for one flag the last rule wins; they fold into two masks per side.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::header {

// What the rules of one side do to the flags word: set bits first cleared, then set.
struct FlagEdit {
  uint16_t set = 0;
  uint16_t clear = 0;

  bool empty() const { return set == 0 && clear == 0; }
  uint16_t apply(uint16_t flags) const { return static_cast<uint16_t>((flags & ~clear) | set); }
  // A later rule for `flags` overrides what earlier rules said about them.
  void add(uint16_t flags, bool on);
  std::string text() const;  // "set ra aa, clear rd", for explain
};

struct Config {
  FlagEdit query;
  FlagEdit response;
};

// Pure: the block's `header` stanzas to the rules, or a positioned error. As CoreDNS, the
// first stanza with rules is the one that counts; a later stanza is ignored with a warning
// added to `warnings`.
conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas,
                                 std::vector<conf::Diag>* warnings);

class HeaderHandler final : public Handler {
 public:
  explicit HeaderHandler(Config config) : config_(config) {}

  Verdict onQuery(dns::Query& q) override;
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return !config_.response.empty(); }
  std::string_view name() const override { return "header"; }

 private:
  Config config_;
};

conf::Result<HandlerPtr> setupHeader(const SetupContext& ctx);

}  // namespace moat::plugins::header
