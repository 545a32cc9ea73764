#include "cmd/file_limit.hpp"

#include <sys/resource.h>

#include "plugins/forward/udp_pool.hpp"

namespace moat::app {

std::string raiseFileLimit(size_t workers) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  // Listeners, TCP connections and files besides the pools.
  constexpr rlim_t kOther = 1024;
  const rlim_t wanted = static_cast<rlim_t>(workers) * plugins::forward::UdpPool::kSize + kOther;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return {};
  return "open-file limit is " + std::to_string(limit.rlim_cur) + ", below the " +
         std::to_string(wanted) + " that forward's outgoing sockets may use with " +
         std::to_string(workers) +
         " workers: queries will share fewer source ports (raise LimitNOFILE or ulimit -n)";
}

}  // namespace moat::app
