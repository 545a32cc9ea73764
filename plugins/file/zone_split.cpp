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
  // ldns reads lines as C strings, so a NUL hides the rest of its line from ldns but not from
  // this scan; a form feed or vertical tab ends a record in the middle of a line. No real zone
  // file holds any of them: such a file is read in one piece.
  if (text.find_first_of(std::string_view("\0\f\v", 3)) != std::string_view::npos) return std::nullopt;
  std::string_view origin, ttl;  // the directive lines last seen
  // ldns's record reader, character by character (ldns_fget_token_l): its parenthesis count,
  // quote and comment state, and its notion of an escaped character (the one after a raw
  // backslash, where a backslash after a backslash escapes nothing). Each record starts afresh.
  int depth = 0;
  bool quoted = false, comment = false;
  char prev = 0;
  bool recordStart = true;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (recordStart) {
      recordStart = false;
      depth = 0, quoted = false, comment = false, prev = 0;
      if (text[i] == '$') {
        const size_t eol = std::min(text.find('\n', i), text.size());
        const std::string_view directive = text.substr(i, eol - i);
        // Only the plain forms are carried: a parenthesis, quote or backslash would make ldns
        // read the directive differently from this scan.
        if (directive.find_first_of("()\"\\") != std::string_view::npos) return std::nullopt;
        if (wordAfter(directive, 0) == "$ORIGIN" && absoluteName(wordAfter(directive, 7))) {
          origin = directive;
        } else if (wordAfter(directive, 0) == "$TTL" && !wordAfter(directive, 4).empty()) {
          ttl = directive;
        } else {
          // $INCLUDE, a relative $ORIGIN, a directive without its value, or what ldns will
          // refuse anyway.
          return std::nullopt;
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
    const char c = text[i] == '\r' ? ' ' : text[i];
    const bool escaped = prev == '\\';
    if (c == '\n') {
      ++line;
      if (comment) comment = false;
      else if (depth == 0 && escaped) return std::nullopt;  // ldns joins the lines: not carried
      // Outside parentheses a newline ends the record (a blank or comment line ends nothing,
      // which comes to the same: the next line starts from nothing).
      recordStart = depth == 0;
      prev = c;
      continue;
    }
    if (comment) {
      prev = c;
      continue;
    }
    if ((c == '(' || c == ')') && !escaped && !quoted) {
      depth += c == '(' ? 1 : -1;
      // A stray ')' makes ldns end the record there and read the rest of the line as the next.
      if (depth < 0) return std::nullopt;
      prev = c;
      continue;
    }
    if (c == ';' && !quoted && !escaped) comment = true;
    if (c == '"' && !comment && !escaped) quoted = !quoted;
    prev = (c == '\\' && escaped) ? 0 : c;
  }
  return std::nullopt;
}

}  // namespace moat::plugins::file
