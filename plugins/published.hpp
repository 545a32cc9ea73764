// A value the workers read on every query and a background thread replaces now and then (a
// zone file reloaded, a transfer finished). dnsdist's sholder pattern: the writer swaps the
// value under a mutex and bumps a generation; each worker keeps its own reference and takes the
// mutex only when the generation moved, so a query costs one atomic load and touches no shared
// reference count. (GCC 12's std::atomic<std::shared_ptr> is not usable here; see
// plugins/hosts/store.hpp.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace moat::plugins {

template <class T>
class Published {
 public:
  using Ptr = std::shared_ptr<const T>;

  explicit Published(size_t workers) : slots_(workers == 0 ? 1 : workers) {}

  // The value for a query on `worker`, valid until that worker's next call; null until the
  // first publish. Only that worker's thread may use its slot; a worker out of range (tools,
  // tests) gets a reference kept in `hold`.
  const T* view(unsigned worker, Ptr& hold) {
    if (worker >= slots_.size()) {
      hold = current();
      return hold.get();
    }
    Slot& slot = slots_[worker];
    if (slot.generation != generation_.load(std::memory_order_acquire)) {
      Ptr previous;  // never the last reference (see publish), so dropping it is cheap
      std::lock_guard lock(mu_);
      previous = std::exchange(slot.value, value_);
      slot.generation = generation_.load(std::memory_order_relaxed);
    }
    return slot.value.get();
  }

  Ptr current() const {
    std::lock_guard lock(mu_);
    return value_;
  }

  void publish(Ptr next) {
    std::lock_guard lock(mu_);
    // Workers still hold the old value; parking it means the last of them to move on never
    // frees a large value on a query thread. sweep() frees it later.
    if (value_) retired_.push_back(std::move(value_));
    value_ = std::move(next);
    generation_.fetch_add(1, std::memory_order_release);
  }

  // Frees retired values no worker holds any more. Call from the writer's thread.
  void sweep() {
    std::vector<Ptr> unused;
    std::lock_guard lock(mu_);
    std::erase_if(retired_, [&](Ptr& p) {
      if (p.use_count() != 1) return false;
      unused.push_back(std::move(p));
      return true;
    });
    // `unused` is destroyed after the lock is released (declared before the guard).
  }

 private:
  struct alignas(64) Slot {  // one cache line per worker: no false sharing between them
    uint64_t generation = 0;
    Ptr value;
  };

  mutable std::mutex mu_;
  Ptr value_;
  std::vector<Ptr> retired_;
  std::atomic<uint64_t> generation_{0};
  std::vector<Slot> slots_;
};

}  // namespace moat::plugins
