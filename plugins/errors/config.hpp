// `errors` configuration, as CoreDNS parses it:
//   errors [stdout] {
//     stacktrace
//     consolidate DURATION REGEXP [warning|error|info|debug] [show_first]
//   }
// Once per server block. Regular expressions use Perl syntax (boost::regex), which accepts
// what Go's RE2 patterns in Corefiles usually hold, inline flags such as (?i) included.
#pragma once

#include <spdlog/common.h>

#include <boost/regex.hpp>
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"

namespace moat::plugins::errors {

struct ConsolidateRule {
  std::chrono::nanoseconds period{0};
  std::string pattern;  // as written, for the summary line
  boost::regex regex;
  spdlog::level::level_enum level = spdlog::level::err;
  bool showFirst = false;  // print the first error of a period as it happens
};

struct Config {
  std::vector<ConsolidateRule> consolidate;  // the first matching rule takes an error
  bool stacktrace = false;                   // accepted; C++ has no panics to trace
};

constexpr size_t kMaxPatternLen = 10000;  // CoreDNS's guard against huge patterns

// `warnings` (may be null) receives notes about options that have no effect in Moat.
conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas,
                                 std::vector<conf::Diag>* warnings = nullptr);

}  // namespace moat::plugins::errors
