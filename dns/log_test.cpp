// Process logging when stdout stops draining: neither logger may block its caller (a worker),
// and flush() gives up in bounded time.
#include "dns/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace moat::logging {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a stdout nobody reads blocks neither logger's callers, and flush() gives up in time") {
  std::fflush(stdout);
  int pipeFds[2];
  REQUIRE(::pipe2(pipeFds, O_CLOEXEC) == 0);
  const int saved = ::dup(STDOUT_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(pipeFds[1], STDOUT_FILENO) >= 0);
  setup(true);

  // ~100 bytes a line, 40 000 lines: far beyond the pipe's 64 KiB and the queue's 8192 slots.
  auto writer = std::async(std::launch::async, [] {
    for (int i = 0; i < 20000; ++i) {
      spdlog::error("plugin/errors: 2 name-{}.example. A: upstream unreachable, padding the line out", i);
      queryLog().info("[INFO] 127.0.0.1:5353 - {} \"A IN name.example. udp 41 false 512\" NOERROR", i);
    }
  });
  const bool returned = writer.wait_for(5s) == std::future_status::ready;
  CHECK(returned);
  const auto start = std::chrono::steady_clock::now();
  flush();
  CHECK(std::chrono::steady_clock::now() - start < 4s);

  // Let the log thread go (drain the pipe while it finishes), then give stdout back.
  const int flags = ::fcntl(pipeFds[0], F_GETFL);
  ::fcntl(pipeFds[0], F_SETFL, flags | O_NONBLOCK);
  char buf[65536];
  size_t drained = 0;
  std::string head;
  auto drainFor = [&](std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      const ssize_t n = ::read(pipeFds[0], buf, sizeof buf);
      if (n > 0) {
        if (head.size() < 4096) head.append(buf, static_cast<size_t>(n));
        drained += static_cast<size_t>(n);
      } else {
        std::this_thread::sleep_for(5ms);
      }
    }
  };
  auto flushing = std::async(std::launch::async, [] { flush(); });
  drainFor(500ms);
  flushing.wait();
  drainFor(100ms);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(pipeFds[0]);
  ::close(pipeFds[1]);
  if (!returned) writer.wait();
  CHECK(drained > 64 * 1024);
  // The level prefix is added to the default logger's lines; the query log's are verbatim.
  // Which line comes first depends on how many the full queue dropped (oldest first), so
  // only the shape of the lines is checked, not their numbers.
  CHECK(head.find("\n[ERROR] plugin/errors: 2 name-") != std::string::npos);
  CHECK(head.find("\n[INFO] 127.0.0.1:5353 - ") != std::string::npos);
  CHECK(head.find("[ERROR] [ERROR]") == std::string::npos);
  CHECK(head.find("[INFO] [INFO]") == std::string::npos);
}

}  // namespace
}  // namespace moat::logging
