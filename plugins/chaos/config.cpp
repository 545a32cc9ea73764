// Reading `chaos [VERSION] [AUTHORS...]`.
#include <algorithm>
#include <string>

#include "conf/args.hpp"
#include "dns/version.hpp"
#include "dns/wire.hpp"
#include "plugins/chaos/chaos.hpp"

namespace moat::plugins::chaos {
namespace {

constexpr std::string_view kPlugin = "chaos";
// Moat has no list of maintainers' handles to answer with, as CoreDNS has: it names itself.
constexpr std::string_view kDefaultAuthor = "Moat";

std::string cut(std::string_view text) { return std::string(text.substr(0, kMaxText)); }

// authors.bind carries every author in one reply; past 65535 bytes no transport can send it.
// Counted for the longest spelling of its question (authors.bind., 14 bytes) with an OPT.
conf::Result<bool> fitsOneMessage(const conf::Directive& stanza, const std::vector<std::string>& authors) {
  constexpr size_t kOwner = 14, kOpt = 11;
  size_t size = dns::kHeaderSize + kOwner + 4 + kOpt;
  for (const std::string& author : authors) size += kOwner + 10 + 1 + author.size();
  if (size <= 65535) return true;
  return conf::errorAt(stanza.args[1], kPlugin,
                       "the " + std::to_string(authors.size()) +
                           " authors make a reply of " + std::to_string(size) +
                           " bytes, more than a DNS message holds (65535)");
}

}  // namespace

conf::Result<Config> parseConfig(const conf::Directive& stanza) {
  Config config{versionLine(), {std::string(kDefaultAuthor)}};
  if (!stanza.block.empty()) {
    const conf::Directive& option = stanza.block.front();
    return conf::errorAt(option.name, kPlugin,
                         "unknown property '" + option.name.text + "': 'chaos' takes no options");
  }
  if (stanza.args.empty()) return config;
  config.version = cut(stanza.args[0].text);
  if (stanza.args.size() == 1) return config;

  config.authors.clear();
  for (size_t i = 1; i < stanza.args.size(); ++i) config.authors.push_back(cut(stanza.args[i].text));
  std::sort(config.authors.begin(), config.authors.end());
  config.authors.erase(std::unique(config.authors.begin(), config.authors.end()), config.authors.end());
  if (auto fits = fitsOneMessage(stanza, config.authors); !fits) return fits.error();
  return config;
}

}  // namespace moat::plugins::chaos
