// How a plugin plugs in: its name, whether it may appear once per block, and a setup function
// that turns the block's stanzas of that directive into a handler. registry.cpp lists them in
// execution order (DESIGN.md §3).
#pragma once

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "dns/server/http_route.hpp"
#include "plugins/egress.hpp"
#include "plugins/handler.hpp"

namespace boost::asio {
class io_context;
}

namespace moat::plugins {

using dns::server::HttpResponse;
using dns::server::HttpRoute;

struct SetupContext {
  const conf::ServerBlock* block = nullptr;
  std::vector<std::string> zones;                // the block's zones, normalised ("example.org.")
  // The block's view name (`view NAME`), empty when it has none: the `view` label of metrics.
  std::string view;
  // The addresses the block's `bind` directives resolved to (interfaces expanded, `except`
  // applied), empty without bind; filled by the runtime before any plugin is set up.
  std::vector<std::string> listenAddresses;
  std::vector<const conf::Directive*> stanzas;   // this plugin's directives in the block, in order
  std::string baseDir;                           // the Corefile's directory, for relative paths
  std::span<boost::asio::io_context* const> loops;  // one event loop per worker
  std::vector<conf::Diag>* warnings = nullptr;   // non-fatal findings (start-up prints them)
  std::vector<HttpRoute>* http = nullptr;        // routes the plugins serve (whole process)
  std::chrono::milliseconds* lameduck = nullptr;  // health's shutdown delay (whole process: the longest)
  // Handlers that report readiness in every block that loads `ready` (whole process). Filled
  // by the runtime after each such block's chain is built, so `ready` reads it lazily.
  std::shared_ptr<const std::vector<std::shared_ptr<const Readiness>>> readiness;
  // The private zones of the whole configuration (built-ins and every `private` stanza): what
  // the egress check and the private answer consult. Never null once the runtime built it.
  PrivateZonesPtr privateZones;
};

struct PluginSpec {
  std::string_view name;
  bool once = true;  // a second stanza in one block is an error (CoreDNS plugin.ErrOnce)
  // Builds the handler; nullptr with no error means "configures the server, no query path role".
  conf::Result<HandlerPtr> (*setup)(const SetupContext&) = nullptr;
  bool always = false;  // set up in every block, with or without a stanza (private)
};


// Moat's plugins, in execution order.
std::span<const PluginSpec> registry();
const PluginSpec* findPlugin(std::string_view name);

// CoreDNS plugins Moat does not implement (an error at start), and those safe to ignore (a
// warning): lets config checks tell a typo from a missing plugin.
bool isCoreDnsPlugin(std::string_view name);
bool isIgnorablePlugin(std::string_view name);
std::span<const std::string_view> coreDnsPluginNames();

// The closest plugin name (CoreDNS's or Moat's own) within two edits of `word`, for "did you
// mean"; empty when nothing is that close.
std::string suggestPlugin(std::string_view word);

}  // namespace moat::plugins
