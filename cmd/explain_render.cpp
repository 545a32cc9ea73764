// The three ways `moat explain` prints an Explanation: aligned text for people, JSON for tools,
// and a mermaid flowchart, the picture of the path people otherwise draw by hand in incident
// reviews (GitHub renders a ```mermaid block in issues, pull requests and Markdown files).
#include <boost/json.hpp>

#include <algorithm>
#include <ostream>
#include <string>

#include "cmd/explain.hpp"

namespace moat::app {

namespace {

namespace json = boost::json;

constexpr size_t kNameColumn = 14;

std::string padded(std::string_view label) {
  std::string out(label);
  out.resize(std::max(out.size() + 1, kNameColumn), ' ');
  return out;
}

// A step that passed the query on without a word says nothing worth a line or a box.
bool silent(const ExplainStep& step) { return step.notes.empty() && step.decision == "next"; }

std::string decisionText(const std::string& decision) {
  if (decision == "next") return "-> next";
  if (decision == "answered") return "-> answered";
  if (decision == "dropped") return "-> dropped";
  if (decision == "pending") return "-> waits for a subquery";
  return "";
}

std::string joined(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

// "office: no, incidr(client_ip(), '127.0.0.2/32') is false"
std::string viewText(const ExplainView& v) {
  return v.name + (v.took ? ": yes, " : ": no, ") + v.why;
}

std::string serverText(const Explanation& e) {
  return (e.tls ? "tls://" : "") + e.zone + ":" + std::to_string(e.port) + (e.address.empty() ? "" : " on " + e.address);
}

// The reply's lines as the text format prints them (the first is the verdict).
std::vector<std::string> replyLines(const Explanation& e) {
  switch (e.reply.kind) {
    case ExplainReply::Kind::Waiting: return {"none yet (waiting on something explain cannot run)"};
    case ExplainReply::Kind::Dropped: return {"none: the query is dropped"};
    case ExplainReply::Kind::Upstream: return {"the upstream's answer (explain sends nothing)"};
    case ExplainReply::Kind::Message: break;
  }
  std::vector<std::string> lines{e.reply.rcode};
  for (const std::string& f : e.reply.flags) lines[0] += " " + f;
  for (const std::string& rr : e.reply.answer) lines.push_back("answer    " + rr);
  for (const std::string& rr : e.reply.authority) lines.push_back("authority " + rr);
  return lines;
}

std::string_view kindName(ExplainReply::Kind kind) {
  switch (kind) {
    case ExplainReply::Kind::Message: return "message";
    case ExplainReply::Kind::Upstream: return "upstream";
    case ExplainReply::Kind::Dropped: return "dropped";
    case ExplainReply::Kind::Waiting: return "waiting";
  }
  return "message";
}

json::array strings(const std::vector<std::string>& items) {
  json::array out;
  for (const std::string& s : items) out.emplace_back(s);
  return out;
}

// Boost.JSON 1.81 serializes on one line; tools do not mind, people reading it do.
void pretty(const json::value& v, std::ostream& out, int indent) {
  const std::string pad(static_cast<size_t>(indent + 2), ' ');
  const std::string close(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    const json::object& o = v.as_object();
    if (o.empty()) {
      out << "{}";
      return;
    }
    out << "{\n";
    size_t i = 0;
    for (const auto& [key, value] : o) {
      out << pad << json::serialize(json::value(key)) << ": ";
      pretty(value, out, indent + 2);
      out << (++i < o.size() ? ",\n" : "\n");
    }
    out << close << "}";
  } else if (v.is_array() && !v.as_array().empty()) {
    const json::array& a = v.as_array();
    out << "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      out << pad;
      pretty(a[i], out, indent + 2);
      out << (i + 1 < a.size() ? ",\n" : "\n");
    }
    out << close << "]";
  } else {
    out << json::serialize(v);
  }
}

// Text inside a quoted mermaid label: quotes and the characters mermaid reads as markup become
// its entity codes (#quot; ...), so a name or a note can never end the label early.
std::string mermaidText(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"': out += "#quot;"; break;
      case '#': out += "#35;"; break;
      case '<': out += "#lt;"; break;
      case '>': out += "#gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string mermaidLabel(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += (out.empty() ? "" : "<br/>") + mermaidText(line);
  return "[\"" + out + "\"]";
}

}  // namespace

void writeText(const Explanation& e, std::ostream& out) {
  out << padded("query") << e.name << " " << e.type << "\n";
  if (!e.views.empty()) {
    out << padded("from") << e.from << "\n";
    for (const ExplainView& v : e.views) out << padded("view") << viewText(v) << "\n";
  }
  if (!e.served) {
    out << padded("server")
        << (e.views.empty() ? "no server block serves this name\n"
                            : "no view of a block serving this name takes the query\n")
        << padded("reply") << "REFUSED\n";
    return;
  }
  out << padded("server") << serverText(e) << "   zone " << e.zone << "\n";
  for (const ExplainStep& step : e.steps) {
    if (silent(step)) continue;
    std::string line = joined(step.notes, "; ");
    const std::string decision = decisionText(step.decision);
    if (!decision.empty()) line += (line.empty() ? "" : " ") + decision;
    out << padded(step.plugin) << line << "\n";
  }
  const std::vector<std::string> lines = replyLines(e);
  for (size_t i = 0; i < lines.size(); ++i) out << padded(i == 0 ? "reply" : "") << lines[i] << "\n";
}

void writeJson(const Explanation& e, std::ostream& out) {
  json::object doc;
  doc["query"] = json::object{{"name", e.name}, {"type", e.type}, {"from", e.from}};
  json::array views;
  for (const ExplainView& v : e.views) {
    views.push_back(json::object{{"view", v.name}, {"took", v.took}, {"why", v.why}});
  }
  doc["views"] = std::move(views);
  if (e.served) {
    doc["server"] = json::object{{"zone", e.zone}, {"port", e.port}, {"address", e.address}};
  } else {
    doc["server"] = nullptr;
  }
  json::array steps;
  for (const ExplainStep& step : e.steps) {
    steps.push_back(json::object{
        {"plugin", step.plugin}, {"notes", strings(step.notes)}, {"decision", step.decision}});
  }
  doc["steps"] = std::move(steps);
  json::object reply{{"kind", kindName(e.reply.kind)}};
  if (e.reply.kind == ExplainReply::Kind::Message) {
    reply["rcode"] = e.reply.rcode;
    reply["flags"] = strings(e.reply.flags);
    reply["answer"] = strings(e.reply.answer);
    reply["authority"] = strings(e.reply.authority);
  }
  doc["reply"] = std::move(reply);
  pretty(doc, out, 0);
  out << "\n";
}

void writeMermaid(const Explanation& e, std::ostream& out) {
  out << "flowchart TD\n";
  out << "  query" << mermaidLabel({"query " + e.name + " " + e.type}) << "\n";
  std::string previous = "query";
  std::string edge;  // the decision that led out of the previous box
  if (!e.views.empty()) {
    std::vector<std::string> lines{"from " + e.from};
    for (const ExplainView& v : e.views) lines.push_back("view " + viewText(v));
    out << "  views" << mermaidLabel(lines) << "\n";
    out << "  query --> views\n";
    previous = "views";
  }
  if (e.served) {
    out << "  server" << mermaidLabel({"server " + serverText(e), "zone " + e.zone}) << "\n";
    out << "  " << previous << " --> server\n";
    previous = "server";
  }
  size_t n = 0;
  for (const ExplainStep& step : e.steps) {
    if (silent(step)) continue;
    const std::string id = "step" + std::to_string(++n);
    std::vector<std::string> lines{step.plugin};
    lines.insert(lines.end(), step.notes.begin(), step.notes.end());
    out << "  " << id << mermaidLabel(lines) << "\n";
    out << "  " << previous << (edge.empty() ? " --> " : " -->|" + mermaidText(edge) + "| ") << id << "\n";
    previous = id;
    edge = step.decision == "pending" ? "waits" : step.decision;
  }
  std::vector<std::string> reply = replyLines(e);
  reply[0] = "reply " + reply[0];
  out << "  reply" << mermaidLabel(reply) << "\n";
  out << "  " << previous << (edge.empty() ? " --> " : " -->|" + mermaidText(edge) + "| ") << "reply\n";
  // The reply box coloured by what the client learns: an answer, or an error or denial.
  const bool failed = e.reply.kind == ExplainReply::Kind::Dropped ||
                      (e.reply.kind == ExplainReply::Kind::Message && e.reply.rcode != "NOERROR");
  out << "  classDef failed fill:#fde8e8,stroke:#c53030\n"
         "  classDef answered fill:#e6f4ea,stroke:#2f855a\n"
         "  class reply "
      << (failed ? "failed" : "answered") << "\n";
}

}  // namespace moat::app
