#include "plugins/file/zone_split.hpp"

namespace moat::plugins::file {

namespace {

bool startsOwner(char c) {
  switch (c) {
    case ' ': case '\t': case '\r': case '\n': case ';': case '$': case '(': case ')': case '"':
      return false;
    default:
      return true;
  }
}

// The first blank-separated word of `line` after `skip` characters.
std::string_view wordAfter(std::string_view line, size_t skip) {
  size_t start = skip;
  while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
  size_t end = start;
  while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != ';' && line[end] != '\r') ++end;
  return line.substr(start, end - start);
}

bool absoluteName(std::string_view name) {
  // A final '.' that a backslash escapes is part of a label: treat it as relative.
  return !name.empty() && name.back() == '.' && (name.size() == 1 || name[name.size() - 2] != '\\');
}

}  // namespace

std::optional<ZoneSplit> findZoneSplit(std::string_view text, size_t near) {
  // ldns reads lines as C strings: a NUL hides what follows it on its line (a directive among
  // them) from ldns but not from this scan. No zone file holds one.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string_view origin, ttl;  // the directive lines last seen
  int depth = 0;
  bool quoted = false;
  bool lineStart = true;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (lineStart && depth == 0 && !quoted) {
      if (text[i] == '$') {
        const size_t eol = std::min(text.find('\n', i), text.size());
        const std::string_view directive = text.substr(i, eol - i);
        // ldns reads a directive with its tokenizer: a parenthesis or a quote there would
        // carry it over lines. No real zone file does that; it is not worth carrying.
        if (directive.find_first_of("()\"") != std::string_view::npos) return std::nullopt;
        if (wordAfter(directive, 0) == "$ORIGIN" && absoluteName(wordAfter(directive, 7))) {
          origin = directive;
        } else if (wordAfter(directive, 0) == "$TTL") {
          ttl = directive;
        } else {
          return std::nullopt;  // $INCLUDE, a relative $ORIGIN, or what ldns will refuse anyway
        }
        i = eol;  // its newline is counted below
        if (i == text.size()) break;
      } else if (i >= near && startsOwner(text[i])) {
        ZoneSplit split;
        split.offset = i;
        split.line = line;
        for (std::string_view d : {origin, ttl}) {
          if (d.empty()) continue;
          split.preamble.append(d).push_back('\n');
          ++split.preambleLines;
        }
        return split;
      }
    }
    lineStart = false;
    switch (text[i]) {
      case '\n':
        ++line;
        lineStart = true;
        break;
      case '\\':
        // A backslash before a line's end: whether ldns joins the lines is not worth knowing.
        if (i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r')) return std::nullopt;
        ++i;
        break;
      case '"':
        quoted = !quoted;
        break;
      case ';':
        if (!quoted) {
          const size_t eol = text.find('\n', i);
          if (eol == std::string_view::npos) return std::nullopt;
          i = eol - 1;  // the newline itself is handled next round
        }
        break;
      case '(':
        if (!quoted) ++depth;
        break;
      case ')':
        // ldns lets a stray ')' take its count below zero, and then no line ends a record.
        if (!quoted && --depth < 0) return std::nullopt;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

}  // namespace moat::plugins::file
