#include "cmd/explain.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cmd/runtime.hpp"
#include "conf/parser.hpp"
#include "dns/ldns.hpp"
#include "dns/log.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "plugins/chain.hpp"

namespace moat::app {

namespace {

constexpr int kNameColumn = 14;

std::string usageText() { return "usage: moat explain -conf FILE NAME [TYPE]\n"; }

// One handler's part in the query's path: what it said and what it decided.
struct Step {
  std::string handler;
  std::vector<std::string> notes;
  std::string outcome;  // empty while the handler has not decided (pending, or a note only)
};

class Recorder final : public dns::Trace {
 public:
  void note(std::string_view handler, std::string text) override {
    stepFor(handler).notes.push_back(std::move(text));
  }
  void outcome(std::string_view handler, std::string_view what) override {
    stepFor(handler).outcome = what;
  }
  const std::vector<Step>& steps() const { return steps_; }

 private:
  // Notes come before the outcome of the same handler; a handler deciding again (a subquery
  // passing through it) gets a new step.
  Step& stepFor(std::string_view handler) {
    if (steps_.empty() || steps_.back().handler != handler || !steps_.back().outcome.empty()) {
      steps_.push_back({std::string(handler), {}, {}});
    }
    return steps_.back();
  }
  std::vector<Step> steps_;
};

// Keeps the final reply (or that there was none).
class Capture final : public dns::ReplySink {
 public:
  void sendReply(dns::Query& q) override {
    reply.assign(q.reply.begin(), q.reply.end());
    done = true;
  }
  void dropQuery(dns::Query&) override {
    dropped = true;
    done = true;
  }
  std::vector<uint8_t> reply;
  bool done = false;
  bool dropped = false;
};

std::string padded(std::string_view label) {
  std::string out(label);
  out.resize(std::max<size_t>(out.size() + 1, kNameColumn), ' ');
  return out;
}

std::string rrText(ldns_rr* rr) {
  char* text = ldns_rr2str(rr);
  std::string out = text != nullptr ? text : "";
  free(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (char& c : out) {
    if (c == '\t') c = ' ';
  }
  return out;
}

// "NXDOMAIN aa" and one line per record, from the reply bytes as the client would get them.
std::vector<std::string> describeReply(const std::vector<uint8_t>& wire) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK) return {"(unreadable reply)"};
  dns::LdnsPkt pkt(raw);
  std::string head;
  if (const ldns_lookup_table* rc = ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(raw))) {
    head = rc->name;
  } else {
    head = "RCODE" + std::to_string(ldns_pkt_get_rcode(raw));
  }
  if (ldns_pkt_aa(raw)) head += " aa";
  if (ldns_pkt_tc(raw)) head += " tc";
  std::vector<std::string> lines{head};
  for (ldns_pkt_section section : {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY}) {
    ldns_rr_list* list = ldns_pkt_get_section_clone(raw, section);
    for (size_t i = 0; list != nullptr && i < ldns_rr_list_rr_count(list); ++i) {
      lines.push_back((section == LDNS_SECTION_ANSWER ? "answer    " : "authority ") +
                      rrText(ldns_rr_list_rr(list, i)));
    }
    ldns_rr_list_deep_free(list);
  }
  return lines;
}

struct Args {
  std::string conf;
  std::string name;
  std::string type = "A";
};

bool parseArgs(std::span<const std::string> args, Args& out, std::string& error) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) == 0) arg.erase(0, 1);
    if (arg == "-conf") {
      if (i + 1 >= args.size()) {
        error = "-conf needs a file";
        return false;
      }
      out.conf = args[++i];
    } else if (arg.rfind("-conf=", 0) == 0) {
      out.conf = arg.substr(6);
    } else if (!arg.empty() && arg[0] == '-') {
      error = "unknown flag " + args[i];
      return false;
    } else {
      positional.push_back(args[i]);
    }
  }
  if (out.conf.empty() || positional.empty() || positional.size() > 2) {
    error = out.conf.empty() ? "-conf FILE is required" : "expected NAME [TYPE]";
    return false;
  }
  out.name = positional[0];
  if (positional.size() == 2) out.type = positional[1];
  return true;
}

}  // namespace

int runExplain(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  Args a;
  std::string error;
  if (!parseArgs(args, a, error)) {
    err << "moat explain: " << error << "\n" << usageText();
    return 2;
  }
  auto wire = dns::nameFromText(a.name);
  const ldns_rr_type type = ldns_get_rr_type_by_name(a.type.c_str());
  if (!wire || type == 0) {
    err << "moat explain: " << (wire ? "unknown type " + a.type : "invalid name " + a.name) << "\n";
    return 2;
  }

  // Explain prints its own account; plugins' logs (and the log plugin's lines) stay quiet.
  spdlog::set_level(spdlog::level::off);
  logging::queryLog().set_level(spdlog::level::off);

  std::vector<conf::Diag> warnings;
  conf::ParseOptions options;
  options.warnings = &warnings;
  auto corefile = conf::loadCorefile(a.conf, options);
  if (!corefile) {
    err << corefile.error().str() << "\n";
    return 1;
  }
  // No event loops: nothing can be sent, and forward describes what it would have sent.
  auto runtime = buildRuntime(*corefile, {53, {}});
  if (!runtime) {
    err << runtime.error().str() << "\n";
    return 1;
  }

  auto query = std::make_unique<dns::Query>();
  dns::Query& q = *query;
  if (!q.loadQuestion(0x4d4f, *wire, static_cast<uint16_t>(type))) {
    err << "moat explain: cannot build a query for " << a.name << "\n";
    return 2;
  }

  // The listener whose block matches the name most specifically (several ports: the first).
  const plugins::RouteTable& table = *runtime->routes;
  int bestListener = -1;
  size_t bestLength = 0;
  std::string zone;
  for (size_t i = 0; i < runtime->listeners.size(); ++i) {
    const auto& routes = table.listeners[runtime->listeners[i].id];
    const int z = routes.zones.longestMatch(q.view.question.lowerName());
    if (z == dns::ZoneSet::kNone) continue;
    const size_t length = routes.zones.wire(z).size();
    if (bestListener < 0 || length > bestLength) {
      bestListener = static_cast<int>(i);
      bestLength = length;
      zone = routes.zones.text(z);
    }
  }

  out << padded("query") << dns::nameToText(*wire) << " " << a.type << "\n";
  if (bestListener < 0) {
    out << padded("server") << "no server block serves this name\n"
        << padded("reply") << "REFUSED\n";
    return 0;
  }
  const auto& listener = runtime->listeners[static_cast<size_t>(bestListener)];
  out << padded("server") << zone << ":" << listener.port
      << (listener.address.empty() ? "" : " on " + listener.address) << "   zone " << zone << "\n";

  Recorder recorder;
  Capture capture;
  plugins::ChainRunner runner(1);
  runner.publish(runtime->routes);
  q.proto = dns::Proto::Udp;
  q.worker = 0;
  q.listener = listener.id;
  q.sink = &capture;
  q.dispatcher = &runner;
  q.trace = &recorder;
  q.start = std::chrono::steady_clock::now();
  runner.dispatch(q);

  std::string answeredBy;
  for (const Step& step : recorder.steps()) {
    if (step.notes.empty() && step.outcome == "next") continue;  // passed on without a word
    std::string line;
    for (const std::string& note : step.notes) line += (line.empty() ? "" : "; ") + note;
    if (step.outcome == "next") line += (line.empty() ? "" : " ") + std::string("-> next");
    if (step.outcome == "answered") {
      line += (line.empty() ? "" : " ") + std::string("-> answered");
      answeredBy = step.handler;
    }
    if (step.outcome == "drop") line += (line.empty() ? "" : " ") + std::string("-> dropped");
    if (step.outcome == "pending") line += (line.empty() ? "" : " ") + std::string("-> waits for a subquery");
    out << padded(step.handler) << line << "\n";
  }

  if (!capture.done) {
    out << padded("reply") << "none yet (waiting on something explain cannot run)\n";
  } else if (capture.dropped) {
    out << padded("reply") << "none: the query is dropped\n";
  } else if (answeredBy == "forward") {
    out << padded("reply") << "the upstream's answer (explain sends nothing)\n";
  } else {
    const auto lines = describeReply(capture.reply);
    for (size_t i = 0; i < lines.size(); ++i) out << padded(i == 0 ? "reply" : "") << lines[i] << "\n";
  }
  for (const conf::Diag& w : runtime->warnings) err << w.str() << "\n";
  return 0;
}

}  // namespace moat::app
