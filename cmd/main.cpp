// moat: serve DNS from a Corefile, like CoreDNS.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "cmd/explain.hpp"
#include "cmd/file_limit.hpp"
#include "cmd/flags.hpp"
#include "cmd/reload.hpp"
#include "cmd/runtime.hpp"
#include "cmd/server_metrics.hpp"
#include "cmd/version.hpp"
#include "conf/parser.hpp"
#include "dns/log.hpp"
#include "dns/server/http.hpp"
#include "dns/server/server.hpp"
#include "lint/lint.hpp"
#include "plugins/plugin.hpp"
#include "plugins/reload/reload.hpp"
#include "plugins/ready/ready.hpp"

namespace {

using namespace moat;

// -conf, else ./Corefile, else the shipped default (next to the sources, or ./conf/Corefile).
std::string pickCorefile(const app::Flags& flags) {
  if (!flags.conf.empty()) return flags.conf;
  for (const char* candidate : {"Corefile", "conf/Corefile", MOAT_DEFAULT_COREFILE}) {
    if (std::filesystem::is_regular_file(candidate)) return candidate;
  }
  return "Corefile";
}

int printPlugins() {
  std::printf("Server types:\n  dns\n\nCaddyfile loaders:\n  flag\n  default\n\nOther plugins:\n");
  std::vector<std::string_view> names;
  for (const auto& spec : plugins::registry()) names.push_back(spec.name);
  std::sort(names.begin(), names.end());
  for (auto n : names) std::printf("  dns.%.*s\n", static_cast<int>(n.size()), n.data());
  return 0;
}

int serve(const app::Flags& flags) {
  std::string path = pickCorefile(flags);
  std::vector<conf::Diag> parseWarnings;
  conf::ParseOptions popts;
  popts.warnings = &parseWarnings;
  auto corefile = conf::loadCorefile(path, popts);
  if (!corefile) {
    std::fprintf(stderr, "%s\n", corefile.error().str().c_str());
    return 1;
  }

  logging::setup(flags.quiet);
  for (const auto& w : parseWarnings) spdlog::warn("{}", w.str());

  dns::server::Server server({});
  if (auto warning = app::raiseFileLimit(server.workerCount()); !warning.empty()) {
    spdlog::warn("{}", warning);
  }
  auto runtime = app::buildRuntime(*corefile, {flags.dnsPort.value_or(53), server.loops()});
  if (!runtime) {
    std::fprintf(stderr, "%s\n", runtime.error().str().c_str());
    return 1;
  }
  for (const auto& w : runtime->warnings) spdlog::warn("{}", w.str());

  plugins::ChainRunner runner(server.workerCount());
  runner.publish(runtime->routes);
  std::string error;
  // The server's own counters for /metrics (moat_malformed_packets_total, ...). Declared
  // after server and runner, and only scraped by `http`, which stops before either goes;
  // registered before any listener is bound, so the first scrape already has them.
  auto serverMetrics = std::make_shared<app::ServerMetrics>(server, runner);
  plugins::registerMetricSource(std::weak_ptr<const plugins::MetricSource>(serverMetrics));
  // health, ready (and metrics) are bound first, DNS last: a DNS port that accepts means every
  // listener of the process is bound (what tests and orchestrators probe for), and the HTTP
  // sites serve as soon as DNS starts.
  dns::server::HttpServer http;
  if (!runtime->http.empty() && !http.listen(runtime->http, error)) {
    std::fprintf(stderr, "listen %s\n", error.c_str());
    return 1;
  }
  if (!server.listen(runtime->listeners, runner, error)) {
    std::fprintf(stderr, "listen %s\n", error.c_str());
    return 1;
  }
  if (!flags.pidfile.empty()) std::ofstream(flags.pidfile) << getpid() << "\n";

  // Signals are taken on the main thread; workers never see them.
  boost::asio::io_context main;
  boost::asio::signal_set signals(main, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("[{}] Stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    main.stop();
  });
  std::signal(SIGPIPE, SIG_IGN);

  // SIGUSR1 reloads; a `reload` stanza also checks the file on its interval.
  std::optional<app::Reloader> reloader;
  reloader.emplace(path, app::BuildOptions{flags.dnsPort.value_or(53), server.loops()}, runner,
                   runtime->listeners, plugins::reload::corefileHash(*corefile), &server);
  // coredns_reload_failed_total stays on /metrics through lameduck, after the reloader is gone.
  const std::shared_ptr<const app::ReloadStats> reloadStats = reloader->stats();
  auto reloadConfig = plugins::reload::findConfig(*corefile);  // already validated by the build
  if (reloadConfig.ok() && reloadConfig->has_value()) {
    reloader->schedule(main, (*reloadConfig)->interval, (*reloadConfig)->jitter);
    spdlog::info("plugin/reload: Running configuration SHA512 = {}", reloader->hash());
  } else {
    reloader->schedule(main, std::nullopt, std::chrono::milliseconds(0));
  }

  http.start();
  server.start();
  if (!flags.quiet) {
    for (const auto& line : runtime->banner) std::printf("%s\n", line.c_str());
    std::printf("%s\n%s\n", app::versionLine().c_str(), app::platformLine().c_str());
    std::fflush(stdout);
  }
  main.run();
  reloader.reset();  // no reloads while shutting down
  // /ready turns 503 at once; health's lameduck keeps DNS and HTTP serving that long so load
  // balancers drain first. A second signal cuts the wait short.
  plugins::ready::setShuttingDown(true);
  if (runtime->lameduck.count() > 0) {
    spdlog::info("plugin/health: Going into lameduck mode for {}ms", runtime->lameduck.count());
    main.restart();
    boost::asio::steady_timer lameduck(main, runtime->lameduck);
    lameduck.async_wait([&](const boost::system::error_code&) { main.stop(); });
    signals.async_wait([&](const boost::system::error_code&, int) { main.stop(); });
    main.run();
  }
  server.stop();
  http.stop();
  logging::flush();
  if (!flags.pidfile.empty()) std::filesystem::remove(flags.pidfile);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // ldns allocates and frees about 200 KiB for each record it parses (line and RDATA buffers
  // of their largest size). Under glibc's default 128 KiB trim threshold every record grew and
  // shrank the heap with brk, and while a second thread loads the other half of a large zone
  // each shrink also flushes that CPU's TLB: a million-record zone took 25 s of CPU, not 2.
  // Up to 8 MiB freed at the heap's top is kept instead.
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  // Subcommands first: their flags are their own.
  if (argc > 1 && (std::string_view(argv[1]) == "lint" || std::string_view(argv[1]) == "explain")) {
    const std::vector<std::string> args(argv + 2, argv + argc);
    if (std::string_view(argv[1]) == "lint") return lint::runLint(args, std::cin, std::cout, std::cerr);
    return app::runExplain(args, std::cout, std::cerr);
  }
  std::string error;
  auto flags = app::parseFlags({argv + 1, argv + argc}, error);
  if (!flags) {
    std::fprintf(stderr, "%s\n%s", error.c_str(), app::usage().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(app::usage().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("%s\n%s\n", app::versionLine().c_str(), app::platformLine().c_str());
    return 0;
  }
  if (flags->plugins) return printPlugins();
  return serve(*flags);
}
