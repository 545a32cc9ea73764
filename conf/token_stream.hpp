// The parser's view of the tokens: the root file's tokens with imports spliced in where they
// occur, as Caddy splices them, but as a stack of frames instead of copying token vectors, and
// with a record of which import each frame came from so cycles can be named.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/lexer.hpp"

namespace moat::conf {

using TokenList = std::shared_ptr<const std::vector<LexToken>>;

// One expansion of the token stream: the root file, an imported file or a snippet.
struct Expansion {
  enum class Kind : uint8_t { Root, File, Snippet };
  Kind kind = Kind::Root;
  std::string name;  // file path or snippet name
  int parent = -1;   // index of the expansion the import statement was in
};

class TokenStream {
 public:
  TokenStream(TokenList root, std::string rootPath);

  // The next token without consuming it; nullptr at the end of everything.
  const LexToken* peek();
  // Consumes and returns the next token (nullptr at the end). The pointer stays valid only until
  // the next call to peek() or next(); copy what must outlive that.
  const LexToken* next();

  // Whether `t` starts a new line relative to the last consumed token: another file, or a later
  // line than where that token ended (a quoted token can span lines).
  bool startsLine(const LexToken& t) const;

  // The expansion the last consumed token came from.
  int origin() const { return prevOrigin_; }

  // Splices `tokens` in before the rest of the stream; they belong to a new expansion.
  void push(TokenList tokens, Expansion expansion);

  // The chain of expansions from the root to `id`, root first.
  std::vector<const Expansion*> chain(int id) const;

 private:
  struct Frame {
    TokenList tokens;
    size_t index = 0;
    int origin = 0;
  };
  std::vector<Frame> frames_;
  std::vector<Expansion> expansions_;
  bool havePrev_ = false;
  std::string prevFile_;
  uint32_t prevEndLine_ = 0;
  int prevOrigin_ = 0;
};

}  // namespace moat::conf
