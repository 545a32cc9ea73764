#include "plugins/kubernetes/store.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <utility>

#include "plugins/kubernetes/objects.hpp"

namespace moat::plugins::kubernetes {

namespace {

std::string where(const conf::Diag& d) { return d.pos.line > 0 ? d.pos.str() : d.pos.file; }

}  // namespace

bool ClusterStore::Stamp::operator==(const Stamp& o) const {
  return path == o.path && error == o.error && size == o.size && inode == o.inode &&
         device == o.device && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
         link == o.link;
}

std::vector<ClusterStore::Stamp> ClusterStore::fingerprint(const std::vector<std::string>& paths) {
  std::vector<Stamp> out;
  // Returns whether the path is a directory.
  auto add = [&](std::string path) {
    struct stat st {};
    Stamp& s = out.emplace_back();
    s.path = std::move(path);
    // stat follows symlinks: a file that is a link through ..data changes with its target.
    if (::stat(s.path.c_str(), &st) != 0) {
      s.error = errno;
      return false;
    }
    if (S_ISDIR(st.st_mode)) return true;  // its own stat changes with any temp file: not kept
    s.size = st.st_size;
    s.mtime = st.st_mtim;
    s.inode = st.st_ino;
    s.device = st.st_dev;
    return false;
  };
  for (const std::string& path : paths) {
    if (!add(path)) continue;
    std::error_code ec;
    std::vector<std::string> names;
    for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (isObjectFileName(name) || name == "..data") names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    const std::string dir = path.ends_with('/') ? path : path + '/';
    for (const std::string& name : names) {
      add(dir + name);
      if (name == "..data") {
        char target[4096];
        const ssize_t n = ::readlink((dir + name).c_str(), target, sizeof target);
        if (n > 0) out.back().link.assign(target, static_cast<size_t>(n));
      }
    }
    if (ec) out.emplace_back().path = path + " (" + ec.message() + ")";
  }
  return out;
}

ClusterStore::ClusterStore(std::vector<std::string> paths, size_t workers,
                           std::chrono::milliseconds interval)
    : paths_(std::move(paths)), slots_(workers == 0 ? 1 : workers) {
  // Queries must always find a snapshot, even if the files never load.
  publish(Cluster::Builder{}.build(0));
  refresh();
  if (interval.count() <= 0) return;
  poller_ = std::jthread([this, interval](std::stop_token stop) {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, stop, interval, [] { return false; });
      }  // not held while loading: publish() takes it
      if (stop.stop_requested()) return;
      try {
        refresh();
        sweep();
      } catch (const std::exception& e) {  // e.g. bad_alloc listing a directory: try again later
        spdlog::error("plugin/kubernetes: {}", e.what());
      }
    }
  });
}

ClusterStore::~ClusterStore() = default;  // poller_ (last member) is stopped and joined first

bool ClusterStore::refresh() {
  // The stamp is taken before reading, so a change made during the load is seen next time.
  std::vector<Stamp> stamp = fingerprint(paths_);
  if (attempted_ && stamp == last_) return false;
  attempted_ = true;
  last_ = std::move(stamp);

  const auto now = std::chrono::system_clock::now().time_since_epoch();
  auto result = loadObjects(
      paths_, static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count()));
  if (!result) {
    // Keep answering from the last good snapshot; one line per failed attempt (i.e. per change).
    spdlog::error("plugin/kubernetes: {}: {}", where(result.error()),
                  result.error().message);
    return false;
  }
  const std::string line = describeLoad(result.value()->stats());
  publish(std::move(result.value()));
  loaded_.store(true, std::memory_order_release);
  spdlog::info("plugin/kubernetes: {}", line);
  return true;
}

void ClusterStore::publish(ClusterPtr next) {
  std::lock_guard lock(mu_);
  // Workers may still hold the old snapshot in their slots; sweep() frees it later, off the
  // query path.
  if (cluster_) retired_.push_back(std::move(cluster_));
  cluster_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
}

void ClusterStore::sweep() {
  std::vector<ClusterPtr> unused;
  {
    std::lock_guard lock(mu_);
    // use_count() == 1: only this list can reach it, so no one can take a new reference.
    std::erase_if(retired_, [&](ClusterPtr& p) {
      if (p.use_count() != 1) return false;
      unused.push_back(std::move(p));
      return true;
    });
  }
  // Freed here, after the lock, so a worker catching up on a generation never waits on it.
}

ClusterPtr ClusterStore::snapshot() const {
  std::lock_guard lock(mu_);
  return cluster_;
}

const Cluster* ClusterStore::current(unsigned worker) {
  if (worker >= slots_.size()) {
    std::lock_guard lock(mu_);
    if (pinned_.empty() || pinned_.back() != cluster_) pinned_.push_back(cluster_);
    return cluster_.get();
  }
  Slot& slot = slots_[worker];
  if (slot.generation != generation_.load(std::memory_order_acquire)) {
    ClusterPtr previous;  // never the last reference (see publish), so dropping it is cheap
    std::lock_guard lock(mu_);
    previous = std::exchange(slot.cluster, cluster_);
    slot.generation = generation_.load(std::memory_order_relaxed);
  }
  return slot.cluster.get();
}

}  // namespace moat::plugins::kubernetes
