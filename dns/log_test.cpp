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

// stdout turned into a pipe that nobody reads until the test does: the log thread blocks on
// it as on a terminal nobody drains. restore() (or the destructor) gives stdout back.
struct StdoutPipe {
  int readEnd = -1;
  int writeEnd = -1;
  int saved = -1;

  StdoutPipe() {
    std::fflush(stdout);
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    readEnd = fds[0];
    writeEnd = fds[1];
    saved = ::dup(STDOUT_FILENO);
    REQUIRE(saved >= 0);
    REQUIRE(::dup2(writeEnd, STDOUT_FILENO) >= 0);
  }
  ~StdoutPipe() { restore(); }
  StdoutPipe(const StdoutPipe&) = delete;
  StdoutPipe& operator=(const StdoutPipe&) = delete;

  void readWithoutBlocking() const {
    ::fcntl(readEnd, F_SETFL, ::fcntl(readEnd, F_GETFL) | O_NONBLOCK);
  }
  void restore() {
    if (saved < 0) return;
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    ::close(readEnd);
    ::close(writeEnd);
    saved = -1;
  }
};

TEST_CASE("a stdout nobody reads blocks neither logger's callers, and flush() gives up in time") {
  StdoutPipe out;
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
  out.readWithoutBlocking();
  char buf[65536];
  size_t drained = 0;
  std::string head;
  auto drainFor = [&](std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      const ssize_t n = ::read(out.readEnd, buf, sizeof buf);
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
  out.restore();
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

TEST_CASE("query-log lines a full queue drops are counted, each one, and a warning says how many") {
  StdoutPipe out;
  setup(true);
  const uint64_t droppedBefore = droppedQueryLines();

  // A stdout nobody reads: the log thread blocks once the pipe is full, the queue fills up
  // behind it, and from then on every line is dropped and counted.
  constexpr uint64_t kLines = 20000;
  auto writer = std::async(std::launch::async, [] {
    for (uint64_t i = 0; i < kLines; ++i) {
      logQueryLine(queryLog(), fmt::format("[INFO] 127.0.0.1:5353 - {} \"A IN name.example. udp 41 false 512\" NOERROR", i));
    }
  });
  const bool returned = writer.wait_for(5s) == std::future_status::ready;
  CHECK(returned);
  const uint64_t dropped = droppedQueryLines() - droppedBefore;
  CHECK(dropped > 0);
  CHECK(dropped <= kLines - kQueryQueueSize);  // a full queue's worth was kept

  // Now read stdout: every line is either written or counted, exactly.
  out.readWithoutBlocking();
  std::string text;
  char buf[65536];
  auto written = [&] {
    uint64_t n = 0;
    for (size_t at = 0; (at = text.find("[INFO] 127.0.0.1:5353 - ", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (written() + dropped < kLines && std::chrono::steady_clock::now() < until) {
    const ssize_t n = ::read(out.readEnd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  auto flushing = std::async(std::launch::async, [] { flush(); });
  while (flushing.wait_for(1ms) != std::future_status::ready) {
    const ssize_t n = ::read(out.readEnd, buf, sizeof buf);
    if (n > 0) text.append(buf, static_cast<size_t>(n));
  }
  for (ssize_t n; (n = ::read(out.readEnd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  out.restore();
  if (!returned) writer.wait();
  CHECK(written() + dropped == kLines);
  CHECK(droppedQueryLines() - droppedBefore == dropped);  // nothing counted after the writer stopped
  // The log thread wrote the warning itself, once (a minute has not passed), naming a number
  // no larger than what was dropped.
  const size_t warning = text.find("[WARNING] plugin/log: ");
  REQUIRE(warning != std::string::npos);
  CHECK(text.find("[WARNING] plugin/log: ", warning + 1) == std::string::npos);
  const uint64_t named = std::stoull(text.substr(warning + 22));
  CHECK(named > 0);
  CHECK(named <= dropped);
  CHECK(text.find("query log lines dropped since the last warning", warning) != std::string::npos);
}

TEST_CASE("DropWarning: at most one warning a minute, each naming the lines dropped since the last") {
  using Clock = DropWarning::Clock;
  const Clock::time_point t0{};  // the test's own clock: time points it chooses
  DropWarning w;
  CHECK(w.due(t0, 0) == 0);                      // nothing dropped: nothing to say
  CHECK(w.due(t0 + 1s, 5) == 5);                 // the first drop is reported at once
  CHECK(w.due(t0 + 2s, 9) == 0);                 // within the minute: held back
  CHECK(w.due(t0 + 60s, 12) == 0);               // 59 s after the last warning: still held
  CHECK(w.due(t0 + 61s, 12) == 7);               // a minute on: the 7 since the last warning
  CHECK(w.reported() == 12);
  CHECK(w.due(t0 + 200s, 12) == 0);              // nothing new: no warning, however long after
  CHECK(w.due(t0 + 200s + 1ms, 13) == 1);        // the next drop after a quiet spell: at once
  CHECK(w.due(t0 + 230s, 20) == 0);

  DropWarning fast(10s);  // the interval is the caller's
  CHECK(fast.due(t0, 1) == 1);
  CHECK(fast.due(t0 + 9s, 2) == 0);
  CHECK(fast.due(t0 + 10s, 3) == 2);
}

TEST_CASE("dropWarningText names the count in the plugin's words") {
  CHECK(dropWarningText(1) == "plugin/log: 1 query log line dropped since the last warning: standard "
                              "output is slower than the queries (moat_log_dropped_total counts them all)");
  CHECK(dropWarningText(42).rfind("plugin/log: 42 query log lines dropped since the last warning", 0) == 0);
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
