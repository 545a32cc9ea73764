// Query log line formats: CoreDNS's placeholder language, compiled once at setup into a list
// of segments so that formatting a line is a walk over that list with no parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "dns/query.hpp"

namespace moat::plugins::log {

// CoreDNS's Common Log Format and its "combined" variant (plus the query opcode).
inline constexpr std::string_view kCommonFormat =
    R"({remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" )"
    R"({rcode} {>rflags} {rsize} {duration})";
inline constexpr std::string_view kCombinedFormatTail = R"( "{>opcode}")";

enum class Field : uint8_t {
  Literal,
  Type, Name, Class, Proto, Size, Remote, Port, Local,   // from the request
  Id, Opcode, Do, BufSize,                                // request header and EDNS
  Rcode, RSize, Duration, RFlags,                         // from the reply
  Metadata,                                               // {/label}: Moat has no metadata
};

struct Segment {
  Field field = Field::Literal;
  std::string text;  // literal text; the label for Metadata

  bool operator==(const Segment&) const = default;
};

struct Format {
  std::string source;  // the format after {common}/{combined} expansion
  std::vector<Segment> segments;

  bool operator==(const Format&) const = default;
};

// The combined format text: kCommonFormat + kCombinedFormatTail.
std::string combinedFormat();

// Replaces every {common} and {combined} in a user-given format.
std::string expandShortcuts(std::string_view format);

// Splits a format into segments the way CoreDNS's replacer does: a placeholder is the text
// between a '}' and the last '{' before it, so "{ {type} }" holds one label; unknown labels
// stay literal text.
Format compileFormat(std::string_view format);

// One query log line, "[INFO] " included, appended to `out`. Pure: everything comes from the
// query (request, client, transport, q.reply as the chain left it, q.start) and `now`.
void formatEntry(const Format& format, const dns::Query& q,
                 std::chrono::steady_clock::time_point now, fmt::memory_buffer& out);

// Go's strconv.FormatFloat(d.Seconds(), 'f', -1, 64) followed by "s": the shortest decimal
// that reads back as the same double, without exponent ("0.000183921s", "2s").
void appendSeconds(fmt::memory_buffer& out, std::chrono::nanoseconds d);

// Client or server address as CoreDNS prints it: IPv4-mapped IPv6 as plain IPv4, other IPv6
// in brackets (with a %zone when scoped).
void appendAddress(fmt::memory_buffer& out, const dns::Endpoint& ep);

}  // namespace moat::plugins::log
