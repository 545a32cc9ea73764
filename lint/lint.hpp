// `moat lint [--format text|json|sarif|github] [--fail-on error|warning] FILE...`: reads each
// Corefile (or Kubernetes ConfigMap holding one) with the server's own parsers and reports findings as file:line:col with a rule id.
// Exit code: 0 clean (or nothing at/above the threshold), 1 findings at/above it, 2 unreadable
// input or a usage error.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace moat::lint {

// `-` among the files reads `in` (standard input); -h, -help and --help print help() and exit 0.
int runLint(std::span<const std::string> args, std::istream& in, std::ostream& out, std::ostream& err);

// Usage, every flag, the exit codes and every rule with its one-line summary.
std::string help();

}  // namespace moat::lint
