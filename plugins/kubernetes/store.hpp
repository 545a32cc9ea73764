// Owns the current Cluster snapshot of one kubernetes instance and keeps it in step with the
// objects files: loaded once, synchronously, at construction (a fresh server answers at once),
// then a thread polls the stat of every file and directory entry and rebuilds on change.
//
// Publishing follows hosts' Store (plugins/hosts/store.hpp): the poller swaps the snapshot under
// a mutex and bumps a generation; each worker keeps its own reference in a slot and takes the
// mutex only when the generation moved, i.e. once per reload. A query costs one atomic load and
// touches no shared reference count. Replaced snapshots are parked and freed by the poller once
// no slot holds them, so a worker never frees a large snapshot on the query path.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "plugins/kubernetes/model.hpp"

namespace moat::plugins::kubernetes {

class ClusterStore {
 public:
  // `workers`: the number of event loops that will call current(). `interval`: how often the
  // files are checked (0: never; CoreDNS's API watch reacts within a second or so).
  ClusterStore(std::vector<std::string> paths, size_t workers,
               std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~ClusterStore();
  ClusterStore(const ClusterStore&) = delete;
  ClusterStore& operator=(const ClusterStore&) = delete;

  // The snapshot for a query on `worker`, valid until that worker's next call. Never null: an
  // empty cluster until the first load succeeds. Only that worker's thread may use its slot. A
  // worker out of range (tools, tests) gets the current snapshot under the lock; snapshots
  // handed out that way stay alive until the store is destroyed.
  const Cluster* current(unsigned worker);

  // The current snapshot, under the lock (not for the query path).
  ClusterPtr snapshot() const;

  // True once a load succeeded (`ready` reports the plugin not ready until then).
  bool loaded() const { return loaded_.load(std::memory_order_acquire); }

  // Reloads if any file or directory entry changed since the last attempt (always on the first
  // call); true when a new snapshot was published. A failed load keeps the last snapshot and
  // logs the error once; the next change triggers a new attempt. Called by the poller; tests
  // and tools may call it when no poller runs (interval 0).
  bool refresh();

  const std::vector<std::string>& paths() const { return paths_; }

 private:
  // What a path looks like on disk. Directories contribute one stamp per object file inside
  // plus the `..data` link target, so the ConfigMap swap is seen even when the files' own
  // stats happen to match.
  struct Stamp {
    std::string path;
    int error = 0;  // errno of stat, 0: ok
    off_t size = -1;
    timespec mtime{};
    ino_t inode = 0;
    dev_t device = 0;
    std::string link;
    bool operator==(const Stamp& o) const;
  };
  static std::vector<Stamp> fingerprint(const std::vector<std::string>& paths);

  struct alignas(64) Slot {  // one cache line per worker: no false sharing between them
    uint64_t generation = 0;
    ClusterPtr cluster;
  };

  void publish(ClusterPtr next);
  void sweep();

  const std::vector<std::string> paths_;

  // Touched only by the constructor and then the polling thread.
  std::vector<Stamp> last_;
  bool attempted_ = false;

  mutable std::mutex mu_;  // guards cluster_, retired_, pinned_; the poller sleeps on it too
  ClusterPtr cluster_;
  std::vector<ClusterPtr> retired_;
  std::vector<ClusterPtr> pinned_;  // handed to out-of-range workers
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> loaded_{false};
  std::vector<Slot> slots_;

  std::condition_variable_any wake_;
  std::jthread poller_;  // last: stopped and joined before anything it uses is destroyed
};

}  // namespace moat::plugins::kubernetes
