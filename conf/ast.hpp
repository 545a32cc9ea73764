// The parsed Corefile: server blocks, their keys, and directives with arguments and optional
// sub-blocks. Environment variables, imports and snippets are already expanded here.
#pragma once

#include <string>
#include <vector>

#include "conf/diag.hpp"

namespace moat::conf {

struct Token {
  std::string text;
  Pos pos;
  bool quoted = false;
};

// One line of a block: a word, the arguments on the same line, and the `{ ... }` block that
// opened on that line, whose lines are directives themselves (options of a plugin).
struct Directive {
  Token name;
  std::vector<Token> args;
  std::vector<Directive> block;
  bool hasBlock = false;
};

struct ServerBlock {
  std::vector<Token> keys;             // as written: "example.org:1053", "dns://.:53", "10.0.0.0/8"
  std::vector<Directive> directives;   // in Corefile order
};

struct Corefile {
  std::string path;  // the file it was read from
  std::vector<ServerBlock> blocks;
};

}  // namespace moat::conf
