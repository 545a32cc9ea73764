// `consolidate`: errors matching a rule are counted instead of printed, and once per period
// one summary line says how many there were. A period starts with the first matching error;
// a small timer thread ends it. Counting is lock-free; only the first error of a period
// takes a lock (to arm the timer).
#pragma once

#include <spdlog/common.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "plugins/errors/config.hpp"

namespace moat::plugins::errors {

// Go's time.Duration.String(): "30s", "5m0s", "1h0m0s", "1.5s", "500ms", "1.5µs", "0s".
std::string goDuration(std::chrono::nanoseconds d);

class Consolidator {
 public:
  using Emit = std::function<void(spdlog::level::level_enum, std::string_view)>;

  Consolidator(std::vector<ConsolidateRule> rules, Emit emit);
  // Ends every open period at once, printing its summary (CoreDNS does so on shutdown).
  ~Consolidator();
  Consolidator(const Consolidator&) = delete;
  Consolidator& operator=(const Consolidator&) = delete;

  // Index of the first rule whose pattern occurs in `error`, or nullopt.
  std::optional<size_t> match(std::string_view error) const;

  // Counts one error for rule `i`. False means "print this one yourself" (the first error of
  // a period with show_first, or any error once stopping); true means it was folded in.
  bool fold(size_t i);

  const ConsolidateRule& rule(size_t i) const { return slots_[i].rule; }

 private:
  struct Slot {
    ConsolidateRule rule;
    std::atomic<uint32_t> count{0};
    std::optional<std::chrono::steady_clock::time_point> deadline;  // guarded by mutex_
  };

  void report(size_t i);
  void run(std::stop_token stop);

  std::vector<Slot> slots_;
  Emit emit_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable_any wake_;
  bool rescheduled_ = false;  // guarded by mutex_
  std::jthread timer_;        // last: started once everything above exists
};

}  // namespace moat::plugins::errors
