// The open-file limit. forward sends each query from one of UdpPool::kSize sockets per worker,
// so a busy server holds a few thousand descriptors; the common default soft limit of 1024
// would make it reuse sockets sooner than it should.
#pragma once

#include <cstddef>
#include <string>

namespace moat::app {

// Raises the soft RLIMIT_NOFILE to the hard limit. Returns a warning when even that is below
// what `workers` full socket pools need (empty when it is enough).
std::string raiseFileLimit(size_t workers);

}  // namespace moat::app
