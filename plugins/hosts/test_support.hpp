// Helpers shared by the hosts tests: Corefile-like directives built by hand, a scratch
// directory, and a one-call "ask the handler" that decodes the reply.
#pragma once

#include "tests/support/plugin_test_util.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "dns/query.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::hosts::testing {

inline std::vector<conf::Token> tokens(std::string_view line, uint32_t lineNo) {
  std::vector<conf::Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) {
      out.push_back(conf::Token{std::string(line.substr(start, i - start)),
                                conf::Pos{"Corefile", lineNo, uint32_t(start + 1)}, false});
    }
  }
  return out;
}

// `head` is the directive line ("hosts FILE ZONES"), on line 2 of a pretend Corefile; each
// entry of `block` is one line of its `{ }` block (lines 3, 4, ...).
inline conf::Directive directive(std::string_view head,
                                 std::initializer_list<std::string_view> block = {},
                                 bool hasBlock = true) {
  auto headTokens = tokens(head, 2);
  REQUIRE(!headTokens.empty());
  conf::Directive d;
  d.name = headTokens.front();
  d.args.assign(headTokens.begin() + 1, headTokens.end());
  d.hasBlock = hasBlock && block.size() > 0;
  uint32_t lineNo = 3;
  for (std::string_view line : block) {
    auto t = tokens(line, lineNo++);
    REQUIRE(!t.empty());
    conf::Directive opt;
    opt.name = t.front();
    opt.args.assign(t.begin() + 1, t.end());
    d.block.push_back(std::move(opt));
  }
  return d;
}

// A SetupContext for one stanza in a block serving `zones`; warnings land in `warnings`.
struct Setup {
  conf::Directive stanza;
  std::vector<conf::Diag> warnings;
  SetupContext ctx;

  explicit Setup(conf::Directive d, std::vector<std::string> zones = {"."},
                 std::string baseDir = "")
      : stanza(std::move(d)) {
    ctx.zones = std::move(zones);
    ctx.stanzas = {&stanza};
    ctx.baseDir = std::move(baseDir);
    ctx.warnings = &warnings;
  }
  Setup(const Setup&) = delete;
};

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/moat-hosts-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  // Writes `text` to `name` in this directory; returns its full path.
  std::string write(std::string_view name, std::string_view text) const {
    std::string p = file(name);
    std::ofstream out(p, std::ios::trunc);
    out << text;
    REQUIRE(out.good());
    return p;
  }

 private:
  std::string path_;
};

using moat::testing::ask;
using moat::testing::Outcome;

}  // namespace moat::plugins::hosts::testing
