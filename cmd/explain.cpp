#include "cmd/explain.hpp"

#include <arpa/inet.h>

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

constexpr std::string_view kUsage =
    "Usage: moat explain [--format text|json|mermaid] [--from ADDR] -conf FILE NAME [TYPE]\n";

class Recorder final : public dns::Trace {
 public:
  void note(std::string_view handler, std::string text) override {
    stepFor(handler).notes.push_back(std::move(text));
  }
  void outcome(std::string_view handler, std::string_view what) override {
    stepFor(handler).decision = what == "drop" ? "dropped" : std::string(what);
  }
  std::vector<ExplainStep> take() { return std::move(steps_); }

 private:
  // Notes come before the outcome of the same handler; a handler deciding again (a subquery
  // passing through it) gets a new step.
  ExplainStep& stepFor(std::string_view handler) {
    if (steps_.empty() || steps_.back().plugin != handler || !steps_.back().decision.empty()) {
      steps_.push_back({std::string(handler), {}, {}});
    }
    return steps_.back();
  }
  std::vector<ExplainStep> steps_;
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

// Rcode, flags and records, from the reply bytes as the client would get them.
ExplainReply describeReply(const std::vector<uint8_t>& wire) {
  ExplainReply r;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK) {
    r.rcode = "(unreadable reply)";
    return r;
  }
  dns::LdnsPkt pkt(raw);
  if (const ldns_lookup_table* rc = ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(raw))) {
    r.rcode = rc->name;
  } else {
    r.rcode = "RCODE" + std::to_string(ldns_pkt_get_rcode(raw));
  }
  if (ldns_pkt_aa(raw)) r.flags.push_back("aa");
  if (ldns_pkt_tc(raw)) r.flags.push_back("tc");
  for (ldns_pkt_section section : {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY}) {
    ldns_rr_list* list = ldns_pkt_get_section_clone(raw, section);
    for (size_t i = 0; list != nullptr && i < ldns_rr_list_rr_count(list); ++i) {
      (section == LDNS_SECTION_ANSWER ? r.answer : r.authority).push_back(rrText(ldns_rr_list_rr(list, i)));
    }
    ldns_rr_list_deep_free(list);
  }
  return r;
}

struct Args {
  std::string conf;
  std::vector<std::string> positional;  // NAME [TYPE]
  std::string name;
  std::string type = "A";
  ExplainFormat format = ExplainFormat::Text;
  std::string from = "127.0.0.1";
  bool help = false;
};

bool parseFormat(const std::string& text, ExplainFormat& out) {
  if (text == "text") out = ExplainFormat::Text;
  else if (text == "json") out = ExplainFormat::Json;
  else if (text == "mermaid") out = ExplainFormat::Mermaid;
  else return false;
  return true;
}

// CoreDNS-style flags (-conf, --conf, -conf=FILE) around the positional NAME [TYPE].
bool parseArgs(std::span<const std::string> args, Args& out, std::string& error) {
  std::vector<std::string>& positional = out.positional;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) == 0) arg.erase(0, 1);
    std::string value;
    auto takeValue = [&](std::string_view flag) {
      if (arg.size() > flag.size() && arg[flag.size()] == '=') {
        value = arg.substr(flag.size() + 1);
        return true;
      }
      if (i + 1 >= args.size()) {
        error = std::string(flag) + " needs a value";
        return false;
      }
      value = args[++i];
      return true;
    };
    auto is = [&](std::string_view flag) {
      return arg == flag || (arg.rfind(flag, 0) == 0 && arg.size() > flag.size() && arg[flag.size()] == '=');
    };
    if (arg == "-h" || arg == "-help") {
      out.help = true;  // as Go's flag package: help, whatever else is on the line
      break;
    } else if (is("-conf")) {
      if (!takeValue("-conf")) return false;
      out.conf = value;
    } else if (is("-from")) {
      if (!takeValue("-from")) return false;
      out.from = value;
    } else if (is("-format")) {
      if (!takeValue("-format")) return false;
      if (!parseFormat(value, out.format)) {
        error = "unknown format '" + value + "' (want text, json or mermaid)";
        return false;
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      error = "unknown flag " + args[i];
      return false;
    } else {
      positional.push_back(args[i]);
    }
  }
  if (out.help) return true;
  if (out.conf.empty() || positional.empty() || positional.size() > 2) {
    error = out.conf.empty() ? "-conf FILE is required" : "expected NAME [TYPE]";
    return false;
  }
  out.name = positional[0];
  if (positional.size() == 2) out.type = positional[1];
  return true;
}

// ADDR (IPv4 or IPv6) as a client endpoint; false when it is no address.
bool endpointOf(const std::string& text, uint16_t port, dns::Endpoint& out) {
  out = {};
  auto& v4 = reinterpret_cast<sockaddr_in&>(out.addr);
  if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    out.len = sizeof v4;
    return true;
  }
  auto& v6 = reinterpret_cast<sockaddr_in6&>(out.addr);
  if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    out.len = sizeof v6;
    return true;
  }
  return false;
}

}  // namespace

std::string explainHelp() {
  return std::string(kUsage) +
         "\n"
         "Shows the path one query for NAME (of TYPE, default A) takes through the Corefile: the\n"
         "server block that serves it, each plugin's decision in execution order, and the reply.\n"
         "Offline: the server's own code runs with no sockets, so nothing is sent anywhere.\n"
         "\n"
         "  -conf FILE      Corefile to load (required)\n"
         "  --format F      text (default), json (for tools) or mermaid (a flowchart)\n"
         "  --from ADDR     the client's address, for views and acl (default 127.0.0.1)\n"
         "  -h, --help      print this help and exit\n"
         "\n"
         "Exit status: 0 explained, 1 the Corefile does not load, 2 bad usage.\n";
}

int runExplain(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  Args a;
  std::string error;
  if (!parseArgs(args, a, error)) {
    err << "moat explain: " << error << "\n" << kUsage;
    return 2;
  }
  if (a.help) {
    out << explainHelp();
    return 0;
  }
  auto wire = dns::nameFromText(a.name);
  const ldns_rr_type type = ldns_get_rr_type_by_name(a.type.c_str());
  if (!wire || type == 0) {
    err << "moat explain: " << (wire ? "unknown type " + a.type : "invalid name " + a.name) << "\n";
    return 2;
  }
  dns::Endpoint client;
  if (!endpointOf(a.from, 40000, client)) {
    err << "moat explain: --from needs an IP address, got " << a.from << "\n";
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

  Explanation e;
  e.name = dns::nameToText(*wire);
  e.type = a.type;
  e.from = a.from;
  q.client = client;
  q.proto = dns::Proto::Udp;

  // The listener whose block matches the name most specifically (several ports: the first).
  const plugins::RouteTable& table = *runtime->routes;
  int bestListener = -1;
  size_t bestLength = 0;
  for (size_t i = 0; i < runtime->listeners.size(); ++i) {
    const auto& routes = table.listeners[runtime->listeners[i].id];
    const int z = routes.zones.longestMatch(q.view.question.lowerName());
    if (z == dns::ZoneSet::kNone) continue;
    const size_t length = routes.zones.wire(z).size();
    if (bestListener < 0 || length > bestLength) {
      bestListener = static_cast<int>(i);
      bestLength = length;
      e.zone = routes.zones.text(z);
    }
  }

  const plugins::Chain* chain = nullptr;
  if (bestListener >= 0) {
    const auto& listener = runtime->listeners[static_cast<size_t>(bestListener)];
    if (!endpointOf(listener.address.empty() ? (client.family() == AF_INET6 ? "::1" : "127.0.0.1")
                                             : listener.address,
                    listener.port, q.local)) {
      q.local = {};
    }
    // The views the query is offered to, as the server tries them.
    std::vector<const plugins::Chain*> rejected;
    chain = table.listeners[listener.id].route(q, &rejected);
    for (const plugins::Chain* c : rejected) {
      e.views.push_back({std::string(c->filter->viewName()), false, c->filter->explain(q)});
    }
    if (chain != nullptr && chain->filter) {
      e.views.push_back({std::string(chain->filter->viewName()), true, chain->filter->explain(q)});
    }
    // The zone the serving block was reached by: shorter than the longest match when no view
    // of a longer zone took the query.
    const auto& routes = table.listeners[listener.id];
    const auto name = q.view.question.lowerName();
    for (size_t off = 0; chain != nullptr && off < name.size(); off += name[off] + 1u) {
      const int z = routes.zones.find(name.subspan(off));
      const auto& chains = z == dns::ZoneSet::kNone ? decltype(routes.chains)::value_type{}
                                                    : routes.chains[static_cast<size_t>(z)];
      if (std::any_of(chains.begin(), chains.end(), [&](const auto& c) { return c.get() == chain; })) {
        e.zone = routes.zones.text(z);
        break;
      }
      if (name[off] == 0) break;
    }
  }
  if (chain == nullptr) {
    e.reply.rcode = "REFUSED";
  } else {
    const auto& listener = runtime->listeners[static_cast<size_t>(bestListener)];
    e.served = true;
    e.port = listener.port;
    e.address = listener.address;
    e.tls = listener.tls != nullptr;
    if (e.tls) q.proto = dns::Proto::Tcp;  // DNS over TLS is TCP to the chain (no truncation)

    Recorder recorder;
    Capture capture;
    plugins::ChainRunner runner(1);
    runner.publish(runtime->routes);
    q.worker = 0;
    q.listener = listener.id;
    q.sink = &capture;
    q.dispatcher = &runner;
    q.trace = &recorder;
    q.start = std::chrono::steady_clock::now();
    runner.dispatch(q);
    e.steps = recorder.take();

    std::string answeredBy;
    for (const ExplainStep& step : e.steps) {
      if (step.decision == "answered") answeredBy = step.plugin;
    }
    if (!capture.done) {
      e.reply.kind = ExplainReply::Kind::Waiting;
    } else if (capture.dropped) {
      e.reply.kind = ExplainReply::Kind::Dropped;
    } else if (answeredBy == "forward") {
      e.reply.kind = ExplainReply::Kind::Upstream;
    } else {
      e.reply = describeReply(capture.reply);
    }
  }

  switch (a.format) {
    case ExplainFormat::Text: writeText(e, out); break;
    case ExplainFormat::Json: writeJson(e, out); break;
    case ExplainFormat::Mermaid: writeMermaid(e, out); break;
  }
  for (const conf::Diag& w : runtime->warnings) err << w.str() << "\n";
  return 0;
}

}  // namespace moat::app
