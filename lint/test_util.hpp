// Lint tests: a Corefile written to a temp dir (@DIR@ stands for that dir, so hosts files and
// resolv.confs the test writes beside it can be named), linted, and the findings picked apart.
#pragma once

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lint/check.hpp"
#include "lint/lint.hpp"
#include "tests/support/server_process.hpp"

namespace moat::lint::testing {

using moat::testing::TempDir;

inline std::string expand(std::string text, const TempDir& dir) {
  for (size_t at; (at = text.find("@DIR@")) != std::string::npos;) text.replace(at, 5, dir.path());
  return text;
}

// A resolv.conf with one public-looking nameserver, so no test depends on the machine's.
inline std::string writeResolvConf(const TempDir& dir, const std::string& servers = "192.0.2.53") {
  std::string text;
  std::istringstream in(servers);
  for (std::string s; in >> s;) text += "nameserver " + s + "\n";
  return dir.write("resolv.conf", text);
}

// Writes `corefile` as dir/Corefile and lints it; the file must be readable.
inline std::vector<Finding> lintText(const TempDir& dir, const std::string& corefile) {
  spdlog::set_level(spdlog::level::off);  // plugins log while set up; runLint silences them too
  const std::string path = dir.write("Corefile", expand(corefile, dir));
  std::vector<Finding> out;
  std::string why;
  REQUIRE_MESSAGE(lintFile(path, out, why), why);
  return out;
}

inline std::vector<Finding> withRule(const std::vector<Finding>& findings, std::string_view rule) {
  std::vector<Finding> out;
  std::copy_if(findings.begin(), findings.end(), std::back_inserter(out),
               [&](const Finding& f) { return f.rule == rule; });
  return out;
}

inline bool hasRule(const std::vector<Finding>& findings, std::string_view rule) {
  return !withRule(findings, rule).empty();
}

// Every finding as text, for CAPTURE in failing checks.
inline std::string describe(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += f.pos.str() + ": " + std::string(severityName(f.severity)) + ": " + f.message + " [" +
           f.rule + "]\n";
  }
  return out;
}

struct CliRun {
  int code = 0;
  std::string out;
  std::string err;
};

inline CliRun runCli(std::vector<std::string> args, const std::string& stdinText = "") {
  std::istringstream in(stdinText);
  std::ostringstream out;
  std::ostringstream err;
  CliRun run;
  run.code = runLint(args, in, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

}  // namespace moat::lint::testing
