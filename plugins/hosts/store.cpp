#include "plugins/hosts/store.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace moat::plugins::hosts {

namespace {

// Reads the whole of an open file; false (errno set) on a read error, e.g. EISDIR.
bool readAll(int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Store::Store(std::string path, std::vector<HostsEntry> inlined, dns::ZoneSet zones, bool reverse,
             size_t workers)
    : path_(std::move(path)),
      inline_(std::move(inlined)),
      zones_(std::move(zones)),
      reverse_(reverse),
      published_(workers) {
  // Queries must always find an index, even if the file never becomes readable.
  published_.publish(Index::build({}, inline_, reverse_));
  refresh();
}

Store::~Store() = default;

std::optional<Store::Loaded> Store::loaded() const {
  std::lock_guard lock(loadedMu_);
  if (!everLoaded_) return std::nullopt;
  return loaded_;
}

IndexPtr Store::current() const { return published_.current(); }

const Index& Store::view(unsigned worker, IndexPtr& hold) { return *published_.view(worker, hold); }

bool Store::refresh() {
  std::string text;
  struct stat st {};
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::fstat(fd, &st) == 0;
  // CoreDNS looks at size and mtime only. The inode is added because mtime ticks are coarse:
  // a same-sized file renamed into place within one tick would otherwise go unnoticed.
  const bool unchanged = ok && st.st_size == last_.size && st.st_ino == last_.inode &&
                         st.st_dev == last_.device && st.st_mtim.tv_sec == last_.mtime.tv_sec &&
                         st.st_mtim.tv_nsec == last_.mtime.tv_nsec;
  if (ok && !unchanged) ok = readAll(fd, text);
  const int err = errno;
  if (fd >= 0) ::close(fd);

  if (!ok) {
    // Keep serving what was loaded last: a file being replaced or briefly missing must not
    // empty the answers. Say so once per outage, not once per poll.
    if (!failureLogged_) {
      spdlog::warn("plugin/hosts: cannot read {}: {}; keeping the last {} entries", path_,
                   std::strerror(err), current()->entries());
      failureLogged_ = true;
    }
    return false;
  }
  failureLogged_ = false;
  if (unchanged) return false;

  IndexPtr next = Index::build(parseHostsText(text, zones_), inline_, reverse_);
  const size_t entries = next->entries();
  published_.publish(std::move(next));
  // The file's text and its parsed entries are gone; hand their pages back (glibc keeps freed
  // memory otherwise, and a big hosts file would hold its peak for good).
  std::string().swap(text);
  ::malloc_trim(0);
  {
    std::lock_guard lock(loadedMu_);
    loaded_.entries = entries;
    loaded_.mtimeSeconds = static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
    everLoaded_ = true;
  }
  last_ = Stamp{st.st_size, st.st_mtim, st.st_ino, st.st_dev};
  spdlog::debug("plugin/hosts: loaded {} ({} entries)", path_, entries);
  return true;
}

void Store::startPolling(std::chrono::nanoseconds interval) {
  poller_ = std::jthread([this, interval](std::stop_token stop) {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, stop, interval, [] { return false; });
      }  // not held while reading the file
      if (stop.stop_requested()) return;
      refresh();
      published_.sweep();
    }
  });
}

}  // namespace moat::plugins::hosts
