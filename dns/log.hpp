// Process logging, shaped like CoreDNS's output so existing log pipelines keep working:
// every line on stdout, no timestamp, a level prefix ("[INFO] ", "[WARNING] ", "[ERROR] ").
// Two loggers: the default spdlog logger for everything the process says, and the "query"
// logger the `log` plugin writes through. Both are asynchronous on one log thread with a
// bounded queue, so a slow or stuck stdout never stalls a worker (nor the shutdown): when it is
// full the default logger drops its oldest message, and the query log drops the new batch and
// counts its lines (droppedQueryLines).
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

namespace moat::logging {

// Messages the query log may have waiting for the log thread (a worker hands over a batch of
// lines as one message). When that many wait, a new batch is dropped and its lines counted
// (droppedQueryLines), rather than blocking the worker or silently overwriting older lines.
constexpr size_t kQueryQueueSize = 8192;
// Room in the log thread's queue beyond that, for the process's own messages (warnings,
// flushes) and for workers that saw the queue one short of full at the same moment.
constexpr size_t kQueueSlack = 1024;

// Installs the default logger (asynchronous, on the query log's thread). `quiet` is CoreDNS's
// -quiet: it only hides the start-up banner, so here it is just remembered for whoever prints one.
// Safe to call more than once.
void setup(bool quiet);
bool quiet();

// The query log. Messages are written verbatim, one per line: the caller formats the prefix.
// Usable without setup() (tests), in which case it is created on first use.
spdlog::logger& queryLog();

// One query-log line from the calling thread. On a thread that called collectLinesOn (a
// worker), lines gather in a per-thread buffer and reach `out` as one message once the
// handler that wrote them returns (or the buffer reaches kLineBatchBytes): the worker touches
// the log thread's queue once per batch of queries, not once per line. Elsewhere the line goes
// to `out` at once.
void logQueryLine(spdlog::logger& out, std::string_view line);
// Makes this thread gather its query-log lines and hand them over from `loop`, which this
// thread runs. flushLines() hands over what is gathered now (a worker calls it as it stops).
void collectLinesOn(boost::asio::io_context& loop);
void flushLines();
constexpr size_t kLineBatchBytes = 16 * 1024;

// Query-log lines dropped so far because the queue was full (moat_log_dropped_total). Counted
// by the worker that dropped them, on that path only: a line that is queued costs nothing here.
uint64_t droppedQueryLines();

// When to warn that query-log lines were dropped: at most once per `interval`, with the number
// dropped since the previous warning. The log thread asks it before each message it writes and
// at each flush, and writes the warning itself (a warning queued behind a full queue would be
// dropped too). Pure: the caller passes the time and the running total, so tests drive it with
// their own clock.
class DropWarning {
 public:
  using Clock = std::chrono::steady_clock;
  explicit DropWarning(Clock::duration interval = std::chrono::minutes(1)) : interval_(interval) {}
  // How many lines to warn about now (dropped since the last warning), or 0 when nothing was
  // dropped since, or the last warning is less than `interval` old.
  uint64_t due(Clock::time_point now, uint64_t droppedTotal);
  // The running total at the last warning (0 before the first).
  uint64_t reported() const { return reported_; }

 private:
  Clock::duration interval_;
  uint64_t reported_ = 0;  // droppedTotal at the last warning
  std::optional<Clock::time_point> last_;
};

// The warning DropWarning asks for: "plugin/log: N query log lines dropped ...".
std::string dropWarningText(uint64_t lines);

// Writes out what both loggers hold. Waits (bounded) for the query log's queue to drain, so
// call it at shutdown and in tests, not on the data path.
void flush();

// The formatter of the default logger: "[LEVEL] message". Tests use it to capture lines.
std::unique_ptr<spdlog::formatter> makeFormatter();

// Text forms as CoreDNS (miekg/dns) prints them in log lines:
// type "AAAA" / "TYPE65534", class "IN" / "CLASS7", rcode "NXDOMAIN" / "12".
std::string_view typeName(uint16_t type);  // empty when the type has no mnemonic
// The reverse, as miekg/dns's StringToType: exact and case-sensitive ("AAAA", "NSAP-PTR", and
// "None" for 0); nullopt for anything else, "TYPE65534" included.
std::optional<uint16_t> typeFromName(std::string_view name);
void appendTypeName(fmt::memory_buffer& out, uint16_t type);
void appendClassName(fmt::memory_buffer& out, uint16_t klass);
void appendRcodeName(fmt::memory_buffer& out, unsigned rcode);

}  // namespace moat::logging
