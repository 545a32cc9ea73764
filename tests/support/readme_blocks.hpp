// README.md's fenced code blocks, read the way tests/integration/readme_test.cpp runs them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace moat::testing {

struct ReadmeCommand {
  std::string text;                 // without the "$ " prompt
  std::vector<std::string> output;  // the lines shown under it (sessions only)
  bool session = false;             // written with a "$ " prompt: its output is shown
  size_t line = 0;                  // 1-based line in README
};

struct ReadmeBlock {
  std::string lang;                     // "sh", "mermaid", "log", "" ...
  size_t line = 0;                      // of the opening fence
  std::vector<std::string> text;        // every line inside the fences
  std::vector<ReadmeCommand> commands;  // sh blocks: see readmeBlocks
};

// Every fenced block, ``` or ~~~ (the plugin READMEs' fence); `lang` is the word after it. In a
// ```sh block with "$ " lines, each "$ " line is a command and the lines up to the next are its
// output; in any other ```sh block each line that is neither blank nor a comment is a command,
// with no output shown.
std::vector<ReadmeBlock> readmeBlocks(const std::string& markdown);

// The blocks of plugins/PLUGIN/README.md, and its ~~~ corefile blocks alone: the examples each
// plugin's README test runs.
std::vector<ReadmeBlock> pluginReadme(const std::string& plugin);
std::vector<ReadmeBlock> pluginCorefiles(const std::string& plugin);

// A block's lines, each ended by "\n": a Corefile as the server reads it.
std::string joined(const ReadmeBlock& block);

// Runs of blanks and tabs as one space, none at the ends: dig aligns its columns with tabs.
std::string squeeze(const std::string& line);

}  // namespace moat::testing
