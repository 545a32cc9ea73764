#include "lint/format.hpp"

#include <boost/json.hpp>
#include <ostream>

namespace moat::lint {

namespace {

namespace json = boost::json;

constexpr std::string_view kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

void writeText(const std::vector<Finding>& findings, std::ostream& out) {
  for (const Finding& f : findings) {
    out << f.pos.str() << ": " << severityName(f.severity) << ": " << f.message << " [" << f.rule
        << "]\n";
  }
}

void writeJson(const std::vector<Finding>& findings, std::ostream& out) {
  json::array items;
  for (const Finding& f : findings) {
    items.push_back(json::object{
        {"file", f.pos.file},
        {"line", f.pos.line},
        {"column", f.pos.col},
        {"severity", severityName(f.severity)},
        {"rule", f.rule},
        {"message", f.message},
    });
  }
  out << json::serialize(json::object{{"findings", std::move(items)}}) << "\n";
}

std::string_view sarifLevel(Severity s) {
  switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Info: return "note";
  }
  return "error";
}

void writeSarif(const std::vector<Finding>& findings, std::ostream& out) {
  json::array rulesJson;
  for (const RuleInfo& r : rules()) {
    rulesJson.push_back(json::object{
        {"id", r.id},
        {"shortDescription", json::object{{"text", r.summary}}},
        {"fullDescription", json::object{{"text", r.description}}},
        {"defaultConfiguration", json::object{{"level", sarifLevel(r.severity)}}},
    });
  }
  json::array results;
  for (const Finding& f : findings) {
    json::object result{
        {"ruleId", f.rule},
        {"level", sarifLevel(f.severity)},
        {"message", json::object{{"text", f.message}}},
        {"locations",
         json::array{json::object{
             {"physicalLocation",
              json::object{
                  {"artifactLocation", json::object{{"uri", f.pos.file}}},
                  {"region", json::object{{"startLine", f.pos.line}, {"startColumn", f.pos.col}}},
              }},
         }}},
    };
    const auto all = rules();
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].id == f.rule) result["ruleIndex"] = i;
    }
    results.push_back(std::move(result));
  }
  json::object driver{
      {"name", "moat"},
      {"rules", std::move(rulesJson)},
  };
  json::object log{
      {"$schema", kSarifSchema},
      {"version", "2.1.0"},
      {"runs", json::array{json::object{{"tool", json::object{{"driver", std::move(driver)}}},
                                        {"results", std::move(results)}}}},
  };
  out << json::serialize(log) << "\n";
}

// Workflow command escaping: the message is data, the file and title are properties (which
// also may not hold ':' or ',').
std::string escapeData(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}

std::string escapeProperty(std::string_view s) {
  std::string out;
  for (char c : escapeData(s)) {
    if (c == ':') out += "%3A";
    else if (c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

void writeGithub(const std::vector<Finding>& findings, std::ostream& out) {
  for (const Finding& f : findings) {
    const std::string_view command = f.severity == Severity::Error     ? "error"
                                     : f.severity == Severity::Warning ? "warning"
                                                                       : "notice";
    out << "::" << command << " file=" << escapeProperty(f.pos.file) << ",line=" << f.pos.line
        << ",col=" << f.pos.col << ",title=" << escapeProperty(f.rule) << "::" << escapeData(f.message)
        << "\n";
  }
}

}  // namespace

std::optional<Format> parseFormat(std::string_view name) {
  if (name == "text") return Format::Text;
  if (name == "json") return Format::Json;
  if (name == "sarif") return Format::Sarif;
  if (name == "github") return Format::Github;
  return std::nullopt;
}

void writeFindings(Format format, const std::vector<Finding>& findings, std::ostream& out) {
  switch (format) {
    case Format::Text: writeText(findings, out); return;
    case Format::Json: writeJson(findings, out); return;
    case Format::Sarif: writeSarif(findings, out); return;
    case Format::Github: writeGithub(findings, out); return;
  }
}

}  // namespace moat::lint
