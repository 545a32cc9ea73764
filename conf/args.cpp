#include "conf/args.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace moat::conf {
namespace {

std::string prefixed(std::string_view plugin, std::string_view message) {
  std::string out;
  if (!plugin.empty()) {
    out.append(plugin);
    out += ": ";
  }
  out.append(message);
  return out;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Go's time.ParseDuration units, in nanoseconds. Both spellings of micro are accepted.
bool unitNanos(std::string_view unit, uint64_t& out) {
  struct Unit {
    std::string_view name;
    uint64_t nanos;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1},
      {"us", 1'000},
      {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
      {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  for (const Unit& u : kUnits) {
    if (u.name == unit) {
      out = u.nanos;
      return true;
    }
  }
  return false;
}

// Parses Go duration text into nanoseconds; false on any syntax error or overflow.
// Mirrors Go's rules: optional sign, then one or more "number unit" pairs, the number may
// have a fraction ("1.5h", ".5s", "1.s"), "0" alone needs no unit, a bare number is an error.
bool parseGoDuration(std::string_view s, int64_t& result) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    result = 0;
    return true;
  }
  if (s.empty()) return false;

  constexpr uint64_t kLimit = uint64_t{1} << 63;  // |int64 min|; checked against the sign below
  uint64_t total = 0;
  while (!s.empty()) {
    // Integer part.
    size_t i = 0;
    uint64_t whole = 0;
    bool overflow = false;
    while (i < s.size() && isDigit(s[i])) {
      if (!overflow) {
        if (whole > kLimit / 10) overflow = true;
        whole = whole * 10 + uint64_t(s[i] - '0');
        if (whole > kLimit) overflow = true;
      }
      ++i;
    }
    bool sawWhole = i > 0;
    // Fraction part: keep as much precision as fits, the way Go scales it.
    uint64_t frac = 0;
    double fracScale = 1;
    bool sawFrac = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t start = i;
      while (i < s.size() && isDigit(s[i])) {
        if (frac <= (std::numeric_limits<uint64_t>::max() - 9) / 10 && fracScale < 1e18) {
          frac = frac * 10 + uint64_t(s[i] - '0');
          fracScale *= 10;
        }
        ++i;
      }
      sawFrac = i > start;
    }
    if (!sawWhole && !sawFrac) return false;  // "." or a unit with no number
    if (overflow) return false;
    // Unit: everything up to the next digit or '.'.
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !isDigit(s[u])) ++u;
    if (u == i) return false;  // missing unit
    uint64_t nanos = 0;
    if (!unitNanos(s.substr(i, u - i), nanos)) return false;
    if (whole > kLimit / nanos) return false;
    uint64_t value = whole * nanos;
    if (frac > 0) {
      value += uint64_t(double(frac) * (double(nanos) / fracScale));
      if (value > kLimit) return false;
    }
    total += value;
    if (total > kLimit) return false;
    s.remove_prefix(u);
  }
  if (!negative && total > kLimit - 1) return false;
  result = negative ? int64_t(-static_cast<__int128>(total)) : int64_t(total);
  return true;
}

}  // namespace

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

namespace {

std::string plural(size_t n) { return n == 1 ? " argument" : " arguments"; }

}  // namespace

Result<int64_t> parseInt(const Token& token, std::string_view plugin, std::string_view what,
                         int64_t min, int64_t max) {
  auto fail = [&] {
    return errorAt(token, plugin,
                   std::string(what) + " must be an integer from " + std::to_string(min) +
                       " to " + std::to_string(max) + ", got '" + token.text + "'");
  };
  std::string_view s = token.text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {  // Go's strconv.Atoi accepts a sign
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return fail();
  // Accumulate negatively so INT64_MIN parses too.
  int64_t value = 0;
  for (char c : s) {
    if (!isDigit(c)) return fail();
    int digit = c - '0';
    if (value < (std::numeric_limits<int64_t>::min() + digit) / 10) return fail();
    value = value * 10 - digit;
  }
  if (!negative) {
    if (value == std::numeric_limits<int64_t>::min()) return fail();
    value = -value;
  }
  if (value < min || value > max) return fail();
  return value;
}

Result<std::chrono::nanoseconds> parseDuration(const Token& token, std::string_view plugin,
                                               std::string_view what) {
  int64_t nanos = 0;
  if (!parseGoDuration(token.text, nanos)) {
    return errorAt(token, plugin,
                   std::string(what) + " must be a duration such as 5s, 500ms or 1m30s, got '" +
                       token.text + "'");
  }
  return std::chrono::nanoseconds(nanos);
}

Diag errorAt(const Token& token, std::string_view plugin, std::string_view message) {
  return Diag{token.pos, prefixed(plugin, message), Severity::Error};
}

Diag unknownOption(const Directive& option, std::string_view plugin,
                   std::initializer_list<std::string_view> known) {
  std::string message = "unknown option '" + option.name.text + "'";
  std::string guess = didYouMean(option.name.text, known);
  if (!guess.empty()) message += ", did you mean '" + guess + "'?";
  return errorAt(option.name, plugin, message);
}

Result<bool> expectArgs(const Directive& d, std::string_view plugin, size_t min, size_t max) {
  size_t n = d.args.size();
  if (n >= min && n <= max) return true;
  std::string wanted;
  if (max == 0) {
    wanted = "takes no arguments";
  } else if (min == max) {
    wanted = "takes exactly " + std::to_string(min) + plural(min);
  } else if (max == std::numeric_limits<size_t>::max()) {
    wanted = "takes at least " + std::to_string(min) + plural(min);
  } else if (min == 0) {
    wanted = "takes at most " + std::to_string(max) + plural(max);
  } else {
    wanted = "takes " + std::to_string(min) + " to " + std::to_string(max) + " arguments";
  }
  std::string message = "'" + d.name.text + "' " + wanted + ", got " + std::to_string(n);
  // Too many: point at the first argument that is too much; too few: at the name.
  const Token& where = n > max ? d.args[max] : d.name;
  return errorAt(where, plugin, message);
}

std::string didYouMean(std::string_view word, std::initializer_list<std::string_view> candidates) {
  constexpr size_t kMaxDistance = 2;
  std::string_view best;
  size_t bestDistance = kMaxDistance + 1;
  for (std::string_view c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestDistance) {  // strict: the first of equally close candidates wins
      bestDistance = d;
      best = c;
    }
  }
  return std::string(best);
}

}  // namespace moat::conf
