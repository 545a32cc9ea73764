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

}  // namespace moat::testing
