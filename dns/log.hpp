// Process logging, shaped like CoreDNS's output so existing log pipelines keep working:
// every line on stdout, no timestamp, a level prefix ("[INFO] ", "[WARNING] ", "[ERROR] ").
// Two loggers: the default spdlog logger for everything the process says, and the "query"
// logger the `log` plugin writes through. Both are asynchronous on one log thread with a
// bounded queue that drops the oldest line when full, so a slow or stuck stdout never stalls a
// worker (nor the shutdown).
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

namespace moat::logging {

constexpr size_t kQueryQueueSize = 8192;

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
