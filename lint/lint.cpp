// `moat lint`: arguments, output and the exit code. The work is in check.cpp (load and rules)
// and format.cpp (the four output formats).
#include "lint/lint.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <istream>
#include <iterator>
#include <optional>
#include <ostream>

#include "lint/check.hpp"
#include "lint/format.hpp"

namespace moat::lint {

namespace {

constexpr std::string_view kUsage =
    "Usage: moat lint [--format text|json|sarif|github] [--fail-on error|warning] FILE...\n";

// What standard input is called in findings.
constexpr std::string_view kStdinName = "<stdin>";

struct Args {
  Format format = Format::Text;
  Severity failOn = Severity::Error;
  std::vector<std::string> files;
  bool help = false;
};

// "--name value" or "--name=value"; advances `i` past what it used.
std::optional<std::string> valueOf(std::span<const std::string> args, size_t& i, std::string_view name,
                                   std::string& error) {
  const std::string& arg = args[i];
  if (arg.size() > name.size() && arg.compare(0, name.size(), name) == 0 && arg[name.size()] == '=') {
    return arg.substr(name.size() + 1);
  }
  if (i + 1 >= args.size()) {
    error = std::string(name) + " needs a value";
    return std::nullopt;
  }
  return args[++i];
}

bool startsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::optional<Args> parseArgs(std::span<const std::string> args, std::string& error) {
  Args out;
  bool onlyFiles = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (onlyFiles || arg == "-" || !startsWith(arg, "-")) {
      out.files.push_back(arg);
    } else if (arg == "--") {
      onlyFiles = true;
    } else if (arg == "-h" || arg == "-help" || arg == "--help") {
      out.help = true;
    } else if (arg == "--format" || startsWith(arg, "--format=")) {
      auto value = valueOf(args, i, "--format", error);
      if (!value) return std::nullopt;
      auto format = parseFormat(*value);
      if (!format) {
        error = "unknown format '" + *value + "' (want text, json, sarif or github)";
        return std::nullopt;
      }
      out.format = *format;
    } else if (arg == "--fail-on" || startsWith(arg, "--fail-on=")) {
      auto value = valueOf(args, i, "--fail-on", error);
      if (!value) return std::nullopt;
      if (*value == "error") {
        out.failOn = Severity::Error;
      } else if (*value == "warning") {
        out.failOn = Severity::Warning;
      } else {
        error = "--fail-on takes error or warning, got '" + *value + "'";
        return std::nullopt;
      }
    } else {
      error = "unknown flag '" + arg + "'";
      return std::nullopt;
    }
  }
  if (out.files.empty() && !out.help) {
    error = "no Corefile given";
    return std::nullopt;
  }
  return out;
}

bool failsRun(Severity found, Severity threshold) {
  if (found == Severity::Info) return false;  // info never fails
  return threshold == Severity::Warning || found == Severity::Error;
}

// Plugins log while they set up (kubernetes prints what it loaded); that output would land in
// the middle of a JSON or SARIF document. Lint reports through findings instead.
class QuietLogs {
 public:
  QuietLogs() : level_(spdlog::get_level()) { spdlog::set_level(spdlog::level::off); }
  ~QuietLogs() { spdlog::set_level(level_); }
  QuietLogs(const QuietLogs&) = delete;
  QuietLogs& operator=(const QuietLogs&) = delete;

 private:
  spdlog::level::level_enum level_;
};

}  // namespace

std::string help() {
  std::string out(kUsage);
  out +=
      "\n"
      "Checks Corefiles before they ship, with the server's own parsers. FILE may be - for\n"
      "standard input, and a Kubernetes ConfigMap (YAML or JSON) is linted as the Corefile inside\n"
      "it, positions in the ConfigMap's lines:\n"
      "  kubectl -n kube-system get configmap coredns -o yaml | moat lint -\n"
      "\n"
      "  --format F     text (default), json, sarif or github (workflow commands)\n"
      "  --fail-on S    error (default) or warning: the lowest severity that exits 1\n"
      "  -h, --help     print this help and exit\n"
      "\n"
      "Exit status: 0 clean, 1 findings at or above --fail-on, 2 unreadable input or bad usage.\n"
      "\n"
      "Rules (details in lint/README.md):\n";
  size_t width = 0;
  for (const RuleInfo& r : rules()) width = std::max(width, r.id.size());
  for (const RuleInfo& r : rules()) {
    std::string id(r.id);
    id.resize(width + 2, ' ');
    std::string severity(severityName(r.severity));
    severity.resize(9, ' ');
    out += "  " + id + severity + std::string(r.summary) + "\n";
  }
  return out;
}

int runLint(std::span<const std::string> args, std::istream& in, std::ostream& out, std::ostream& err) {
  std::string error;
  auto parsed = parseArgs(args, error);
  if (!parsed) {
    err << "moat lint: " << error << "\n" << kUsage;
    return 2;
  }
  if (parsed->help) {
    out << help();
    return 0;
  }

  std::vector<Finding> findings;
  bool unreadable = false;
  {
    QuietLogs quiet;
    for (const std::string& file : parsed->files) {
      std::string why;
      if (file == "-") {
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (in.bad()) {
          err << "moat lint: cannot read standard input\n";
          unreadable = true;
          continue;
        }
        lintText(std::string(kStdinName), text, findings);
        continue;
      }
      if (!lintFile(file, findings, why)) {
        err << "moat lint: cannot read '" << file << "': " << why << "\n";
        unreadable = true;
      }
    }
  }
  sortFindings(findings);  // by file too, whatever order the files were named in
  writeFindings(parsed->format, findings, out);
  out.flush();

  if (unreadable) return 2;
  for (const Finding& f : findings) {
    if (failsRun(f.severity, parsed->failOn)) return 1;
  }
  return 0;
}

}  // namespace moat::lint
