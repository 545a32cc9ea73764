// Label selector syntax as Kubernetes' apimachinery labels.Parse accepts it, enough to reject at
// start what CoreDNS would reject (`labels`, `namespace_labels`). Moat does not filter by labels.
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/kubernetes/config.hpp"

namespace moat::plugins::kubernetes {

namespace {

bool special(char c) {
  return c == ',' || c == '=' || c == '!' || c == '(' || c == ')' || c == '<' || c == '>';
}

struct Token {
  enum Kind { Ident, Op, End } kind = End;
  std::string_view text;
};

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t start = i;
    if (special(s[i])) {
      // Two-character operators first: "==", "!=".
      if (i + 1 < s.size() && s[i + 1] == '=' && (s[i] == '=' || s[i] == '!')) ++i;
      out.push_back({Token::Op, s.substr(start, ++i - start)});
      continue;
    }
    while (i < s.size() && !special(s[i]) && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    out.push_back({Token::Ident, s.substr(start, i - start)});
  }
  out.push_back({Token::End, {}});
  return out;
}

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters; empty allowed for values.
bool validName(std::string_view s, bool allowEmpty) {
  if (s.empty()) return allowEmpty;
  if (s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool validKey(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return validName(key, false);
  std::string_view prefix = key.substr(0, slash);
  if (prefix.empty() || prefix.size() > 253) return false;
  for (char c : prefix)
    if (!(alnum(c) || c == '-' || c == '.') || std::isupper(static_cast<unsigned char>(c)))
      return false;
  return validName(key.substr(slash + 1), false);
}

bool integer(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

bool validLabelSelector(std::string_view selector, std::string& why) {
  std::vector<Token> t = lex(selector);
  size_t i = 0;
  auto fail = [&](std::string message) {
    why = std::move(message);
    return false;
  };
  auto isOp = [&](std::string_view op) { return t[i].kind == Token::Op && t[i].text == op; };
  if (t[i].kind == Token::End) return true;  // everything
  while (true) {
    bool negated = isOp("!");
    if (negated) ++i;
    if (t[i].kind != Token::Ident) return fail("expected a label key");
    if (!validKey(t[i].text)) return fail("invalid label key '" + std::string(t[i].text) + "'");
    ++i;
    if (!negated && t[i].kind != Token::End && !isOp(",")) {
      if (t[i].kind == Token::Ident && (t[i].text == "in" || t[i].text == "notin")) {
        ++i;
        if (!isOp("(")) return fail("expected '(' after in/notin");
        ++i;
        while (!isOp(")")) {
          if (t[i].kind != Token::Ident || !validName(t[i].text, true))
            return fail("invalid value in a set");
          ++i;
          if (isOp(",")) {
            ++i;
          } else if (!isOp(")")) {
            return fail("expected ',' or ')' in a set");
          }
        }
        ++i;
      } else if (isOp("=") || isOp("==") || isOp("!=")) {
        ++i;
        if (t[i].kind == Token::Ident) {
          if (!validName(t[i].text, true))
            return fail("invalid label value '" + std::string(t[i].text) + "'");
          ++i;
        }
      } else if (isOp("<") || isOp(">")) {
        ++i;
        if (t[i].kind != Token::Ident || !integer(t[i].text))
          return fail("'<' and '>' need an integer value");
        ++i;
      } else {
        return fail("expected an operator (=, ==, !=, in, notin, <, >) after the key");
      }
    }
    if (t[i].kind == Token::End) return true;
    if (!isOp(",")) return fail("expected ',' between requirements");
    ++i;
  }
}

}  // namespace moat::plugins::kubernetes
