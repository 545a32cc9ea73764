#include "plugins/resolv_search.hpp"

#include <fstream>
#include <sstream>

namespace moat::plugins {

std::vector<dns::WireName> resolvSearch(std::string_view text) {
  std::vector<dns::WireName> out;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (const size_t comment = line.find_first_of("#;"); comment != std::string::npos) line.resize(comment);
    std::istringstream words(line);
    std::string keyword;
    if (!(words >> keyword) || (keyword != "search" && keyword != "domain")) continue;
    out.clear();
    for (std::string domain; words >> domain;) {
      if (domain.back() != '.') domain += '.';
      if (auto wire = dns::nameFromText(domain)) out.push_back(dns::lowercased(*wire));
      if (keyword == "domain") break;  // one domain, the rest of the line is ignored
    }
  }
  return out;
}

std::vector<dns::WireName> hostSearchDomains() {
  std::ifstream in("/etc/resolv.conf");
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return resolvSearch(text.str());
}

}  // namespace moat::plugins
