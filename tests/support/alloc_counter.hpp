// Counting heap allocations, for tests that prove a path does not allocate. Linking this file
// replaces the global operator new of the test binary (it is pulled in by the first use of
// `counting`); only the calling thread's allocations are counted, so helper threads (fake
// upstreams, pollers) do not disturb the count.
#pragma once

#include <cstddef>

namespace moat::testing {

extern thread_local bool counting;        // count while true
extern thread_local size_t allocations;   // operator new calls seen while counting

}  // namespace moat::testing
