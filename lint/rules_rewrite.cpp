// rewrite and the private zones (DESIGN.md §3, §4): a rule that maps a name under a private
// zone to one outside it. Moat's egress check tests the name the client asked as well as the
// rewritten one, so such names still never leave; CoreDNS would forward them. Only rules whose
// FROM names a zone (exact and suffix) can be judged without a query. A cname rule that maps
// CNAME targets out of a private zone is the same mistake: its new targets are never resolved.
#include "dns/name.hpp"
#include "lint/rules.hpp"
#include "plugins/rewrite/rewrite.hpp"

namespace moat::lint {

namespace {

// The zone a rule's FROM or TO names: an exact name itself, a suffix from its first label on
// (".internal." and "internal." both mean internal.). Empty when it is no name.
dns::WireName zoneOf(std::string_view text, bool suffix) {
  if (suffix && text.starts_with('.')) text.remove_prefix(1);
  auto wire = dns::nameFromText(text);
  if (!wire) return {};
  dns::lowercaseInPlace(*wire);
  return *wire;
}

}  // namespace

void checkRewrites(const Model& model, Findings& findings) {
  if (!model.privateZones) return;
  for (const Block& block : model.blocks) {
    const auto stanzas = block.directives("rewrite");
    if (stanzas.empty()) continue;
    auto config = plugins::rewrite::parseConfig(stanzas);
    if (!config) continue;  // setup already reported it
    for (const plugins::rewrite::Rule& rule : config->rules) {
      using plugins::rewrite::Match;
      const bool cname = rule.field == plugins::rewrite::Field::Cname;
      if (rule.field != plugins::rewrite::Field::Name && !cname) continue;
      if (rule.name.match != Match::Exact && rule.name.match != Match::Suffix) continue;
      const bool suffix = rule.name.match == Match::Suffix;
      const dns::WireName from = zoneOf(rule.name.from, suffix);
      const dns::WireName to = zoneOf(rule.name.to, suffix);
      if (from.empty() || to.empty()) continue;
      const plugins::PrivateZone* zone = model.privateZones->find(from);
      if (zone == nullptr) continue;
      if (model.privateZones->find(to) == zone) continue;  // stays inside the same private zone
      if (cname) {
        findings.add(rule.pos, "rewrite/private-escape",
                     "rewrite maps CNAME targets " + std::string(suffix ? "under " : "") + dns::nameToText(from) +
                         " (private zone " + zone->name + ") to " + dns::nameToText(to) +
                         ", outside it: Moat leaves such a target as it is (it does not resolve it under the "
                         "new name), CoreDNS would look the new name up");
        continue;
      }
      findings.add(rule.pos, "rewrite/private-escape",
                   "rewrite maps " + std::string(suffix ? "names under " : "") + dns::nameToText(from) +
                       " (private zone " + zone->name + ") to " + dns::nameToText(to) +
                       ", outside it: Moat still keeps them in (the egress check tests the name asked "
                       "as well as the name sent), CoreDNS would forward them");
    }
  }
}

}  // namespace moat::lint
