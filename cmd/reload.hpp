// Reloading the Corefile while serving (CoreDNS's reload plugin and SIGUSR1): the file is
// parsed and its hash compared; a changed configuration is built off the data path and
// published to the chain runner in one step. Queries in flight finish on the chain they started
// on. A Corefile that does not parse or build keeps the running configuration and says where.
// Listeners that stay in the new configuration stay bound (no window where they refuse); new
// ones are bound before the new configuration is published, and dropped ones closed after. A
// listener that cannot be bound fails the reload and the running configuration stays.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cmd/runtime.hpp"
#include "plugins/chain.hpp"
#include "plugins/metric_source.hpp"

namespace moat::app {

// coredns_reload_failed_total: counted on the main thread, read by scrapes on the HTTP thread.
class ReloadStats final : public plugins::MetricSource {
 public:
  void countFailure() { failures_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  void collect(std::vector<plugins::MetricSample>& out) const override;

 private:
  std::atomic<uint64_t> failures_{0};
};

class Reloader {
 public:
  enum class Outcome { Unchanged, Reloaded, Failed };

  // `server` binds and closes listeners; null refuses reloads that change them.
  Reloader(std::string path, BuildOptions options, plugins::ChainRunner& runner,
           std::vector<dns::server::ListenSpec> bound, std::string hash,
           dns::server::Server* server = nullptr);

  // What asked for the check: the `reload` interval applies a changed Corefile only; a signal
  // also applies an unchanged one whose `bind IFACE` addresses moved since it was loaded (as
  // CoreDNS restarts on its signal and binds what the interfaces have then), or that has a
  // `tls` directive (its certificate files may have been renewed).
  enum class Trigger { Interval, Signal };

  // Re-reads the Corefile and applies it if it changed. Runs on the caller's thread (the main
  // thread), never on a worker.
  Outcome check(Trigger trigger = Trigger::Interval);

  const std::string& hash() const { return hash_; }
  uint64_t failures() const { return stats_->failures(); }
  // Registered as a metric source by the constructor; keep a reference to go on exporting the
  // count after the Reloader is gone (shutdown).
  std::shared_ptr<const ReloadStats> stats() const { return stats_; }

  // SIGUSR1 always reloads; with a `reload` stanza the file is also checked every
  // interval ± jitter. Both run on `main`.
  void schedule(boost::asio::io_context& main, std::optional<std::chrono::milliseconds> interval,
                std::chrono::milliseconds jitter);

 private:
  void fail(const std::string& why);
  void armTimer();
  void armSignal();

  std::string path_;
  BuildOptions options_;
  plugins::ChainRunner& runner_;
  dns::server::Server* server_ = nullptr;
  std::vector<dns::server::ListenSpec> bound_;
  std::string hash_;
  std::string lastFailure_;  // logged once per distinct failure, not on every tick
  std::shared_ptr<ReloadStats> stats_ = std::make_shared<ReloadStats>();  // every failed check

  std::optional<boost::asio::steady_timer> timer_;
  std::optional<boost::asio::signal_set> signals_;
  std::chrono::milliseconds interval_{0}, jitter_{0};
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace moat::app
