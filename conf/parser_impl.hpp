// The Corefile parser's internals, shared by parser.cpp (grammar) and import.cpp (imports and
// snippets). Private to conf/.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/parser.hpp"
#include "conf/token_stream.hpp"

namespace moat::conf {

// Caps on expansions, as Caddy has, against import chains that multiply without cycling
// (cycles themselves are caught exactly, see Parser::findCycle).
inline constexpr int kMaxSnippetExpansions = 10000;
inline constexpr int kMaxFileExpansions = 100000;
// Blocks nested deeper than this are refused rather than risking the stack.
inline constexpr int kMaxBlockDepth = 100;

class Parser {
 public:
  Parser(const Source& source, const EnvLookup& env, std::vector<Diag>* warnings)
      : source_(source), env_(env), warnings_(warnings) {}

  Result<Corefile> run(std::string_view text, const std::string& path);

 private:
  // Where a list of directives is being read: the body of a server block (depth 0, possibly
  // without braces) or a directive's sub-block (depth >= 1).
  // A block whose `}` does not line up with the line that opened it: when a block further out
  // then reaches the end of the file unclosed, the `}` missing is most likely this one's.
  struct Misaligned {
    std::string owner;
    Pos open;   // its `{`
    Pos close;  // the `}` that closed it
  };

  struct BlockContext {
    int depth = 0;
    bool braced = true;
    std::string owner;  // "example.org" or the directive name, for messages
    Pos open;           // the `{`, where an unclosed block is reported
    Pos ownerPos;       // the first key or the directive name: where a `}` should line up
    Pos close;          // the `}` that closed it (set by body())
    std::optional<Misaligned> misaligned;  // the first inside it, in the order they closed
  };

  std::optional<Diag> serverBlock();
  std::optional<Diag> readKeys(std::vector<Token>& keys);
  std::optional<Diag> body(std::vector<Directive>& out, BlockContext& ctx);
  std::optional<Diag> directive(Directive& d, BlockContext& ctx);
  Diag unclosed(const BlockContext& ctx) const;
  std::optional<Diag> closeOnDirectiveLine(const LexToken& close, const Directive& d,
                                           const BlockContext& ctx);

  // import.cpp
  std::optional<Diag> defineSnippet(const Token& key);
  std::optional<Diag> doImport(const LexToken& importToken);
  std::optional<Diag> importFiles(const LexToken& pattern, int origin);
  std::optional<Diag> findCycle(const LexToken& at, Expansion::Kind kind,
                                const std::string& name, int origin) const;
  void warn(const Pos& pos, std::string message);

  struct Snippet {
    TokenList tokens;
    Pos defined;
  };

  const Source& source_;
  const EnvLookup& env_;
  std::vector<Diag>* warnings_;
  std::optional<TokenStream> stream_;
  std::map<std::string, Snippet, std::less<>> snippets_;
  int snippetExpansions_ = 0;
  int fileExpansions_ = 0;
  bool sawServerBlock_ = false;
  Corefile file_;
};

Token toToken(const LexToken& t);

}  // namespace moat::conf
