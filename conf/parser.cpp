// The Corefile grammar (semantics §1): server blocks of keys and directives, directives with
// same-line arguments and an optional sub-block, one braceless block allowed. Imports and
// snippets are in import.cpp, tokens in lexer.cpp.
#include "conf/parser.hpp"

#include "conf/lexer.hpp"
#include "conf/parser_impl.hpp"

namespace moat::conf {
namespace {

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string describe(const LexToken& t) {
  if (t.kind == TokenKind::Word && t.quoted) return quote("\"" + t.text + "\"");
  return quote(t.text);
}

bool isImport(const LexToken& t) { return t.kind == TokenKind::Word && t.text == "import"; }

bool isSnippetKey(const std::string& key) {
  return key.size() >= 2 && key.front() == '(' && key.back() == ')';
}

}  // namespace

Token toToken(const LexToken& t) { return Token{t.text, t.pos, t.quoted}; }

Result<Corefile> Parser::run(std::string_view text, const std::string& path) {
  auto tokens = lex(text, path, env_);
  if (!tokens) return tokens.error();
  file_.path = path;
  stream_.emplace(std::make_shared<const std::vector<LexToken>>(std::move(*tokens)), path);

  while (const LexToken* t = stream_->peek()) {
    if (t->kind == TokenKind::Close) return errorAt(t->pos, "unexpected '}': no block is open");
    if (t->kind == TokenKind::Open) {
      return errorAt(t->pos, "unexpected '{': expected a server block key (a zone such as "
                             "'example.org' or '.:53') before it");
    }
    if (isImport(*t) && stream_->startsLine(*t)) {
      LexToken importToken = *stream_->next();
      if (auto e = doImport(importToken)) return *e;
      continue;
    }
    if (auto e = serverBlock()) return *e;
  }
  return std::move(file_);
}

std::optional<Diag> Parser::serverBlock() {
  const Pos firstPos = stream_->peek()->pos;
  std::vector<Token> keys;
  if (auto e = readKeys(keys)) return e;

  if (keys.size() == 1 && isSnippetKey(keys[0].text)) return defineSnippet(keys[0]);

  const std::string owner = keys.empty() ? std::string("the server block") : keys[0].text;
  ServerBlock block;
  block.keys = std::move(keys);
  const LexToken* t = stream_->peek();
  if (t != nullptr && t->kind == TokenKind::Open) {
    BlockContext ctx{0, true, owner, t->pos, firstPos, {}, {}};
    stream_->next();
    if (auto e = body(block.directives, ctx)) return e;
  } else if (!sawServerBlock_) {
    // A Corefile holding a single server block may leave out its braces: everything up to the
    // end is its body.
    BlockContext ctx{0, false, owner, firstPos, firstPos, {}, {}};
    if (auto e = body(block.directives, ctx)) return e;
  } else {
    const Pos& at = t != nullptr ? t->pos : block.keys.empty() ? firstPos : block.keys.back().pos;
    std::string got = t != nullptr ? ", got " + describe(*t) : ", got the end of the file";
    return errorAt(at, "expected '{' to open the block of " + quote(owner) + got +
                           " (only a Corefile with a single server block may leave out the "
                           "braces)");
  }
  sawServerBlock_ = true;
  if (block.keys.empty()) {
    // Caddy drops such a block silently; say so, since it usually means an unset variable.
    warn(firstPos, "server block has no keys (all of them are empty, e.g. an unset environment "
                   "variable): it is ignored, as CoreDNS does");
    return std::nullopt;
  }
  file_.blocks.push_back(std::move(block));
  return std::nullopt;
}

// Keys: the words of the first line, and of following lines as long as a key ends in ','.
std::optional<Diag> Parser::readKeys(std::vector<Token>& keys) {
  bool expectingAnother = false;
  bool first = true;
  Pos lastKey;
  while (const LexToken* t = stream_->peek()) {
    if (!first) {
      if (t->kind != TokenKind::Word) {
        if (expectingAnother) {
          return errorAt(t->pos, "expected another server key after the trailing ',' of " +
                                     quote(keys.empty() ? "" : keys.back().text) + ", got " +
                                     describe(*t));
        }
        return std::nullopt;
      }
      bool newLine = stream_->startsLine(*t);
      if (newLine && !expectingAnother) return std::nullopt;
      if (newLine && isImport(*t)) {  // keys may come from an import after a trailing comma
        LexToken importToken = *stream_->next();
        if (auto e = doImport(importToken)) return e;
        continue;
      }
    }
    first = false;
    Token key = toToken(*stream_->next());
    lastKey = key.pos;
    expectingAnother = !key.text.empty() && key.text.back() == ',';
    if (expectingAnother) key.text.pop_back();
    if (!key.text.empty()) keys.push_back(std::move(key));  // "" or an unset {$VAR}: skipped
  }
  if (expectingAnother) {
    return errorAt(lastKey, "expected another server key after the trailing ',', got the end "
                            "of the file");
  }
  return std::nullopt;
}

std::optional<Diag> Parser::body(std::vector<Directive>& out, BlockContext& ctx) {
  while (const LexToken* t = stream_->peek()) {
    if (t->kind == TokenKind::Close) {
      if (!ctx.braced) return errorAt(t->pos, "unexpected '}': no block is open");
      ctx.close = t->pos;
      stream_->next();
      return std::nullopt;
    }
    if (t->kind == TokenKind::Open) {
      return errorAt(t->pos, "unexpected '{' at the start of a line: a block must open on the "
                             "same line as its directive");
    }
    if (isImport(*t)) {
      LexToken importToken = *stream_->next();
      if (auto e = doImport(importToken)) return e;
      continue;
    }
    Directive d;
    if (auto e = directive(d, ctx)) return e;
    out.push_back(std::move(d));
  }
  if (ctx.braced) return unclosed(ctx);
  return std::nullopt;
}

// A block that reaches the end of the file open. Its own `}` may well be there, taken by a
// block inside it that lacks one: `hosts {` without its `}` takes the `}` written for the
// server block. The indentation tells which: blame the first inner block whose `}` did not line
// up with it, and say which `}` it took.
Diag Parser::unclosed(const BlockContext& ctx) const {
  if (ctx.misaligned) {
    const Misaligned& m = *ctx.misaligned;
    return errorAt(m.open, "the block of " + quote(m.owner) + " is not closed: the '}' at " +
                               std::to_string(m.close.line) + ":" + std::to_string(m.close.col) +
                               " does not line up with " + quote(m.owner) + " but closed it, and " +
                               "the block of " + quote(ctx.owner) + " (" +
                               std::to_string(ctx.open.line) + ":" + std::to_string(ctx.open.col) +
                               ") reached the end of the file open; add the missing '}'");
  }
  return errorAt(ctx.open, "the block of " + quote(ctx.owner) +
                               " is not closed: expected '}' before the end of the file");
}

// A directive: its name, the words on the same line, and a `{ ... }` opened on that line.
std::optional<Diag> Parser::directive(Directive& d, BlockContext& ctx) {
  d.name = toToken(*stream_->next());
  while (const LexToken* t = stream_->peek()) {
    if (stream_->startsLine(*t)) return std::nullopt;
    if (t->kind == TokenKind::Word) {
      d.args.push_back(toToken(*stream_->next()));
      continue;
    }
    if (t->kind == TokenKind::Close) return closeOnDirectiveLine(*t, d, ctx);

    if (ctx.depth + 1 > kMaxBlockDepth) {
      return errorAt(t->pos, "blocks are nested more than " + std::to_string(kMaxBlockDepth) +
                                 " deep");
    }
    BlockContext sub{ctx.depth + 1, true, d.name.text, t->pos, d.name.pos, {}, {}};
    stream_->next();
    d.hasBlock = true;
    if (auto e = body(d.block, sub)) return e;
    // A `}` on the directive's own line (`hosts { fallthrough }`) or in its column lines up.
    // One in the column of the block around it was written for that block instead.
    const bool sameFile = sub.close.file == sub.ownerPos.file && sub.close.file == ctx.ownerPos.file;
    const bool linesUp = sub.close.line == sub.ownerPos.line || sub.close.col == sub.ownerPos.col;
    const bool meantForOuter = sub.close.col == ctx.ownerPos.col;
    if (!ctx.misaligned) {
      if (sub.misaligned) {
        ctx.misaligned = sub.misaligned;
      } else if (sameFile && !linesUp && meantForOuter) {
        ctx.misaligned = Misaligned{sub.owner, sub.open, sub.close};
      }
    }

    const LexToken* after = stream_->peek();
    if (after == nullptr || stream_->startsLine(*after)) return std::nullopt;
    if (after->kind == TokenKind::Close) return closeOnDirectiveLine(*after, d, ctx);
    return errorAt(after->pos, "unexpected " + describe(*after) + " after the block of " +
                                   quote(d.name.text) + ": expected the end of the line");
  }
  return std::nullopt;
}

// A `}` on the line of a directive. Inside a directive's block it closes that block
// (`hosts { fallthrough }`); at the level of a server block Caddy refuses it, and so do we, so
// that a Corefile Moat accepts also loads in CoreDNS.
std::optional<Diag> Parser::closeOnDirectiveLine(const LexToken& close, const Directive& d,
                                                 const BlockContext& ctx) {
  if (!ctx.braced) return errorAt(close.pos, "unexpected '}': no block is open");
  if (ctx.depth > 0) return std::nullopt;  // body() consumes it
  return errorAt(close.pos, "unexpected '}' on the line of " + quote(d.name.text) +
                                ": the '}' closing the block of " + quote(ctx.owner) +
                                " must start a new line");
}

void Parser::warn(const Pos& pos, std::string message) {
  if (warnings_ != nullptr) warnings_->push_back(Diag{pos, std::move(message), Severity::Warning});
}

Result<Corefile> parseCorefile(std::string_view text, const std::string& path,
                               const ParseOptions& options) {
  static const FileSource kFiles;
  const Source& source = options.source != nullptr ? *options.source : kFiles;
  EnvLookup env = options.env ? options.env : processEnv();
  try {
    return Parser(source, env, options.warnings).run(text, path);
  } catch (const std::exception& e) {  // allocation failure and the like: no throw escapes
    return errorAt(Pos{path, 0, 0}, std::string("cannot parse: ") + e.what());
  }
}

Result<Corefile> loadCorefile(const std::string& path, const ParseOptions& options) {
  static const FileSource kFiles;
  const Source& source = options.source != nullptr ? *options.source : kFiles;
  // No position: nothing of the file was read, and "FILE:0:0" would point at nothing.
  if (source.isDirectory(path)) {
    return errorAt(Pos{}, "cannot read " + path + ": is a directory, expected a Corefile");
  }
  std::string why;
  auto text = source.read(path, why);
  if (!text) return errorAt(Pos{}, "cannot read " + path + ": " + why);
  return parseCorefile(*text, path, options);
}

}  // namespace moat::conf
