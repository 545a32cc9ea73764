// hosts lines that read as entries but were meant as options. Before `fallthrough`, CoreDNS
// takes every line it does not know inside `hosts { }` as a hosts-file line, and a hosts-file
// line whose first word is not an address is skipped without a word: `hosts { fallthroug }`
// loads, and silently answers NXDOMAIN for everything it lacks.
#include <algorithm>
#include <array>

#include <boost/asio/ip/address.hpp>

#include "conf/args.hpp"
#include "lint/rules.hpp"

namespace moat::lint {

namespace {

constexpr std::array<std::string_view, 5> kOptions = {"fallthrough", "fallthrough_unsupported",
                                                      "no_reverse", "reload", "ttl"};

bool isAddress(const std::string& text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(text, ec);
  return !ec;
}

// The option `word` is within two edits of (and not a whole different word), or empty.
std::string_view closeOption(std::string_view word) {
  std::string_view best;
  size_t bestDistance = std::min<size_t>(3, word.size());
  for (std::string_view option : kOptions) {
    const size_t d = conf::editDistance(word, option);
    if (d < bestDistance) {
      bestDistance = d;
      best = option;
    }
  }
  return best;
}

void checkBlock(const Block& block, Findings& findings) {
  for (const conf::Directive* hosts : block.directives("hosts")) {
    for (const conf::Directive& line : hosts->block) {
      const std::string& word = line.name.text;
      if (word == "fallthrough") break;  // after it, an unknown word is a setup error
      if (std::find(kOptions.begin(), kOptions.end(), word) != kOptions.end()) continue;
      if (isAddress(word)) continue;  // a real entry
      const std::string_view option = closeOption(word);
      if (option.empty()) continue;
      findings.add(line.name.pos, "hosts/entry-typo",
                   "'" + word + "' is read as a hosts entry without an address, which is skipped; "
                   "did you mean the option '" + std::string(option) + "'?");
    }
  }
}

}  // namespace

void checkHostsEntries(const Model& model, Findings& findings) {
  for (const Block& block : model.blocks) checkBlock(block, findings);
}

}  // namespace moat::lint
