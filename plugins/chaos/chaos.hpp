// The `chaos` plugin: answers the CH-class TXT questions operators ask a server about itself
// (version.bind, version.server, authors.bind, hostname.bind, id.server) as CoreDNS does;
// every other query passes to the next plugin.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::chaos {

// A TXT character-string holds at most 255 bytes; longer values are cut there, as CoreDNS cuts.
constexpr size_t kMaxText = 255;

struct Config {
  std::string version;               // "Moat-0.1.0" unless the Corefile gives one
  std::vector<std::string> authors;  // sorted, no duplicates; {"Moat"} unless given
};

// Pure: `chaos [VERSION] [AUTHORS...]` to a config, or a positioned error. Only the first stanza
// of a block counts, as in CoreDNS (setupChaos warns about the others).
conf::Result<Config> parseConfig(const conf::Directive& stanza);

class ChaosHandler final : public Handler {
 public:
  // `workers` event loops answer through it; each shuffles authors.bind with its own generator,
  // seeded from `seed`. `hostname` answers hostname.bind and id.server.
  ChaosHandler(const Config& config, std::string_view hostname, size_t workers, uint64_t seed);
  ~ChaosHandler() override;

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "chaos"; }

 private:
  struct WorkerState;

  // Each answer's TXT RDATA, built once: a length byte and the text.
  std::vector<uint8_t> version_, hostname_;
  std::vector<std::vector<uint8_t>> authors_;
  size_t workers_;
  std::unique_ptr<WorkerState[]> state_;
};

conf::Result<HandlerPtr> setupChaos(const SetupContext& ctx);

}  // namespace moat::plugins::chaos
