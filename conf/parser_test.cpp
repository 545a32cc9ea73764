#include "conf/parser.hpp"

#include <doctest/doctest.h>

#include "conf/test_source.hpp"

namespace moat::conf {
namespace {

using test::envOf;
using test::MemorySource;
using Strings = std::vector<std::string>;

struct Parsed {
  Result<Corefile> result;
  std::vector<Diag> warnings;
};

Parsed parse(std::string_view text, const MemorySource& source = MemorySource(),
             EnvLookup env = envOf({}), const std::string& path = "Corefile") {
  Parsed out{Diag{}, {}};
  ParseOptions options;
  options.source = &source;
  options.env = std::move(env);
  options.warnings = &out.warnings;
  out.result = parseCorefile(text, path, options);
  return out;
}

Corefile parseOk(std::string_view text, const MemorySource& source = MemorySource(),
                 EnvLookup env = envOf({}), const std::string& path = "Corefile") {
  auto p = parse(text, source, std::move(env), path);
  REQUIRE_MESSAGE(p.result.ok(), (p.result.ok() ? "" : p.result.error().str()));
  return std::move(*p.result);
}

// "file:line:col: message" of a parse that must fail.
std::string parseError(std::string_view text, const MemorySource& source = MemorySource(),
                       EnvLookup env = envOf({}), const std::string& path = "Corefile") {
  auto p = parse(text, source, std::move(env), path);
  REQUIRE_MESSAGE(!p.result.ok(), "expected a parse error");
  CHECK(p.result.error().severity == Severity::Error);
  return p.result.error().str();
}

Strings keyTexts(const ServerBlock& b) {
  Strings out;
  for (const auto& k : b.keys) out.push_back(k.text);
  return out;
}

Strings names(const std::vector<Directive>& ds) {
  Strings out;
  for (const auto& d : ds) out.push_back(d.name.text);
  return out;
}

Strings argTexts(const Directive& d) {
  Strings out;
  for (const auto& a : d.args) out.push_back(a.text);
  return out;
}

bool startsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// --- blocks and keys ---------------------------------------------------------------------------

TEST_CASE("parser: a server block has keys, directives, arguments and positions") {
  Corefile f = parseOk("example.org:1053 {\n  forward . 10.0.0.1 10.0.0.2\n  whoami\n}\n");
  CHECK(f.path == "Corefile");
  REQUIRE(f.blocks.size() == 1);
  const ServerBlock& b = f.blocks[0];
  CHECK(keyTexts(b) == Strings{"example.org:1053"});
  CHECK(b.keys[0].pos.str() == "Corefile:1:1");
  REQUIRE(names(b.directives) == Strings{"forward", "whoami"});
  const Directive& fwd = b.directives[0];
  CHECK(fwd.name.pos.str() == "Corefile:2:3");
  CHECK(argTexts(fwd) == Strings{".", "10.0.0.1", "10.0.0.2"});
  CHECK(fwd.args[1].pos.str() == "Corefile:2:13");
  CHECK_FALSE(fwd.hasBlock);
  CHECK(b.directives[1].args.empty());
}

TEST_CASE("parser: several keys on one line, or continued after a trailing comma") {
  struct Case {
    const char* text;
    Strings keys;
  };
  const Case cases[] = {
      {"a.org b.org:1053 {\n}", {"a.org", "b.org:1053"}},
      {"a.org, b.org {\n}", {"a.org", "b.org"}},
      {"a.org,\nb.org,\n  c.org {\n}", {"a.org", "b.org", "c.org"}},
      {"a.org,b.org:53 {\n}", {"a.org,b.org:53"}},  // no space: one key (an odd zone)
      {"a.org\n{\n}", {"a.org"}},                   // the brace may sit on the next line
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    Corefile f = parseOk(c.text);
    REQUIRE(f.blocks.size() == 1);
    CHECK(keyTexts(f.blocks[0]) == c.keys);
  }
}

TEST_CASE("parser: key positions survive the comma continuation") {
  Corefile f = parseOk("a.org,\n   b.org {\n}");
  REQUIRE(f.blocks[0].keys.size() == 2);
  CHECK(f.blocks[0].keys[1].pos.str() == "Corefile:2:4");
}

TEST_CASE("parser: several server blocks keep their order") {
  Corefile f = parseOk(
      "example.org {\n  whoami\n}\n\n. {\n  forward . 1.1.1.1\n}\n10.0.0.0/8:1053 {\n}\n");
  REQUIRE(f.blocks.size() == 3);
  CHECK(keyTexts(f.blocks[0]) == Strings{"example.org"});
  CHECK(keyTexts(f.blocks[1]) == Strings{"."});
  CHECK(keyTexts(f.blocks[2]) == Strings{"10.0.0.0/8:1053"});
  CHECK(f.blocks[2].directives.empty());
  CHECK(f.blocks[1].keys[0].pos.str() == "Corefile:5:1");
}

TEST_CASE("parser: a new block may start on the line of the previous block's '}'") {
  Corefile f = parseOk("a {\n  whoami\n} b {\n  log\n}");
  REQUIRE(f.blocks.size() == 2);
  CHECK(keyTexts(f.blocks[1]) == Strings{"b"});
  CHECK(names(f.blocks[1].directives) == Strings{"log"});
}

TEST_CASE("parser: a Corefile with a single block may leave out the braces") {
  Corefile f = parseOk(".:53\nwhoami\nforward . 1.1.1.1 {\n  policy sequential\n}\nlog\n");
  REQUIRE(f.blocks.size() == 1);
  CHECK(keyTexts(f.blocks[0]) == Strings{".:53"});
  CHECK(names(f.blocks[0].directives) == Strings{"whoami", "forward", "log"});
  CHECK(f.blocks[0].directives[1].hasBlock);

  Corefile keysOnly = parseOk("example.org:1053\n");
  REQUIRE(keysOnly.blocks.size() == 1);
  CHECK(keysOnly.blocks[0].directives.empty());
}

TEST_CASE("parser: an empty or comment-only Corefile has no blocks") {
  const char* texts[] = {"", "\n\n", "# nothing here\n   # still nothing", "\xEF\xBB\xBF"};
  for (const char* t : texts) {
    CAPTURE(t);
    CHECK(parseOk(t).blocks.empty());
  }
}

TEST_CASE("parser: directive names are not validated") {
  Corefile f = parseOk(". {\n  not_a_plugin x y\n  Whoami\n}");
  CHECK(names(f.blocks[0].directives) == Strings{"not_a_plugin", "Whoami"});
}

TEST_CASE("parser: repeated directives stay separate and in order") {
  Corefile f = parseOk(". {\n  log a\n  whoami\n  log b\n}");
  REQUIRE(names(f.blocks[0].directives) == Strings{"log", "whoami", "log"});
  CHECK(argTexts(f.blocks[0].directives[2]) == Strings{"b"});
}

TEST_CASE("parser: quoted arguments are flagged and keep their text") {
  Corefile f = parseOk(". {\n  log . \"{remote} {type}\" x\n}");
  const Directive& log = f.blocks[0].directives[0];
  REQUIRE(log.args.size() == 3);
  CHECK(log.args[1].text == "{remote} {type}");
  CHECK(log.args[1].quoted);
  CHECK_FALSE(log.args[0].quoted);
  CHECK(log.args[1].pos.str() == "Corefile:2:9");
}

TEST_CASE("parser: a multi-line quoted argument keeps the words after it on its last line") {
  Corefile f = parseOk(". {\n  template \"a\nb\" c\n  whoami\n}");
  REQUIRE(names(f.blocks[0].directives) == Strings{"template", "whoami"});
  CHECK(argTexts(f.blocks[0].directives[0]) == Strings{"a\nb", "c"});
}

// --- sub-blocks --------------------------------------------------------------------------------

TEST_CASE("parser: a directive's block holds its options, recursively") {
  Corefile f = parseOk(
      ". {\n"
      "  kubernetes cluster.local in-addr.arpa {\n"
      "    pods insecure\n"
      "    fallthrough in-addr.arpa\n"
      "    nested a {\n"
      "      deep 1 2\n"
      "    }\n"
      "  }\n"
      "}\n");
  const Directive& k = f.blocks[0].directives.at(0);
  CHECK(argTexts(k) == Strings{"cluster.local", "in-addr.arpa"});
  REQUIRE(k.hasBlock);
  REQUIRE(names(k.block) == Strings{"pods", "fallthrough", "nested"});
  CHECK(argTexts(k.block[0]) == Strings{"insecure"});
  CHECK(k.block[1].name.pos.str() == "Corefile:4:5");
  CHECK_FALSE(k.block[0].hasBlock);
  const Directive& nested = k.block[2];
  CHECK(argTexts(nested) == Strings{"a"});
  REQUIRE(nested.hasBlock);
  REQUIRE(nested.block.size() == 1);
  CHECK(nested.block[0].name.text == "deep");
  CHECK(argTexts(nested.block[0]) == Strings{"1", "2"});
}

TEST_CASE("parser: empty and one-line sub-blocks") {
  Corefile f = parseOk(". {\n  hosts { }\n  cache { success 100 }\n  log {}\n}");
  const auto& ds = f.blocks[0].directives;
  REQUIRE(names(ds) == Strings{"hosts", "cache", "log"});
  CHECK(ds[0].hasBlock);
  CHECK(ds[0].block.empty());
  REQUIRE(ds[1].block.size() == 1);
  CHECK(argTexts(ds[1].block[0]) == Strings{"100"});
  CHECK_FALSE(ds[2].hasBlock);  // "{}" is one word, as in Caddy
  CHECK(argTexts(ds[2]) == Strings{"{}"});
}

TEST_CASE("parser: a sub-block's '}' may follow an option, and close an outer block too") {
  Corefile f = parseOk(". {\n  hosts {\n    fallthrough }\n  kubernetes {\n    a { b } }\n}");
  const auto& ds = f.blocks[0].directives;
  REQUIRE(names(ds) == Strings{"hosts", "kubernetes"});
  CHECK(names(ds[0].block) == Strings{"fallthrough"});
  REQUIRE(ds[1].block.size() == 1);
  CHECK(names(ds[1].block[0].block) == Strings{"b"});
}

TEST_CASE("parser: blocks nested too deeply are refused") {
  std::string text = ". {\n  d";
  for (int i = 0; i < 150; ++i) text += " {\n x";
  auto err = parseError(text);
  CHECK(err.find("nested more than 100") != std::string::npos);
}

// --- errors and their positions ----------------------------------------------------------------

TEST_CASE("parser errors name file:line:col and what was expected") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {". {\n  whoami\n}\n}\n", "Corefile:4:1: unexpected '}': no block is open"},
      {"}\n", "Corefile:1:1: unexpected '}': no block is open"},
      {".:53\nwhoami\n}\n", "Corefile:3:1: unexpected '}': no block is open"},
      {"{\n}\n",
       "Corefile:1:1: unexpected '{': expected a server block key (a zone such as "
       "'example.org' or '.:53') before it"},
      {"a.org {\n}\nexample.org\nwhoami\n",
       "Corefile:4:1: expected '{' to open the block of 'example.org', got 'whoami' (only a "
       "Corefile with a single server block may leave out the braces)"},
      {"a.org {\n}\nexample.org",
       "Corefile:3:1: expected '{' to open the block of 'example.org', got the end of the file "
       "(only a Corefile with a single server block may leave out the braces)"},
      {"example.org {\n  whoami\n",
       "Corefile:1:13: the block of 'example.org' is not closed: expected '}' before the end of "
       "the file"},
      // The '}' in the server block's column was written for it; hosts lacks its own and took it.
      {". {\n  hosts {\n    fallthrough\n}\n",
       "Corefile:2:9: the block of 'hosts' is not closed: the '}' at 4:1 does not line up with "
       "'hosts' but closed it, and the block of '.' (1:3) reached the end of the file open; add "
       "the missing '}'"},
      // Every '}' lines up with its own block: the server block's is the one missing.
      {". {\n  hosts {\n    fallthrough\n  }\n",
       "Corefile:1:3: the block of '.' is not closed: expected '}' before the end of the file"},
      // Two levels down: the first block whose '}' went to the block around it is blamed.
      {"example.org {\n    kubernetes cluster.local {\n        pods insecure\n        objects a {\n"
       "            x\n    }\n}\n",
       "Corefile:4:19: the block of 'objects' is not closed: the '}' at 6:5 does not line up with "
       "'objects' but closed it, and the block of 'example.org' (1:13) reached the end of the file "
       "open; add the missing '}'"},
      // A '}' in no block's column says nothing about which one lacks its own.
      {". {\n  hosts {\n    fallthrough\n   }\n",
       "Corefile:1:3: the block of '.' is not closed: expected '}' before the end of the file"},
      {". {\n  hosts /etc/hosts {\n    fallthrough\n",
       "Corefile:2:20: the block of 'hosts' is not closed: expected '}' before the end of the "
       "file"},
      {"a.org,\n{\n}",
       "Corefile:2:1: expected another server key after the trailing ',' of 'a.org', got '{'"},
      {"a.org,",
       "Corefile:1:1: expected another server key after the trailing ',', got the end of the "
       "file"},
      {". {\n  hosts\n  {\n  }\n}",
       "Corefile:3:3: unexpected '{' at the start of a line: a block must open on the same "
       "line as its directive"},
      {". {\n  hosts { fallthrough } extra\n}",
       "Corefile:2:25: unexpected 'extra' after the block of 'hosts': expected the end of the "
       "line"},
      {". { whoami }",
       "Corefile:1:12: unexpected '}' on the line of 'whoami': the '}' closing the block of '.' "
       "must start a new line"},
      {". {\n  hosts { fallthrough } }",
       "Corefile:2:25: unexpected '}' on the line of 'hosts': the '}' closing the block of '.' "
       "must start a new line"},
      {".\nwhoami }", "Corefile:2:8: unexpected '}': no block is open"},
      {". {\n  log \"unterminated\n}\n",
       "Corefile:2:7: unterminated quoted string: expected a closing '\"' before the end of the "
       "file"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(parseError(c.text) == c.error);
  }
}

// --- environment -------------------------------------------------------------------------------

TEST_CASE("parser substitutes the environment in keys, names and arguments") {
  auto env = envOf({{"ZONE", "example.org"}, {"PORT", "1053"}, {"PLUGIN", "forward"},
                    {"UP", "10.0.0.1"}});
  Corefile f = parseOk("{$ZONE}:{$PORT} {\n  {$PLUGIN} . {%UP%} \"{$UP}:53\"\n}", {}, env);
  REQUIRE(f.blocks.size() == 1);
  CHECK(keyTexts(f.blocks[0]) == Strings{"example.org:1053"});
  const Directive& d = f.blocks[0].directives.at(0);
  CHECK(d.name.text == "forward");
  CHECK(argTexts(d) == Strings{".", "10.0.0.1", "10.0.0.1:53"});
  CHECK(d.args[1].pos.str() == "Corefile:2:15");
}

TEST_CASE("parser: an unset variable as a key is skipped, a block left without keys is "
          "dropped with a warning") {
  Corefile f = parseOk("{$UNSET} example.org {\n}\n", {}, envOf({}));
  REQUIRE(f.blocks.size() == 1);
  CHECK(keyTexts(f.blocks[0]) == Strings{"example.org"});

  auto p = parse("{$UNSET} {\n  whoami\n}\n. {\n}\n");
  REQUIRE(p.result.ok());
  REQUIRE(p.result->blocks.size() == 1);
  CHECK(keyTexts(p.result->blocks[0]) == Strings{"."});
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].severity == Severity::Warning);
  CHECK(p.warnings[0].pos.str() == "Corefile:1:1");
}

TEST_CASE("parser uses the process environment by default") {
  ::setenv("MOAT_CONF_TEST_ZONE", "env.example", 1);
  MemorySource none;
  ParseOptions options;
  options.source = &none;
  auto r = parseCorefile("{$MOAT_CONF_TEST_ZONE} {\n}", "Corefile", options);
  ::unsetenv("MOAT_CONF_TEST_ZONE");
  REQUIRE(r.ok());
  CHECK(r->blocks.at(0).keys.at(0).text == "env.example");
}

// --- snippets ----------------------------------------------------------------------------------

TEST_CASE("parser: a snippet is spliced where it is imported, keeping its own positions") {
  Corefile f = parseOk(
      "(common) {\n"
      "  log\n"
      "  errors\n"
      "}\n"
      "example.org {\n"
      "  import common\n"
      "  whoami\n"
      "}\n");
  REQUIRE(f.blocks.size() == 1);  // the snippet is not a server block
  const auto& ds = f.blocks[0].directives;
  REQUIRE(names(ds) == Strings{"log", "errors", "whoami"});
  CHECK(ds[0].name.pos.str() == "Corefile:2:3");
  CHECK(ds[2].name.pos.str() == "Corefile:7:3");
}

TEST_CASE("parser: a snippet may be imported in a directive's block and at the top level") {
  Corefile f = parseOk(
      "(fall) {\n"
      "  fallthrough in-addr.arpa\n"
      "}\n"
      "(servers) {\n"
      "  a.org {\n"
      "    whoami\n"
      "  }\n"
      "  b.org {\n"
      "  }\n"
      "}\n"
      "import servers\n"
      "c.org {\n"
      "  hosts {\n"
      "    10.0.0.1 x.c.org\n"
      "    import fall\n"
      "  }\n"
      "}\n");
  REQUIRE(f.blocks.size() == 3);
  CHECK(keyTexts(f.blocks[0]) == Strings{"a.org"});
  CHECK(keyTexts(f.blocks[1]) == Strings{"b.org"});
  const Directive& hosts = f.blocks[2].directives.at(0);
  REQUIRE(names(hosts.block) == Strings{"10.0.0.1", "fallthrough"});
  CHECK(argTexts(hosts.block[1]) == Strings{"in-addr.arpa"});
}

TEST_CASE("parser: a snippet can hold a directive with arguments and a block") {
  Corefile f = parseOk(
      "(up) {\n  forward . 1.1.1.1 {\n    policy sequential\n  }\n}\n. {\n  import up\n}");
  const Directive& fwd = f.blocks[0].directives.at(0);
  CHECK(argTexts(fwd) == Strings{".", "1.1.1.1"});
  REQUIRE(fwd.block.size() == 1);
  CHECK(fwd.block[0].name.text == "policy");
}

TEST_CASE("parser: a snippet name wins over a file of the same name") {
  MemorySource src;
  src.file("common", ". {\n  from_file\n}\n");
  Corefile f = parseOk("(common) {\n  from_snippet\n}\n. {\n  import common\n}", src);
  CHECK(names(f.blocks[0].directives) == Strings{"from_snippet"});
  CHECK(src.reads() == 0);
}

TEST_CASE("parser: a snippet must be defined before it is imported") {
  auto err = parseError(". {\n  import later\n}\n(later) {\n  log\n}\n");
  CHECK(startsWith(err, "Corefile:2:10: cannot import 'later': no snippet of that name is "
                        "defined above, and file 'later' cannot be read"));
}

TEST_CASE("parser: snippet definition errors") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"(a) {\n}\n(a) {\n}\n", "Corefile:3:1: snippet 'a' is already defined at Corefile:1:1"},
      {"(a) {\n  import a\n}\n", "Corefile:2:3: import cycle: snippet 'a' imports itself"},
      {"(a) {\n  log\n", "Corefile:1:5: snippet 'a' is not closed: expected '}' before the "
                         "end of the file"},
      {"(a)\nlog\n", "Corefile:2:1: expected '{' to open snippet 'a', got 'log'"},
      {"() {\n}\n", "Corefile:1:1: snippet name is empty: write '(name) { ... }'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(parseError(c.text) == c.error);
  }
}

TEST_CASE("parser: '(name)' with other keys is an ordinary server block") {
  Corefile f = parseOk("(a) b.org {\n  whoami\n}");
  REQUIRE(f.blocks.size() == 1);
  CHECK(keyTexts(f.blocks[0]) == Strings{"(a)", "b.org"});
}

TEST_CASE("parser: snippets importing each other in a cycle are an import cycle") {
  auto err = parseError(
      "(a) {\n  import b\n}\n(b) {\n  import a\n}\n. {\n  import a\n}\n");
  CHECK(err == "Corefile:5:3: import cycle: Corefile -> (a) -> (b) -> (a)");  // b's import
}

TEST_CASE("parser: snippet expansions are capped") {
  // s1 imports s0 twice, s2 imports s1 twice...: 2^14 expansions without any cycle.
  std::string text = "(s0) {\n  log\n}\n";
  for (int i = 1; i <= 14; ++i) {
    text += "(s" + std::to_string(i) + ") {\n  import s" + std::to_string(i - 1) +
            "\n  import s" + std::to_string(i - 1) + "\n}\n";
  }
  text += ". {\n  import s14\n}\n";
  auto err = parseError(text);
  CHECK(err.find("too many snippet imports (more than 10000)") != std::string::npos);
}

// --- import statement ---------------------------------------------------------------------------

TEST_CASE("parser: import statement errors") {
  MemorySource src;
  src.file("a", "log\n").directory("dir");
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {". {\n  import\n}", "Corefile:2:3: import needs a file, glob or snippet name on the "
                           "same line"},
      {". {\n  import a b\n}", "Corefile:2:12: import takes one argument (a file, glob or "
                               "snippet name), got another: 'b'"},
      {". {\n  hosts {\n    import a }\n}", "Corefile:3:14: import takes one argument (a file, "
                                             "glob or snippet name), got another: '}'"},
      {". {\n  import \"\"\n}",
       "Corefile:2:10: import needs a non-empty file, glob or snippet name"},
      {". {\n  import {$UNSET}\n}",
       "Corefile:2:10: import needs a non-empty file, glob or snippet name"},
      {". {\n  import dir\n}", "Corefile:2:10: cannot import 'dir': it is a directory"},
      {". {\n  import missing.conf\n}",
       "Corefile:2:10: cannot import 'missing.conf': no snippet of that name is defined above, "
       "and file 'missing.conf' cannot be read: No such file or directory"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(parseError(c.text, src) == c.error);
  }
}

TEST_CASE("parser: import as an argument is just a word") {
  Corefile f = parseOk(". {\n  hosts import x\n}");
  CHECK(argTexts(f.blocks[0].directives.at(0)) == Strings{"import", "x"});
}

// --- file imports -------------------------------------------------------------------------------

TEST_CASE("parser: files are imported relative to the importing file, keeping their positions") {
  MemorySource src;
  src.file("/etc/coredns/zones/a.conf", "  hosts {\n    import ../common/fall\n  }\n")
      .file("/etc/coredns/common/fall", "fallthrough\n")
      .file("/etc/coredns/upstream", "forward . 10.0.0.53\n");
  Corefile f = parseOk(". {\n  import zones/a.conf\n  import /etc/coredns/upstream\n}", src,
                       envOf({}), "/etc/coredns/Corefile");
  CHECK(f.path == "/etc/coredns/Corefile");
  const auto& ds = f.blocks.at(0).directives;
  REQUIRE(names(ds) == Strings{"hosts", "forward"});
  CHECK(ds[0].name.pos.str() == "/etc/coredns/zones/a.conf:1:3");
  REQUIRE(ds[0].block.size() == 1);
  CHECK(ds[0].block[0].name.pos.str() == "/etc/coredns/common/fall:1:1");
  CHECK(ds[1].name.pos.str() == "/etc/coredns/upstream:1:1");
}

TEST_CASE("parser: a relative Corefile path imports relative to its directory") {
  MemorySource src;
  src.file("sub/extra", "whoami\n").file("extra", "log\n");
  Corefile f = parseOk(". {\n  import ./extra\n}", src, envOf({}), "sub/Corefile");
  CHECK(names(f.blocks.at(0).directives) == Strings{"whoami"});
  CHECK(f.blocks[0].directives[0].name.pos.file == "sub/extra");
}

TEST_CASE("parser: imported files may hold whole server blocks") {
  MemorySource src;
  src.file("blocks.conf", "b.org {\n  log\n}\nc.org {\n}\n");
  Corefile f = parseOk("a.org {\n}\nimport blocks.conf\nd.org {\n}\n", src);
  REQUIRE(f.blocks.size() == 4);
  CHECK(keyTexts(f.blocks[1]) == Strings{"b.org"});
  CHECK(f.blocks[1].keys[0].pos.str() == "blocks.conf:1:1");
  CHECK(keyTexts(f.blocks[3]) == Strings{"d.org"});
}

TEST_CASE("parser: the import pattern is expanded from the environment") {
  MemorySource src;
  src.file("conf/prod.conf", "whoami\n");
  Corefile f = parseOk(". {\n  import conf/{$ENV}.conf\n}", src, envOf({{"ENV", "prod"}}));
  CHECK(names(f.blocks.at(0).directives) == Strings{"whoami"});
}

TEST_CASE("parser: a glob imports every match in sorted order") {
  MemorySource src;
  src.file("conf.d/b.conf", "second\n")
      .file("conf.d/a.conf", "first\n")
      .file("conf.d/c.txt", "not_matched\n")
      .file("conf.d/.hidden.conf", "hidden\n");
  Corefile f = parseOk(". {\n  import conf.d/*.conf\n  last\n}", src);
  CHECK(names(f.blocks.at(0).directives) == Strings{"hidden", "first", "second", "last"});
  CHECK(f.blocks[0].directives[1].name.pos.str() == "conf.d/a.conf:1:1");
}

TEST_CASE("parser: a glob may use one '*' and one '?'") {
  MemorySource src;
  src.file("z1/a.conf", "one\n").file("z2/b.conf", "two\n");
  Corefile f = parseOk(". {\n  import z?/*.conf\n}", src);
  CHECK(names(f.blocks.at(0).directives) == Strings{"one", "two"});
}

TEST_CASE("parser: a glob that matches nothing only warns") {
  auto p = parse(". {\n  import conf.d/*.conf\n  whoami\n}");
  REQUIRE(p.result.ok());
  CHECK(names(p.result->blocks.at(0).directives) == Strings{"whoami"});
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].severity == Severity::Warning);
  CHECK(p.warnings[0].str() ==
        "Corefile:2:10: no files match import pattern 'conf.d/*.conf' (conf.d/*.conf)");
}

TEST_CASE("parser: glob pattern limits and directories") {
  MemorySource src;
  src.file("conf.d/a.conf", "x\n").directory("conf.d/sub.conf");
  struct Case {
    const char* pattern;
    const char* error;
  };
  const Case cases[] = {
      {"*/*.conf", "import pattern '*/*.conf' may contain at most one '*' and one '?', and no "
                   "'[...]'"},
      {"a?b?", "import pattern 'a?b?' may contain at most one '*' and one '?', and no '[...]'"},
      {"[ab].conf",
       "import pattern '[ab].conf' may contain at most one '*' and one '?', and no '[...]'"},
      {"conf.d/*.conf", "cannot import 'conf.d/sub.conf': it is a directory"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    std::string text = ". {\n  import " + std::string(c.pattern) + "\n}";
    CHECK(parseError(text, src) == std::string("Corefile:2:10: ") + c.error);
  }
}

TEST_CASE("parser: errors inside an imported file carry that file's position") {
  MemorySource src;
  src.file("bad.conf", "hosts {\n  {\n");
  CHECK(parseError(". {\n  import bad.conf\n}\n", src) ==
        "bad.conf:2:3: unexpected '{' at the start of a line: a block must open on the same "
        "line as its directive");
  MemorySource quote;
  quote.file("q.conf", "log \"open\n");
  CHECK(parseError(". {\n  import q.conf\n}\n", quote) ==
        "q.conf:1:5: unterminated quoted string: expected a closing '\"' before the end of the "
        "file");
}

TEST_CASE("parser: an import cycle between files is reported with its chain") {
  MemorySource src;
  src.file("a.conf", "import b.conf\n").file("b.conf", "import a.conf\n");
  CHECK(parseError(". {\n  import a.conf\n}\n", src) ==
        "b.conf:1:8: import cycle: Corefile -> a.conf -> b.conf -> a.conf");

  MemorySource self;
  self.file("Corefile", ". {\n  import Corefile\n}\n");
  CHECK(parseError(". {\n  import ./Corefile\n}\n", self) ==
        "Corefile:2:10: import cycle: Corefile -> Corefile");
}

TEST_CASE("parser: importing the same file twice in sequence is not a cycle") {
  MemorySource src;
  src.file("common", "log\n");
  Corefile f = parseOk("a {\n  import common\n}\nb {\n  import common\n  import common\n}", src);
  CHECK(names(f.blocks.at(0).directives) == Strings{"log"});
  CHECK(names(f.blocks.at(1).directives) == Strings{"log", "log"});
}

TEST_CASE("parser: keys may continue from an import after a trailing comma") {
  MemorySource src;
  src.file("more-keys", "b.org c.org\n");
  Corefile f = parseOk("a.org,\nimport more-keys\n{\n}", src);
  CHECK(keyTexts(f.blocks.at(0)) == Strings{"a.org", "b.org", "c.org"});
}

TEST_CASE("parser: imported tokens are spliced, so a file may close a block its importer opened") {
  MemorySource src;
  src.file("split.conf", "  whoami\n}\nb.org {\n");
  Corefile f = parseOk("a.org {\n  import split.conf\n  log\n}\n", src);
  REQUIRE(f.blocks.size() == 2);
  CHECK(names(f.blocks[0].directives) == Strings{"whoami"});
  CHECK(keyTexts(f.blocks[1]) == Strings{"b.org"});
  CHECK(names(f.blocks[1].directives) == Strings{"log"});
}

TEST_CASE("parser: an import inside a snippet is relative to the file defining the snippet") {
  MemorySource src;
  src.file("lib/snippets.conf", "(up) {\n  import upstream.conf\n}\n")
      .file("lib/upstream.conf", "forward . 10.0.0.53\n")
      .file("upstream.conf", "wrong_file\n");
  Corefile f = parseOk("import lib/snippets.conf\n. {\n  import up\n}\n", src);
  REQUIRE(f.blocks.size() == 1);
  CHECK(names(f.blocks[0].directives) == Strings{"forward"});
  CHECK(f.blocks[0].directives[0].name.pos.str() == "lib/upstream.conf:1:1");
}

TEST_CASE("parser: file expansions are capped") {
  // f17 imports f16 twice, ...: 2^17 imports of f0 without any cycle.
  MemorySource src;
  src.file("f0", "log\n");
  for (int i = 1; i <= 17; ++i) {
    std::string prev = "f" + std::to_string(i - 1);
    src.file("f" + std::to_string(i), "import " + prev + "\nimport " + prev + "\n");
  }
  auto err = parseError(". {\n  import f17\n}\n", src);
  CHECK(err.find("too many file imports (more than 100000)") != std::string::npos);
}

// --- loadCorefile -------------------------------------------------------------------------------

TEST_CASE("loadCorefile reads through the source and parses") {
  MemorySource src;
  src.file("/etc/coredns/Corefile", ". {\n  import extra\n}\n")
      .file("/etc/coredns/extra", "whoami\n")
      .directory("/etc/coredns");
  ParseOptions options;
  options.source = &src;
  options.env = envOf({});
  auto r = loadCorefile("/etc/coredns/Corefile", options);
  REQUIRE(r.ok());
  CHECK(r->path == "/etc/coredns/Corefile");
  CHECK(names(r->blocks.at(0).directives) == Strings{"whoami"});

  auto missing = loadCorefile("/nope/Corefile", options);
  REQUIRE_FALSE(missing.ok());
  // No made-up position: the message names the file and the reason, and that is all.
  CHECK(missing.error().str() == "cannot read /nope/Corefile: No such file or directory");

  auto dir = loadCorefile("/etc/coredns", options);
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.error().str() == "cannot read /etc/coredns: is a directory, expected a Corefile");
}

}  // namespace
}  // namespace moat::conf
