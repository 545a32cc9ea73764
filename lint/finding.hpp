// One lint finding (a position, a rule id, a severity and a sentence), and the catalogue of
// rules lint knows, which the SARIF output lists and the README documents one by one.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"

namespace moat::lint {

using Severity = conf::Severity;  // Error, Warning, Info (info never fails a run)

std::string_view severityName(Severity severity);  // "error", "warning", "info"

struct Finding {
  conf::Pos pos;  // file:line:col, 1-based
  std::string rule;
  Severity severity = Severity::Error;
  std::string message;
};

struct RuleInfo {
  std::string_view id;           // "leak/unscoped-forward"
  Severity severity;             // the severity its findings carry
  std::string_view summary;      // one line (SARIF shortDescription)
  std::string_view description;  // a few sentences (SARIF fullDescription)
};

std::span<const RuleInfo> rules();
const RuleInfo* findRule(std::string_view id);  // null for an id not in the catalogue

// Collects findings; the severity comes from the rule's catalogue entry.
class Findings {
 public:
  void add(const conf::Pos& pos, std::string_view rule, std::string message);
  // A setup diagnostic as the server would print it: its own position and message.
  void add(const conf::Diag& diag, std::string_view rule) { add(diag.pos, rule, diag.message); }

  const std::vector<Finding>& all() const { return items_; }
  std::vector<Finding> take() { return std::move(items_); }

 private:
  std::vector<Finding> items_;
};

// Sorted by file, line, column, then rule id, duplicates (same place, rule and text) dropped.
void sortFindings(std::vector<Finding>& findings);

}  // namespace moat::lint
