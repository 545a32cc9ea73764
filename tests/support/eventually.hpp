// Polls `check` until it holds or `limit` has passed, for a state a test cannot be told about
// (a reload applied, a file noticed, a counter moved). Not for a listener: a test waits for the
// listener it uses (server_process.hpp). Checked once more at the deadline, so a check that
// turns true during the last sleep still counts.
#pragma once

#include <chrono>
#include <thread>

namespace moat::testing {

template <class Check>
bool eventually(Check&& check, std::chrono::milliseconds limit = std::chrono::seconds(10),
                std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!check()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

}  // namespace moat::testing
