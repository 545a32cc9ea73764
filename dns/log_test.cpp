// Process logging when stdout stops draining: neither logger may block its caller (a worker),
// and flush() gives up in bounded time.
#include "dns/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <doctest/doctest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

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

// Keeps every message it is given, as one string each.
class MessageSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> messages;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    messages.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
};

TEST_CASE("a worker's query-log lines reach the logger as one message once its handler returns") {
  auto sink = std::make_shared<MessageSink>();
  spdlog::logger out("gathered-test", sink);
  // On a thread of its own: collectLinesOn marks the calling thread for good.
  std::thread([&] {
    boost::asio::io_context loop(1);
    collectLinesOn(loop);
    size_t seenInside = 99;
    boost::asio::post(loop, [&] {
      logQueryLine(out, "first");
      logQueryLine(out, "second");
      logQueryLine(out, "third");
      seenInside = sink->messages.size();
    });
    loop.run();
    CHECK(seenInside == 0);
    REQUIRE(sink->messages.size() == 1);
    CHECK(sink->messages[0] == "first\nsecond\nthird");

    // A handler that logs more than a batch's worth hands over before it returns.
    sink->messages.clear();
    const std::string line(1000, 'x');
    loop.restart();
    boost::asio::post(loop, [&] {
      for (size_t i = 0; i < kLineBatchBytes / line.size() + 1; ++i) logQueryLine(out, line);
      seenInside = sink->messages.size();
      logQueryLine(out, "tail");
    });
    loop.run();
    CHECK(seenInside == 1);
    REQUIRE(sink->messages.size() == 2);
    CHECK(sink->messages[1] == "tail");

    // What is gathered when the loop stops is handed over by flushLines().
    sink->messages.clear();
    logQueryLine(out, "last words");
    CHECK(sink->messages.empty());
    flushLines();
    REQUIRE(sink->messages.size() == 1);
    CHECK(sink->messages[0] == "last words");
  }).join();

  // Any other thread logs each line at once.
  sink->messages.clear();
  logQueryLine(out, "direct");
  REQUIRE(sink->messages.size() == 1);
  CHECK(sink->messages[0] == "direct");
}

TEST_CASE("typeFromName reverses typeName exactly, case and all, as miekg/dns's StringToType") {
  for (uint16_t type : {uint16_t{0}, uint16_t{1}, uint16_t{23}, uint16_t{28}, uint16_t{65}, uint16_t{257},
                        uint16_t{32769}, uint16_t{65535}}) {
    CAPTURE(type);
    CHECK(typeFromName(typeName(type)) == type);
  }
  CHECK(typeFromName("NSAP-PTR") == 23);
  CHECK_FALSE(typeFromName("aaaa"));
  CHECK_FALSE(typeFromName("TYPE28"));
  CHECK_FALSE(typeFromName(""));
}

}  // namespace
}  // namespace moat::logging
