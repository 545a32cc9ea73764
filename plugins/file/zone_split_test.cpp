// A large zone file is parsed by two threads, each from one part of it: the cut must lose none
// of ldns's stream state, and the two parts must load exactly what one reader loads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "plugins/file/zone_file.hpp"
#include "plugins/file/zone_split.hpp"

using namespace moat::plugins::file;

namespace {

// Both loads produced the same zone: names, sets, TTLs and RDATA in the same order.
bool sameZone(const Zone& a, const Zone& b) {
  if (a.serial() != b.serial() || a.nodes().size() != b.nodes().size() || a.recordCount() != b.recordCount()) {
    return false;
  }
  for (size_t i = 0; i < a.nodes().size(); ++i) {
    const Node& na = a.nodes()[i];
    const Node& nb = b.nodes()[i];
    if (!std::ranges::equal(a.name(na), b.name(nb)) || na.setCount != nb.setCount) return false;
    for (size_t s = 0; s < na.setCount; ++s) {
      const RRset& sa = a.sets(na)[s];
      const RRset& sb = b.sets(nb)[s];
      if (sa.type != sb.type || sa.count != sb.count) return false;
      for (size_t r = 0; r < sa.count; ++r) {
        if (a.records(sa)[r].ttl != b.records(sb)[r].ttl ||
            !std::ranges::equal(a.rdata(a.records(sa)[r]), b.rdata(b.records(sb)[r]))) {
          return false;
        }
      }
    }
  }
  return true;
}

// `n` bytes that change nothing: an empty line or a comment.
std::string padding(size_t n) {
  if (n == 0) return "";
  if (n == 1) return "\n";
  return ";" + std::string(n - 2, 'x') + "\n";
}

// At every cut point this text offers, the two parts load the zone one reader loads. The load
// cuts near the middle, so padding before or after the text moves the middle onto each point.
void checkEveryCut(const std::string& text) {
  ZoneLoad whole = loadZoneText(text, "db", "example.org.", std::nullopt, SIZE_MAX);
  REQUIRE_MESSAGE(whole.zone, whole.error);
  int cuts = 0;
  for (auto split = findZoneSplit(text, 0); split; split = findZoneSplit(text, split->offset + 1)) {
    const size_t c = split->offset;
    const std::string front = c < text.size() / 2 ? padding(text.size() - 2 * c) : "";
    const std::string back = c < text.size() / 2 ? "" : padding(2 * c - text.size());
    const std::string padded = front + text + back;
    auto moved = findZoneSplit(padded, padded.size() / 2);
    REQUIRE(moved);
    REQUIRE(moved->offset == front.size() + c);
    INFO("cut at line ", split->line);
    ZoneLoad halves = loadZoneText(padded, "db", "example.org.", std::nullopt, 1);
    REQUIRE_MESSAGE(halves.zone, halves.error);
    CHECK(sameZone(*whole.zone, *halves.zone));
    ++cuts;
  }
  CHECK(cuts > 100);  // every owner line but the first
}

}  // namespace

TEST_CASE("the cut falls on a line with its own owner, outside parentheses, comments and quotes") {
  const std::string text =
      "$ORIGIN example.org.\n"                         // 1
      "@ IN SOA ns hostmaster (\n"                     // 2
      "  7 ; serial (\n"                               // 3
      "  7200 3600 1209600 300 )\n"                    // 4
      "$TTL 60\n"                                      // 5
      "www IN TXT \"a ( b\" \"c\"\n"                   // 6
      "    IN A 192.0.2.1\n"                           // 7
      "; comment\n"                                    // 8
      "$ORIGIN lab.example.org.\n"                     // 9
      "mail IN A 192.0.2.2\n";                         // 10
  // From inside the SOA's parentheses, past the comment's '(' and the $TTL line.
  auto split = findZoneSplit(text, text.find("  7200"));
  REQUIRE(split);
  CHECK(split->line == 6);
  CHECK(text.substr(split->offset, 4) == "www ");
  CHECK(split->preamble == "$ORIGIN example.org.\n$TTL 60\n");
  CHECK(split->preambleLines == 2);

  // Past the blank-owner line, the comment and the new $ORIGIN.
  split = findZoneSplit(text, text.find("    IN A"));
  REQUIRE(split);
  CHECK(split->line == 10);
  CHECK(split->preamble == "$ORIGIN lab.example.org.\n$TTL 60\n");

  CHECK_FALSE(findZoneSplit(text, text.size()));
}

TEST_CASE("the scan reads escapes, quotes and record ends as ldns does") {
  // A backslash after a backslash escapes nothing: the '(' counts and holds the next line.
  const std::string escaped = "a IN TXT x\\\\( \nb IN A 192.0.2.1\n)\nc IN A 192.0.2.1\n";
  auto split = findZoneSplit(escaped, escaped.find("b IN"));
  REQUIRE(split);
  CHECK(escaped.substr(split->offset, 1) == "c");
  // An escaped '(' does not count.
  const std::string literal = "a IN TXT x\\( \nb IN A 192.0.2.1\n";
  split = findZoneSplit(literal, literal.find("b IN"));
  REQUIRE(split);
  CHECK(literal.substr(split->offset, 1) == "b");
  // A newline ends a record even inside an open quote, and the quote ends with it.
  const std::string quote = "a IN TXT \"x\nb IN TXT \"(\"\nc IN A 192.0.2.1\n";
  split = findZoneSplit(quote, quote.find("b IN"));
  REQUIRE(split);
  CHECK(quote.substr(split->offset, 1) == "b");
  split = findZoneSplit(quote, quote.find("b IN") + 1);
  REQUIRE(split);
  CHECK(quote.substr(split->offset, 1) == "c");
}

TEST_CASE("a file whose state a cut would lose is read in one piece") {
  CHECK_FALSE(findZoneSplit("$INCLUDE other.db\nwww IN A 192.0.2.1\n", 1));
  CHECK_FALSE(findZoneSplit("$ORIGIN lab\nwww IN A 192.0.2.1\n", 1));
  CHECK_FALSE(findZoneSplit("$GENERATE 1-3 host$ A 192.0.2.$\nwww IN A 192.0.2.1\n", 1));
  CHECK_FALSE(findZoneSplit("$ORIGIN a(b.example.\n)\nwww IN A 192.0.2.1\n", 1));
  CHECK_FALSE(findZoneSplit(std::string("\0$ORIGIN lab\nwww IN A 192.0.2.1\nmail IN A 192.0.2.1\n", 52), 1));
  CHECK_FALSE(findZoneSplit("$TTL \n\nwww IN A 192.0.2.1\nmail IN A 192.0.2.1\n", 1));
  CHECK_FALSE(findZoneSplit("www IN CNAME we\\\nweb IN A 192.0.2.1\nmail IN A 192.0.2.1\n", 1));
  // After the cut they do not matter: the second reader meets them itself.
  CHECK(findZoneSplit("www IN A 192.0.2.1\nmail IN A 192.0.2.1\n$ORIGIN lab\n", 1));
}

TEST_CASE("two readers load what one reader loads") {
  std::string text = "$ORIGIN example.org.\n@ IN SOA ns hostmaster ( 9 7200 3600 1209600 300 )\n@ IN NS ns\n";
  for (int i = 0; i < 100; ++i) {
    const std::string n = std::to_string(i);
    if (i % 30 == 0) text += "$TTL " + std::to_string(100 + i) + "\n";
    if (i % 37 == 0) text += "$ORIGIN " + (i % 2 == 0 ? std::string("example.org.") : "lab.example.org.") + "\n";
    text += "h" + n + " IN A 192.0.2." + std::to_string(i % 250) + "\n";
    if (i % 3 == 0) text += "   IN TXT \"x ( " + n + "\" ; ) comment\n";
    if (i % 7 == 0) text += "m" + n + " IN MX ( 10\n   mail" + n + " )\n";
  }
  checkEveryCut(text);
}

TEST_CASE("an error in the second part is reported at its own line") {
  std::string text = "$ORIGIN example.org.\n@ IN SOA ns hostmaster 9 7200 3600 1209600 300\n";
  for (int i = 0; i < 100; ++i) text += "h" + std::to_string(i) + " IN A 192.0.2.1\n";
  text += "bad IN A 300.0.0.1\n";  // line 103
  ZoneLoad whole = loadZoneText(text, "db", "example.org.", std::nullopt, SIZE_MAX);
  ZoneLoad halves = loadZoneText(text, "db", "example.org.", std::nullopt, 1);
  CHECK(whole.error.rfind("db:103: ", 0) == 0);
  CHECK(halves.error == whole.error);
  CHECK(halves.errorLine == 103);
  CHECK_FALSE(halves.zone);

  // In the first part too, also on its last line, where ldns meets the end of its stream.
  for (const char* bad : {"h10 IN A 192.0.2.1\n", "h49 IN A 192.0.2.1\n", "h50 IN A 192.0.2.1\n"}) {
    std::string broken = text.substr(0, text.find("bad"));
    broken.replace(broken.find(bad), std::strlen(bad), "bad IN A 300.0.0.1\n");
    const ZoneLoad one = loadZoneText(broken, "db", "example.org.", std::nullopt, SIZE_MAX);
    const ZoneLoad two = loadZoneText(broken, "db", "example.org.", std::nullopt, 1);
    CHECK(one.error.rfind("db:", 0) == 0);
    CHECK(two.error == one.error);
  }

  // A stray ')' makes ldns read on to the end of the file (found by the fuzz target): no cut.
  const std::string stray("@ IN A 192.0.2.1 )\n,\nwww)))\n", 28);
  const ZoneLoad one = loadZoneText(stray, "db", "example.org.", std::nullopt, SIZE_MAX);
  const ZoneLoad two = loadZoneText(stray, "db", "example.org.", std::nullopt, 1);
  CHECK(one.error.rfind("db:1: ", 0) == 0);
  CHECK(two.error == one.error);
  CHECK_FALSE(findZoneSplit(stray, 1));

  // The serial shortcut is the first part's, and stops the second.
  ZoneLoad same = loadZoneText(text.substr(0, text.find("bad")), "db", "example.org.", 9, 1);
  CHECK(same.unchanged);
}
