// `moat explain [--format text|json|mermaid] [--from ADDR] -conf FILE NAME [TYPE]`: the path one
// query takes through the configuration, offline, as if ADDR (127.0.0.1) had asked. The
// Corefile is built by the server's own code with no event loops (so nothing can be sent), the
// query runs through the same chain runner, and each handler's decision is recorded, then
// printed as text, as JSON for tools, or as a mermaid flowchart (explain_render.cpp).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

namespace moat::app {

int runExplain(std::span<const std::string> args, std::ostream& out, std::ostream& err);

// Usage and every flag (what -h prints).
std::string explainHelp();

// What happened to the query, format-free.
struct ExplainStep {
  std::string plugin;
  std::vector<std::string> notes;  // what the handler said, in order
  std::string decision;            // "next", "answered", "dropped", "pending" or "" (no decision)
};

struct ExplainReply {
  enum class Kind : uint8_t {
    Message,   // the reply the client would get: rcode, flags, records
    Upstream,  // forward would send the query; the answer is the upstream's
    Dropped,   // no reply at all
    Waiting,   // a handler waits for something explain cannot run
  };
  Kind kind = Kind::Message;
  std::string rcode;               // "NXDOMAIN"
  std::vector<std::string> flags;  // "aa", "tc"
  std::vector<std::string> answer, authority;  // one record per line, presentation format
};

// A block with a `view` that the query was offered to, in the order they were tried.
struct ExplainView {
  std::string name;
  bool took = false;  // it serves the query (the last one tried)
  std::string why;    // "incidr(client_ip(), '127.0.0.2/32') is false"
};

struct Explanation {
  std::string name;  // "api.internal.company."
  std::string type;  // as asked: "A"
  std::string from;  // the client address the query came from
  std::vector<ExplainView> views;  // empty when no block on the way has a view
  bool served = false;  // a server block serves the name (else REFUSED)
  std::string zone;     // the block's zone
  uint16_t port = 0;
  std::string address;  // the listener's bind address, "" for every address
  bool tls = false;     // a tls:// listener: the query is asked as over TCP, the server shown tls://
  std::vector<ExplainStep> steps;  // every handler that decided, in order (silent ones too)
  ExplainReply reply;
};

enum class ExplainFormat : uint8_t { Text, Json, Mermaid };

void writeText(const Explanation& e, std::ostream& out);
void writeJson(const Explanation& e, std::ostream& out);
void writeMermaid(const Explanation& e, std::ostream& out);

}  // namespace moat::app
