#include "plugins/auto/origin_rule.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "conf/args.hpp"
#include "dns/name.hpp"

namespace moat::plugins::auto_zone {

namespace {

constexpr std::string_view kPlugin = "auto";

std::shared_ptr<const re2::RE2> compileQuietly(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);  // the error goes into the load error, not to stderr
  return std::make_shared<const re2::RE2>(pattern, options);
}

bool isGroupName(std::string_view name) {
  return !name.empty() && std::ranges::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

}  // namespace

OriginRule OriginRule::standard() { return OriginRule(compileQuietly(R"(db\.(.*))"), "{1}"); }

conf::Result<OriginRule> OriginRule::compile(const conf::Token& pattern, const conf::Token& originTemplate) {
  if (pattern.text.size() > kMaxPatternLength) {
    return conf::errorAt(pattern, kPlugin,
                         "regexp too large (more than " + std::to_string(kMaxPatternLength) + " characters)");
  }
  auto re = compileQuietly(pattern.text);
  if (!re->ok()) return conf::errorAt(pattern, kPlugin, "invalid regexp '" + pattern.text + "': " + re->error());
  if (re->NumberOfCapturingGroups() == 0) {
    return conf::errorAt(pattern, kPlugin,
                         "regexp '" + pattern.text + "' has no group for the origin template to use");
  }
  return OriginRule(std::move(re), originTemplate.text);
}

const std::string& OriginRule::pattern() const { return re_->pattern(); }

std::optional<std::string> OriginRule::originOf(std::string_view fileName) const {
  const int groups = re_->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> match(static_cast<size_t>(groups) + 1);
  const re2::StringPiece text(fileName.data(), fileName.size());
  if (!re_->Match(text, 0, text.size(), re2::RE2::UNANCHORED, match.data(), groups + 1)) return std::nullopt;

  // {N} and {name} take the group's text; a group that is absent or took no part is empty, and
  // a brace that opens no such reference stays as written (Go's regexp Expand, as CoreDNS).
  std::string origin;
  const std::string& t = template_;
  for (size_t i = 0; i < t.size();) {
    const size_t close = t[i] == '{' ? t.find('}', i + 1) : std::string::npos;
    const std::string_view name = close == std::string::npos ? std::string_view()
                                                             : std::string_view(t).substr(i + 1, close - i - 1);
    if (!isGroupName(name)) {
      origin += t[i++];
      continue;
    }
    int group = -1;
    if (std::ranges::all_of(name, [](char c) { return c >= '0' && c <= '9'; })) {
      group = name.size() <= 4 ? std::stoi(std::string(name)) : -1;
    } else {
      const auto& named = re_->NamedCapturingGroups();
      if (auto it = named.find(std::string(name)); it != named.end()) group = it->second;
    }
    if (group >= 0 && group <= groups) {
      const re2::StringPiece& part = match[static_cast<size_t>(group)];
      origin.append(part.data(), part.size());
    }
    i = close + 1;
  }

  if (origin.empty() || origin.back() != '.') origin += '.';
  const auto wire = dns::nameFromText(origin);
  if (!wire) return std::nullopt;
  return dns::nameToText(dns::lowercased(*wire));
}

}  // namespace moat::plugins::auto_zone
