#include "conf/lexer.hpp"

#include <optional>

namespace moat::conf {
namespace {

bool isContinuationByte(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length in bytes of the whitespace character at text[i], 0 if there is none there. The set is
// Go's unicode.IsSpace (what Caddy splits on), so a pasted no-break space separates words too.
size_t whitespaceLen(std::string_view text, size_t i) {
  auto at = [&](size_t k) -> unsigned char { return i + k < text.size() ? text[i + k] : 0; };
  unsigned char c = at(0);
  if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f') return 1;
  if (c == 0xC2 && (at(1) == 0x85 || at(1) == 0xA0)) return 2;  // U+0085, U+00A0
  if (c == 0xE1 && at(1) == 0x9A && at(2) == 0x80) return 3;    // U+1680
  if (c == 0xE2 && at(1) == 0x80) {
    unsigned char d = at(2);
    if ((d >= 0x80 && d <= 0x8A) || d == 0xA8 || d == 0xA9 || d == 0xAF) return 3;  // U+2000..
  }
  if (c == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  return 0;
}

// One pass of reference replacement for a given delimiter pair.
std::string expandRefs(std::string_view s, std::string_view open, std::string_view close,
                       const EnvLookup& env) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t start = s.find(open, pos);
    if (start == std::string_view::npos) break;
    size_t end = s.find(close, start + open.size());
    if (end == std::string_view::npos) break;  // unterminated: the rest stays literal
    std::string_view name = s.substr(start + open.size(), end - start - open.size());
    out.append(s.substr(pos, start - pos));
    if (name.empty()) {
      out.append(s.substr(start, end + close.size() - start));  // "{$}" is not a reference
    } else if (env) {
      if (auto value = env(name)) out += *value;
    }
    pos = end + close.size();
  }
  out.append(s.substr(pos));
  return out;
}

class Lexer {
 public:
  Lexer(std::string_view text, const std::string& file, const EnvLookup& env)
      : text_(text), file_(file), env_(env) {}

  Result<std::vector<LexToken>> run() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // byte order mark
    while (i_ < text_.size()) {
      unsigned char c = text_[i_];
      if (c == '\r') {  // ignored everywhere, so CRLF files lex like LF files
        ++i_;
        continue;
      }
      if (size_t n = whitespaceLen(text_, i_)) {
        endWord();
        advance(n);
        continue;
      }
      if (c == '#') {  // a comment runs to the end of the line, even in the middle of a word
        endWord();
        while (i_ < text_.size() && text_[i_] != '\n') advance(1);
        continue;
      }
      if (c == '"' && !inWord_) {
        if (auto err = quoted()) return *err;
        continue;
      }
      if (!inWord_) {
        inWord_ = true;
        start_ = Pos{file_, line_, col_};
      }
      word_ += char(c);
      advance(1);
    }
    endWord();
    return std::move(tokens_);
  }

 private:
  // Moves over n bytes of one character, keeping line and column (in characters) current.
  void advance(size_t n) {
    unsigned char c = text_[i_];
    i_ += n;
    if (c == '\n') {
      ++line_;
      col_ = 1;
    } else if (!isContinuationByte(c)) {
      ++col_;
    }
  }

  void endWord() {
    if (!inWord_) return;
    inWord_ = false;
    TokenKind kind = TokenKind::Word;
    if (word_ == "{") kind = TokenKind::Open;
    if (word_ == "}") kind = TokenKind::Close;
    std::string text = kind == TokenKind::Word ? expandEnv(word_, env_) : word_;
    tokens_.push_back(LexToken{std::move(text), start_, start_.line, false, kind});
    word_.clear();
  }

  // A quoted token: to the next unescaped `"`, across lines; only \" is an escape, any other
  // backslash is kept as written. Returns the error for a quote that never closes.
  std::optional<Diag> quoted() {
    Pos start{file_, line_, col_};
    advance(1);
    std::string value;
    bool escaped = false;
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (c == '\r') {
        ++i_;
        continue;
      }
      if (!escaped && c == '\\') {
        escaped = true;
        advance(1);
        continue;
      }
      if (!escaped && c == '"') {
        advance(1);
        tokens_.push_back(
            LexToken{expandEnv(value, env_), start, line_, true, TokenKind::Word});
        return std::nullopt;
      }
      if (escaped && c != '"') value += '\\';
      escaped = false;
      value += c;
      advance(1);
    }
    return errorAt(start, "unterminated quoted string: expected a closing '\"' before the end "
                          "of the file");
  }

  std::string_view text_;
  const std::string& file_;
  const EnvLookup& env_;
  size_t i_ = 0;
  uint32_t line_ = 1;
  uint32_t col_ = 1;
  bool inWord_ = false;
  std::string word_;
  Pos start_;
  std::vector<LexToken> tokens_;
};

}  // namespace

Result<std::vector<LexToken>> lex(std::string_view text, const std::string& file,
                                  const EnvLookup& env) {
  return Lexer(text, file, env).run();
}

std::string expandEnv(std::string_view text, const EnvLookup& env) {
  if (text.find('{') == std::string_view::npos) return std::string(text);
  // Same order as Caddy: the Windows-style form first, then the Unix-style one.
  std::string once = expandRefs(text, "{%", "%}", env);
  return expandRefs(once, "{$", "}", env);
}

}  // namespace moat::conf
