// Owns the current Index of one hosts instance and keeps it in step with the file: the file is
// read once at start and, when a reload interval is set, polled on a thread of its own so no
// worker ever waits on the disk.
//
// Publishing is plugins/published.hpp's (dnsdist's sholder): a query costs one atomic load and
// touches no shared reference count. (GCC 12's std::atomic<std::shared_ptr> unlocks its spin
// bit with a relaxed store after reading, which is a data race on weakly ordered CPUs, and
// std::atomic_load takes a lock.)
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "dns/zone_set.hpp"
#include "plugins/hosts/hosts_file.hpp"
#include "plugins/hosts/index.hpp"
#include "plugins/published.hpp"

namespace moat::plugins::hosts {

class Store {
 public:
  // Reads `path` once (a missing or unreadable file yields the inline entries only; setup has
  // already reported it, so this first failure is not logged again).
  // `workers` is the number of event loops that will call view().
  Store(std::string path, std::vector<HostsEntry> inlined, dns::ZoneSet zones, bool reverse,
        size_t workers);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The index for a query on `worker`, valid until that worker's next call. Only that worker's
  // thread may use its slot; an index out of range (tools, tests) gets a copy kept in `hold`.
  const Index& view(unsigned worker, IndexPtr& hold);

  // The current index, under the lock (not for the query path).
  IndexPtr current() const;

  // Re-reads the file if its size, mtime or inode changed and publishes a new index; true when it
  // did. If the file cannot be read the last index stays and one warning is logged.
  bool refresh();

  // Calls refresh() every `interval` until destruction. Call at most once.
  void startPolling(std::chrono::nanoseconds interval);

  const std::string& path() const { return path_; }

  // What the last successful read of the file found, for coredns_hosts_entries{hostsfile} and
  // coredns_hosts_reload_timestamp_seconds: nullopt until the file was read once.
  struct Loaded {
    uint64_t entries = 0;   // Index::entries() of file and inline entries together
    double mtimeSeconds = 0;  // the file's modification time, Unix seconds
  };
  std::optional<Loaded> loaded() const;

 private:
  struct Stamp {
    off_t size = -1;
    timespec mtime{};
    ino_t inode = 0;
    dev_t device = 0;
  };

  const std::string path_;
  const std::vector<HostsEntry> inline_;
  const dns::ZoneSet zones_;
  const bool reverse_;

  // Touched only by the constructor and then the polling thread.
  Stamp last_;
  bool failureLogged_ = true;  // start quiet: setup reports a missing file itself

  Published<Index> published_;
  mutable std::mutex mu_;  // what the poller sleeps on
  // Written by refresh(), read by scrapes; a lock of its own so a scrape never holds up a
  // worker catching up on a new index.
  mutable std::mutex loadedMu_;
  Loaded loaded_;
  bool everLoaded_ = false;

  std::condition_variable_any wake_;
  std::jthread poller_;  // last: stopped and joined before anything it uses is destroyed
};

}  // namespace moat::plugins::hosts
