// The four ways lint prints its findings: text (`file:line:col: severity: message [rule]`, as
// compilers and shellcheck -f gcc do), JSON, SARIF 2.1.0 for code-scanning tools, and GitHub
// Actions workflow commands that annotate the lines of a pull request.
#pragma once

#include <iosfwd>
#include <optional>
#include <string_view>
#include <vector>

#include "lint/finding.hpp"

namespace moat::lint {

enum class Format { Text, Json, Sarif, Github };

std::optional<Format> parseFormat(std::string_view name);

// Writes every finding (already sorted) in `format`. JSON and SARIF are one document, also
// when there is nothing to report.
void writeFindings(Format format, const std::vector<Finding>& findings, std::ostream& out);

}  // namespace moat::lint
