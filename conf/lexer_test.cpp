#include "conf/lexer.hpp"

#include <doctest/doctest.h>

#include "conf/test_source.hpp"

namespace moat::conf {
namespace {

using test::envOf;

std::vector<LexToken> lexOk(std::string_view text, EnvLookup env = envOf({})) {
  auto r = lex(text, "Corefile", env);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().str()));
  return *r;
}

std::vector<std::string> texts(std::string_view text, EnvLookup env = envOf({})) {
  std::vector<std::string> out;
  for (const auto& t : lexOk(text, std::move(env))) out.push_back(t.text);
  return out;
}

using Strings = std::vector<std::string>;

TEST_CASE("lexer splits on whitespace and records 1-based line and column") {
  auto toks = lexOk("example.org:53 {\n\twhoami\n  log  . \n}\n");
  struct Want {
    const char* text;
    uint32_t line, col;
  };
  const Want want[] = {{"example.org:53", 1, 1}, {"{", 1, 16}, {"whoami", 2, 2},
                       {"log", 3, 3},            {".", 3, 8},  {"}", 4, 1}};
  REQUIRE(toks.size() == std::size(want));
  for (size_t i = 0; i < toks.size(); ++i) {
    CAPTURE(i);
    CHECK(toks[i].text == want[i].text);
    CHECK(toks[i].pos.file == "Corefile");
    CHECK(toks[i].pos.line == want[i].line);
    CHECK(toks[i].pos.col == want[i].col);
    CHECK(toks[i].endLine == want[i].line);
  }
}

TEST_CASE("lexer marks unquoted lone braces only") {
  auto toks = lexOk("{ } {} \"{\" {$X} a{");
  REQUIRE(toks.size() == 6);
  CHECK(toks[0].kind == TokenKind::Open);
  CHECK(toks[1].kind == TokenKind::Close);
  CHECK(toks[2].kind == TokenKind::Word);  // "{}" is one word, as in Caddy
  CHECK(toks[2].text == "{}");
  CHECK(toks[3].kind == TokenKind::Word);  // a quoted brace is text
  CHECK(toks[3].text == "{");
  CHECK(toks[3].quoted);
  CHECK(toks[4].kind == TokenKind::Word);
  CHECK(toks[5].text == "a{");
}

TEST_CASE("lexer: a quoted token runs to the next unescaped quote, across lines") {
  auto toks = lexOk("a \"hello world\" b\n  \"two\nlines\" c");
  REQUIRE(toks.size() == 5);
  CHECK(toks[1].text == "hello world");
  CHECK(toks[1].quoted);
  CHECK(toks[1].pos.col == 3);  // the opening quote
  CHECK(toks[3].text == "two\nlines");
  CHECK(toks[3].pos.line == 2);
  CHECK(toks[3].pos.col == 3);
  CHECK(toks[3].endLine == 3);
  CHECK(toks[4].text == "c");
  CHECK(toks[4].pos.line == 3);
  CHECK(toks[4].pos.col == 8);
  CHECK_FALSE(toks[0].quoted);
}

TEST_CASE("lexer: only \\\" is an escape inside quotes") {
  struct Case {
    const char* input;
    const char* text;
  };
  const Case cases[] = {
      {R"("a\"b")", R"(a"b)"},
      {R"("a\nb")", R"(a\nb)"},  // other backslashes stay
      {R"("c:\dir\x")", R"(c:\dir\x)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    auto toks = lexOk(c.input);
    REQUIRE(toks.size() == 1);
    CHECK(toks[0].text == c.text);
  }
  auto two = lexOk(R"("a\\" next)");  // backslash-backslash is two backslashes, then the quote
  REQUIRE(two.size() == 2);
  CHECK(two[0].text == R"(a\\)");
  CHECK(two[1].text == "next");
}

TEST_CASE("lexer: an empty quoted string is an empty token") {
  auto toks = lexOk("log \"\" x");
  REQUIRE(toks.size() == 3);
  CHECK(toks[1].text.empty());
  CHECK(toks[1].quoted);
}

TEST_CASE("lexer: a quote opens a token only at its start") {
  CHECK(texts("a\"b c\"") == Strings{"a\"b", "c\""});
  CHECK(texts("\"ab\"cd") == Strings{"ab", "cd"});  // the token ends at the closing quote
}

TEST_CASE("lexer: an unterminated quote is an error at the opening quote") {
  auto r = lex("a {\n  b \"never closed\n}\n", "Corefile", envOf({}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().pos.str() == "Corefile:2:5");
  CHECK(r.error().message.find("unterminated quoted string") != std::string::npos);
}

TEST_CASE("lexer: # starts a comment to the end of the line, even mid-word") {
  struct Case {
    const char* input;
    Strings want;
  };
  const Case cases[] = {
      {"abc#x", {"abc"}},
      {"abc#x y\nz", {"abc", "z"}},  // the rest of the line is comment, not a new word
      {"# whole line\nwhoami", {"whoami"}},
      {"a # b c\nd", {"a", "d"}},
      {"\"#not a comment\" x", {"#not a comment", "x"}},
      {"a#\"b c\"\nd", {"a", "d"}},  // a quote inside a comment opens nothing
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    CHECK(texts(c.input) == c.want);
  }
}

TEST_CASE("lexer skips a byte order mark without counting it") {
  auto toks = lexOk("\xEF\xBB\xBF. {\n}");
  REQUIRE(toks.size() == 3);
  CHECK(toks[0].text == ".");
  CHECK(toks[0].pos.col == 1);
  CHECK(toks[1].pos.col == 3);
}

TEST_CASE("lexer ignores carriage returns") {
  auto toks = lexOk(". {\r\n  whoami\r\n}\r\n");
  REQUIRE(toks.size() == 4);
  CHECK(toks[2].text == "whoami");
  CHECK(toks[2].pos.line == 2);
  CHECK(toks[2].pos.col == 3);
  CHECK(toks[3].pos.line == 3);
  CHECK(texts("ab\rcd") == Strings{"abcd"});  // not a separator either, as in Caddy
  CHECK(texts("\"a\r\nb\"") == Strings{"a\nb"});
}

TEST_CASE("lexer counts columns in characters and splits on Unicode spaces") {
  auto toks = lexOk("\xC3\xA9t\xC3\xA9 x");  // "été x"
  REQUIRE(toks.size() == 2);
  CHECK(toks[1].pos.col == 5);
  CHECK(texts("a\xC2\xA0" "b") == Strings{"a", "b"});  // no-break space
  CHECK(texts("a\xE2\x80\x83" "b") == Strings{"a", "b"});  // em space
  CHECK(texts("a\xE2\x80\x8B" "b") == Strings{"a\xE2\x80\x8B" "b"});  // zero-width: not a space
}

TEST_CASE("lexer replaces {$NAME} and {%NAME%} in quoted and unquoted words") {
  auto env = envOf({{"ZONE", "example.org"}, {"PORT", "1053"}, {"EMPTY", ""}});
  struct Case {
    const char* input;
    const char* want;
  };
  const Case cases[] = {
      {"{$ZONE}", "example.org"},
      {"{%ZONE%}", "example.org"},
      {"{$ZONE}:{$PORT}", "example.org:1053"},  // several per token
      {"{%ZONE%}:{$PORT}", "example.org:1053"},
      {"\"{$ZONE} x\"", "example.org x"},        // quoted
      {"a{$UNSET}b", "ab"},                      // unset -> empty
      {"a{$EMPTY}b", "ab"},
      {"{$ZONE", "{$ZONE"},                      // unterminated stays literal
      {"{%ZONE}", "{%ZONE}"},
      {"{%ZONE", "{%ZONE"},
      {"{$}", "{$}"},                            // no name: not a reference
      {"{$ZONE}{$ZONE}", "example.orgexample.org"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.input);
    auto toks = lexOk(c.input, env);
    REQUIRE(toks.size() == 1);
    CHECK(toks[0].text == c.want);
  }
}

TEST_CASE("lexer keeps the position of a token whose text came from the environment") {
  auto toks = lexOk("  {$ZONE} x", envOf({{"ZONE", "much.longer.example.org"}}));
  REQUIRE(toks.size() == 2);
  CHECK(toks[0].pos.col == 3);
  CHECK(toks[1].pos.col == 11);
}

TEST_CASE("expandEnv does not expand references inside a substituted value twice") {
  auto env = envOf({{"A", "{$B}"}, {"B", "x"}, {"P", "{$B}"}});
  CHECK(expandEnv("{$A}", env) == "{$B}");
  // Caddy's order: the {%...%} pass runs first, so a value it inserts meets the {$...} pass.
  CHECK(expandEnv("{%P%}", env) == "x");
}

}  // namespace
}  // namespace moat::conf
