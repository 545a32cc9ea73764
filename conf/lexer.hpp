// Corefile text -> tokens with file:line:col, as Caddy's lexer splits them (see lexer.cpp).
// Private to conf/: the parser consumes these; plugins only ever see the AST.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "conf/parser.hpp"

namespace moat::conf {

enum class TokenKind : uint8_t {
  Word,   // anything else, including quoted text (a quoted "{" is a word)
  Open,   // an unquoted `{` on its own
  Close,  // an unquoted `}` on its own
};

struct LexToken {
  std::string text;      // environment references already replaced
  Pos pos;               // where the token starts (the opening quote for quoted text)
  uint32_t endLine = 0;  // where it ends: a quoted token may span lines
  bool quoted = false;
  TokenKind kind = TokenKind::Word;
};

// Splits `text` into tokens. `file` names them. The only error is an unterminated quote.
Result<std::vector<LexToken>> lex(std::string_view text, const std::string& file,
                                  const EnvLookup& env);

// Replaces {%NAME%} and then {$NAME} references; unset names become empty, an unterminated
// or empty reference stays as written.
std::string expandEnv(std::string_view text, const EnvLookup& env);

}  // namespace moat::conf
