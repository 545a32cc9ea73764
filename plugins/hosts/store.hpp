// Owns the current Index of one hosts instance and keeps it in step with the file: the file is
// read once at start and, when a reload interval is set, polled on a thread of its own so no
// worker ever waits on the disk. Queries take the index with one atomic load, never a lock.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "dns/zone_set.hpp"
#include "plugins/hosts/hosts_file.hpp"
#include "plugins/hosts/index.hpp"

namespace moat::plugins::hosts {

class Store {
 public:
  // Reads `path` once (a missing or unreadable file yields the inline entries only; setup has
  // already reported it, so this first failure is not logged again).
  Store(std::string path, std::vector<HostsEntry> inlined, dns::ZoneSet zones, bool reverse);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  IndexPtr current() const { return index_.load(std::memory_order_acquire); }

  // Re-reads the file if its size or mtime changed and publishes a new index; true when it
  // did. If the file cannot be read the last index stays and one warning is logged.
  bool refresh();

  // Calls refresh() every `interval` until destruction. Call at most once.
  void startPolling(std::chrono::nanoseconds interval);

  const std::string& path() const { return path_; }

 private:
  struct Stamp {
    off_t size = -1;
    timespec mtime{};
  };

  const std::string path_;
  const std::vector<HostsEntry> inline_;
  const dns::ZoneSet zones_;
  const bool reverse_;

  // Touched only by the constructor and then the polling thread.
  Stamp last_;
  bool failureLogged_ = true;  // start quiet: setup reports a missing file itself

  std::atomic<IndexPtr> index_;

  std::mutex mu_;
  std::condition_variable_any wake_;
  std::jthread poller_;  // last: stopped and joined before anything it uses is destroyed
};

}  // namespace moat::plugins::hosts
