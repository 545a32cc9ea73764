// Corefile AST -> everything the server needs: the listeners to bind and, per listener, the
// zones it serves with each server block's chain. Checks what CoreDNS checks at start-up
// (unknown and repeated directives, duplicate zones on a listener) with file:line:col.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "dns/server/http_route.hpp"
#include "dns/server/server.hpp"
#include "plugins/chain.hpp"

namespace moat::app {

struct BuildOptions {
  uint16_t defaultPort = 53;                       // -dns.port
  std::span<boost::asio::io_context* const> loops;  // the server's workers
};

struct Runtime {
  std::shared_ptr<const plugins::RouteTable> routes;
  std::vector<dns::server::ListenSpec> listeners;  // id = index into routes->listeners
  std::vector<std::string> banner;                 // "example.org.:1053" per served zone, as CoreDNS prints
  std::vector<conf::Diag> warnings;
  std::vector<dns::server::HttpRoute> http;        // health, ready, metrics: bound by the program
  std::chrono::milliseconds lameduck{0};           // health's lameduck: serve this long after SIGTERM
};

// Directive names a block uses that Moat cannot run: unknown (with did-you-mean), or a CoreDNS
// plugin Moat lacks. Ignorable plugins (debug, pprof) come back as warnings.
conf::Result<bool> checkDirectives(const conf::ServerBlock& block, std::vector<conf::Diag>& warnings);

conf::Result<Runtime> buildRuntime(const conf::Corefile& corefile, const BuildOptions& options);

}  // namespace moat::app
