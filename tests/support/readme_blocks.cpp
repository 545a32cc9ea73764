#include "tests/support/readme_blocks.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace moat::testing {

namespace {

void readCommands(ReadmeBlock& block) {
  const bool session = std::any_of(block.text.begin(), block.text.end(),
                                   [](const std::string& l) { return l.rfind("$ ", 0) == 0; });
  for (size_t i = 0; i < block.text.size(); ++i) {
    const std::string& line = block.text[i];
    const size_t at = block.line + 1 + i;
    if (session) {
      if (line.rfind("$ ", 0) == 0) {
        block.commands.push_back({line.substr(2), {}, true, at});
      } else if (!block.commands.empty()) {
        block.commands.back().output.push_back(line);
      }
      continue;
    }
    const size_t lead = line.find_first_not_of(' ');
    if (lead == std::string::npos || line[lead] == '#') continue;
    block.commands.push_back({line.substr(lead), {}, false, at});
  }
}

}  // namespace

std::vector<ReadmeBlock> readmeBlocks(const std::string& markdown) {
  std::vector<ReadmeBlock> out;
  std::istringstream in(markdown);
  bool inside = false;
  size_t indent = 0;  // of the opening fence: a block inside a list item is indented with it
  char fenceChar = 0;  // ``` or ~~~ (the plugin READMEs' CoreDNS style); a block ends with its own kind
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const size_t lead = line.find_first_not_of(' ');
    const char mark = lead == std::string::npos ? 0 : line[lead];
    const bool fence = (mark == '`' || mark == '~') && line.compare(lead, 3, std::string(3, mark)) == 0;
    if (!inside && fence) {
      inside = true;
      indent = lead;
      fenceChar = mark;
      const size_t lang = line.find_first_not_of(' ', lead + 3);
      out.push_back({lang == std::string::npos ? "" : line.substr(lang), number, {}, {}});
    } else if (inside && fence && mark == fenceChar) {
      inside = false;
      if (out.back().lang == "sh") readCommands(out.back());
    } else if (inside) {
      const size_t strip = std::min(indent, std::min(lead, line.size()));
      out.back().text.push_back(line.substr(strip));
    }
  }
  return out;
}

std::vector<ReadmeBlock> pluginReadme(const std::string& plugin) {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/plugins/" + plugin + "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  return readmeBlocks(text.str());
}

std::vector<ReadmeBlock> pluginCorefiles(const std::string& plugin) {
  std::vector<ReadmeBlock> out;
  for (ReadmeBlock& b : pluginReadme(plugin)) {
    if (b.lang == "corefile") out.push_back(std::move(b));
  }
  return out;
}

std::string joined(const ReadmeBlock& block) {
  std::string out;
  for (const std::string& line : block.text) out += line + "\n";
  return out;
}

std::string squeeze(const std::string& line) {
  std::string out;
  std::istringstream words(line);
  for (std::string w; words >> w;) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace moat::testing
