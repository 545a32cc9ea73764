// `import` and snippets (semantics §1): a snippet name wins, else a file or a one-wildcard glob
// relative to the importing file. Imported tokens keep their own file:line:col.
#include <algorithm>
#include <filesystem>

#include "conf/lexer.hpp"
#include "conf/parser_impl.hpp"

namespace moat::conf {
namespace {

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// The import pattern resolved against the directory of the file holding the import.
std::string resolve(const std::string& importingFile, const std::string& pattern) {
  namespace fs = std::filesystem;
  fs::path p(pattern);
  if (p.is_absolute()) return p.lexically_normal().string();
  fs::path joined = fs::path(importingFile).parent_path() / p;
  return joined.lexically_normal().string();
}

std::string describeChain(const std::vector<const Expansion*>& chain, const std::string& again) {
  std::string out;
  for (const Expansion* e : chain) {
    out += e->kind == Expansion::Kind::Snippet ? "(" + e->name + ")" : e->name;
    out += " -> ";
  }
  return out + again;
}

}  // namespace

std::optional<Diag> Parser::defineSnippet(const Token& key) {
  const std::string name = key.text.substr(1, key.text.size() - 2);
  if (name.empty()) return errorAt(key.pos, "snippet name is empty: write '(name) { ... }'");
  if (auto it = snippets_.find(name); it != snippets_.end()) {
    return errorAt(key.pos, "snippet " + quote(name) + " is already defined at " +
                                it->second.defined.str());
  }
  const LexToken* open = stream_->peek();
  if (open == nullptr || open->kind != TokenKind::Open) {
    return errorAt(open != nullptr ? open->pos : key.pos,
                   "expected '{' to open snippet " + quote(name) +
                       (open != nullptr ? ", got " + quote(open->text) : ", got the end of the file"));
  }
  const Pos openPos = open->pos;
  stream_->next();

  // The body is kept as tokens and replayed at each import, so it may hold several
  // directives, sub-blocks or even whole server blocks; only its braces must balance.
  std::vector<LexToken> body;
  int depth = 1;
  while (true) {
    const LexToken* t = stream_->next();
    if (t == nullptr) {
      return errorAt(openPos, "snippet " + quote(name) +
                                  " is not closed: expected '}' before the end of the file");
    }
    if (t->kind == TokenKind::Open) ++depth;
    if (t->kind == TokenKind::Close && --depth == 0) break;
    body.push_back(*t);
  }

  // Caddy refuses a snippet that imports itself when it is defined; indirect cycles are found
  // at import time.
  for (size_t i = 0; i + 1 < body.size(); ++i) {
    const LexToken& t = body[i];
    bool lineStart = i == 0 || body[i - 1].pos.file != t.pos.file ||
                     body[i - 1].endLine < t.pos.line;
    if (lineStart && t.kind == TokenKind::Word && t.text == "import" &&
        body[i + 1].text == name && body[i + 1].pos.line == t.endLine) {
      return errorAt(t.pos, "import cycle: snippet " + quote(name) + " imports itself");
    }
  }
  snippets_.emplace(name, Snippet{std::make_shared<const std::vector<LexToken>>(std::move(body)),
                                  key.pos});
  return std::nullopt;
}

std::optional<Diag> Parser::doImport(const LexToken& importToken) {
  const LexToken* p = stream_->peek();
  if (p == nullptr || stream_->startsLine(*p) || p->kind != TokenKind::Word) {
    return errorAt(importToken.pos,
                   "import needs a file, glob or snippet name on the same line");
  }
  const LexToken pattern = *stream_->next();
  const int origin = stream_->origin();
  if (const LexToken* extra = stream_->peek(); extra != nullptr && !stream_->startsLine(*extra)) {
    return errorAt(extra->pos, "import takes one argument (a file, glob or snippet name), got "
                               "another: " + quote(extra->text));
  }
  if (pattern.text.empty()) {
    return errorAt(pattern.pos, "import needs a non-empty file, glob or snippet name");
  }

  if (auto it = snippets_.find(pattern.text); it != snippets_.end()) {
    if (auto e = findCycle(importToken, Expansion::Kind::Snippet, pattern.text, origin)) return e;
    if (snippetExpansions_ >= kMaxSnippetExpansions) {
      return errorAt(importToken.pos, "too many snippet imports (more than " +
                                          std::to_string(kMaxSnippetExpansions) + ")");
    }
    ++snippetExpansions_;
    stream_->push(it->second.tokens, Expansion{Expansion::Kind::Snippet, pattern.text, origin});
    return std::nullopt;
  }
  return importFiles(pattern, origin);
}

std::optional<Diag> Parser::importFiles(const LexToken& pattern, int origin) {
  const std::string path = resolve(pattern.pos.file, pattern.text);
  const bool hasBrackets =
      path.find('[') != std::string::npos && path.find(']') != std::string::npos;
  if (std::count(path.begin(), path.end(), '*') > 1 ||
      std::count(path.begin(), path.end(), '?') > 1 || hasBrackets) {
    // Caddy's limit (its issue #2096): patterns with several wildcards can take too long.
    return errorAt(pattern.pos, "import pattern " + quote(path) +
                                    " may contain at most one '*' and one '?', and no '[...]'");
  }

  std::vector<std::string> files;
  if (path.find_first_of("*?[]") != std::string::npos) {
    files = source_.glob(path);
    if (files.empty()) {
      warn(pattern.pos, "no files match import pattern " + quote(pattern.text) + " (" + path + ")");
      return std::nullopt;
    }
  } else {
    files.push_back(path);
  }

  // Lex every match first, then push them last to first so the first match is read first.
  std::vector<std::pair<TokenList, std::string>> loaded;
  for (const std::string& file : files) {
    if (auto e = findCycle(pattern, Expansion::Kind::File, file, origin)) return e;
    if (fileExpansions_ >= kMaxFileExpansions) {
      return errorAt(pattern.pos, "too many file imports (more than " +
                                      std::to_string(kMaxFileExpansions) + ")");
    }
    ++fileExpansions_;
    if (source_.isDirectory(file)) {
      return errorAt(pattern.pos, "cannot import " + quote(file) + ": it is a directory");
    }
    std::string why;
    auto text = source_.read(file, why);
    if (!text) {
      if (files.size() == 1 && file == path) {
        return errorAt(pattern.pos, "cannot import " + quote(pattern.text) +
                                        ": no snippet of that name is defined above, and file " +
                                        quote(file) + " cannot be read: " + why);
      }
      return errorAt(pattern.pos, "cannot import " + quote(file) + ": " + why);
    }
    auto tokens = lex(*text, file, env_);
    if (!tokens) return tokens.error();
    loaded.emplace_back(std::make_shared<const std::vector<LexToken>>(std::move(*tokens)), file);
  }
  for (auto it = loaded.rbegin(); it != loaded.rend(); ++it) {
    stream_->push(it->first, Expansion{Expansion::Kind::File, it->second, origin});
  }
  return std::nullopt;
}

// An import of something that is already being expanded further up would never end.
std::optional<Diag> Parser::findCycle(const LexToken& at, Expansion::Kind kind,
                                      const std::string& name, int origin) const {
  auto chain = stream_->chain(origin);
  for (const Expansion* e : chain) {
    bool sameFile = kind == Expansion::Kind::File && e->kind != Expansion::Kind::Snippet &&
                    std::filesystem::path(e->name).lexically_normal() ==
                        std::filesystem::path(name).lexically_normal();
    bool sameSnippet = kind == Expansion::Kind::Snippet && e->kind == kind && e->name == name;
    if (sameFile || sameSnippet) {
      std::string again = kind == Expansion::Kind::Snippet ? "(" + name + ")" : name;
      return errorAt(at.pos, "import cycle: " + describeChain(chain, again));
    }
  }
  return std::nullopt;
}

}  // namespace moat::conf
