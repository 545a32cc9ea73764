#include "plugins/hosts/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

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

Store::Store(std::string path, std::vector<HostsEntry> inlined, dns::ZoneSet zones, bool reverse)
    : path_(std::move(path)),
      inline_(std::move(inlined)),
      zones_(std::move(zones)),
      reverse_(reverse) {
  // Queries must always find an index, even if the file never becomes readable.
  index_.store(Index::build({}, inline_, reverse_));
  refresh();
}

Store::~Store() = default;

bool Store::refresh() {
  std::string text;
  struct stat st {};
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::fstat(fd, &st) == 0;
  const bool unchanged = ok && st.st_size == last_.size &&
                         st.st_mtim.tv_sec == last_.mtime.tv_sec &&
                         st.st_mtim.tv_nsec == last_.mtime.tv_nsec;
  if (ok && !unchanged) ok = readAll(fd, text);
  const int err = errno;
  if (fd >= 0) ::close(fd);

  if (!ok) {
    // Keep serving what was loaded last: a file being replaced or briefly missing must not
    // empty the answers. Say so once per outage, not once per poll.
    if (!failureLogged_) {
      spdlog::warn("[WARNING] plugin/hosts: cannot read {}: {}; keeping the last {} entries",
                   path_, std::strerror(err), current()->entries());
      failureLogged_ = true;
    }
    return false;
  }
  failureLogged_ = false;
  if (unchanged) return false;

  IndexPtr next = Index::build(parseHostsText(text, zones_), inline_, reverse_);
  // Metrics (issue 5): set coredns_hosts_entries{hostsfile=path_} to next->entries() and
  // coredns_hosts_reload_timestamp_seconds to the file's mtime here.
  index_.store(std::move(next), std::memory_order_release);
  last_ = Stamp{st.st_size, st.st_mtim};
  spdlog::debug("plugin/hosts: loaded {} ({} entries)", path_, current()->entries());
  return true;
}

void Store::startPolling(std::chrono::nanoseconds interval) {
  poller_ = std::jthread([this, interval](std::stop_token stop) {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, stop, interval, [] { return false; });
      }
      if (stop.stop_requested()) return;
      refresh();
    }
  });
}

}  // namespace moat::plugins::hosts
