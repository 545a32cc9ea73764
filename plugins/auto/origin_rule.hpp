// How a file name becomes a zone origin: the `directory` regexp finds its groups anywhere in
// the name (unanchored, as CoreDNS's; `^...$` pins it), and the template puts them together,
// `{1}` for the first group, `{name}` for a named one. `db\.(.*)` with `{1}` makes
// `db.example.org` the zone `example.org.`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "conf/ast.hpp"
#include "conf/diag.hpp"

namespace re2 {
class RE2;
}

namespace moat::plugins::auto_zone {

class OriginRule {
 public:
  // CoreDNS refuses longer patterns; so does Moat, so one Corefile means the same in both.
  static constexpr size_t kMaxPatternLength = 10000;

  // The default rule, `db\.(.*)` and `{1}`.
  static OriginRule standard();
  // Compiles `pattern` (Go's syntax, which RE2 shares); errors name the offending token.
  static conf::Result<OriginRule> compile(const conf::Token& pattern, const conf::Token& originTemplate);

  // The origin (lowercased, fully qualified, "example.org.") that `fileName` names, or none
  // when the pattern does not match or the result is no domain name.
  std::optional<std::string> originOf(std::string_view fileName) const;

  const std::string& pattern() const;
  const std::string& originTemplate() const { return template_; }

 private:
  OriginRule(std::shared_ptr<const re2::RE2> re, std::string originTemplate)
      : re_(std::move(re)), template_(std::move(originTemplate)) {}

  std::shared_ptr<const re2::RE2> re_;  // immutable; RE2 matches from several threads safely
  std::string template_;
};

}  // namespace moat::plugins::auto_zone
