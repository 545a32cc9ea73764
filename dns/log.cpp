#include "dns/log.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <mutex>

namespace moat::logging {
namespace {

// "[INFO] " etc. CoreDNS has no trace level and calls its highest one FATAL.
std::string_view levelPrefix(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "[DEBUG] ";
    case spdlog::level::info: return "[INFO] ";
    case spdlog::level::warn: return "[WARNING] ";
    case spdlog::level::err: return "[ERROR] ";
    case spdlog::level::critical: return "[FATAL] ";
    default: return "";
  }
}

class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view p = levelPrefix(msg.level);
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

constexpr std::string_view kQueryLoggerName = "query";
constexpr size_t kBatchBytes = 64 * 1024;

// Lines dropped by a full queue. Written only on the dropping path (already the slow one),
// read by scrapes and by the log thread's DropWarning.
std::atomic<uint64_t> droppedLines{0};

// The one writer of stdout for both loggers, run by the log thread. Lines are gathered in a
// buffer and written with write(2) to descriptor 1 once the queue behind them is empty (or the
// buffer is large): under load lines are batched, when idle they appear at once. No stdio, so a
// stdout that blocks (a pipe nobody reads) or fails (a full disk) stalls or fails this thread
// only: never a worker, and never a stdio lock that shutdown's fflush or exit's cleanup needs.
// The default logger's lines get CoreDNS's level prefix; the query logger's are verbatim.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LineSink(spdlog::details::thread_pool* pool) : pool_(pool) {}

  uint64_t flushes() const { return flushes_.load(std::memory_order_acquire); }

  // Waits until a flush that started after `seen` flushes completes, at most `limit`.
  bool waitFlushAfter(uint64_t seen, std::chrono::milliseconds limit) {
    std::unique_lock lock(waitMutex_);
    return flushed_.wait_for(lock, limit, [&] { return flushes() > seen; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    warnIfDropped();
    if (msg.logger_name != kQueryLoggerName) {
      std::string_view prefix = levelPrefix(msg.level);
      buf_.append(prefix.data(), prefix.data() + prefix.size());
    }
    buf_.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    buf_.push_back('\n');
    if (pool_ == nullptr || pool_->queue_size() == 0 || buf_.size() >= kBatchBytes) writeOut();
  }

  void flush_() override {
    warnIfDropped();
    writeOut();
    {
      std::lock_guard lock(waitMutex_);
      flushes_.fetch_add(1, std::memory_order_release);
    }
    flushed_.notify_all();
  }

 private:
  void writeOut() {
    size_t done = 0;
    while (done < buf_.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;  // a full disk, a closed pipe: these lines are lost, later ones may fare better
      }
    }
    buf_.clear();
  }

  // Written into this sink's own buffer, not queued: the queue is what was full.
  void warnIfDropped() {
    const uint64_t total = droppedLines.load(std::memory_order_relaxed);
    if (total == dropWarning_.reported()) return;  // the common case: no clock read
    if (const uint64_t n = dropWarning_.due(DropWarning::Clock::now(), total); n > 0) {
      std::string_view prefix = levelPrefix(spdlog::level::warn);
      buf_.append(prefix.data(), prefix.data() + prefix.size());
      const std::string text = dropWarningText(n);
      buf_.append(text.data(), text.data() + text.size());
      buf_.push_back('\n');
    }
  }

  spdlog::details::thread_pool* pool_;
  DropWarning dropWarning_;
  spdlog::memory_buf_t buf_;
  std::atomic<uint64_t> flushes_{0};
  std::mutex waitMutex_;
  std::condition_variable flushed_;
};

// The log thread (its queue drops the oldest line when full, so logging never blocks the
// caller), its sink, and the query logger; setup() adds the default logger on the same thread,
// which keeps the two loggers' lines in order.
struct LogThread {
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<LineSink> sink;
  std::shared_ptr<spdlog::async_logger> query;
  std::atomic<bool> stuck{false};  // the last flush did not finish in time

  LogThread() {
    pool = std::make_shared<spdlog::details::thread_pool>(kQueryQueueSize + kQueueSlack, 1);
    sink = std::make_shared<LineSink>(pool.get());
    query = std::make_shared<spdlog::async_logger>(std::string(kQueryLoggerName), sink, pool,
                                                   spdlog::async_overflow_policy::overrun_oldest);
    query->set_level(spdlog::level::info);
    // The query log is the product's output, not a diagnostic: flushing is the sink's job.
    query->flush_on(spdlog::level::off);
    if (!spdlog::get(std::string(kQueryLoggerName))) spdlog::register_logger(query);
  }
};

// Never destroyed: at exit the thread may be stuck in write(2) on a stdout nobody drains, and
// joining it would hang the process. What is queued is written by flush(), which shutdown
// calls, and by the bounded drain below for programs that do not.
std::atomic<LogThread*> created{nullptr};

LogThread& logThread() {
  static LogThread* instance = [] {
    auto* t = new LogThread;
    created.store(t, std::memory_order_release);
    return t;
  }();
  return *instance;
}

bool flushBounded(std::chrono::milliseconds limit) {
  LogThread& t = logThread();
  const uint64_t seen = t.sink->flushes();
  t.query->flush();  // queued behind every line already posted, by either logger
  const bool done = t.sink->waitFlushAfter(seen, limit);
  t.stuck.store(!done, std::memory_order_relaxed);
  return done;
}

struct DrainAtExit {
  ~DrainAtExit() {
    const LogThread* t = created.load(std::memory_order_acquire);
    if (t != nullptr && !t->stuck.load(std::memory_order_relaxed)) flushBounded(std::chrono::seconds(2));
  }
} drainAtExit;

std::atomic<bool> quietFlag{false};

struct TypeEntry {
  uint16_t type;
  std::string_view name;
};

// miekg/dns's table of type mnemonics, sorted by number.
constexpr TypeEntry kTypes[] = {
    {0, "None"},        {1, "A"},         {2, "NS"},          {3, "MD"},
    {4, "MF"},          {5, "CNAME"},     {6, "SOA"},         {7, "MB"},
    {8, "MG"},          {9, "MR"},        {10, "NULL"},       {12, "PTR"},
    {13, "HINFO"},      {14, "MINFO"},    {15, "MX"},         {16, "TXT"},
    {17, "RP"},         {18, "AFSDB"},    {19, "X25"},        {20, "ISDN"},
    {21, "RT"},         {23, "NSAP-PTR"}, {24, "SIG"},        {25, "KEY"},
    {26, "PX"},         {27, "GPOS"},     {28, "AAAA"},       {29, "LOC"},
    {30, "NXT"},        {31, "EID"},      {32, "NIMLOC"},     {33, "SRV"},
    {34, "ATMA"},       {35, "NAPTR"},    {36, "KX"},         {37, "CERT"},
    {39, "DNAME"},      {41, "OPT"},      {42, "APL"},        {43, "DS"},
    {44, "SSHFP"},      {45, "IPSECKEY"}, {46, "RRSIG"},      {47, "NSEC"},
    {48, "DNSKEY"},     {49, "DHCID"},    {50, "NSEC3"},      {51, "NSEC3PARAM"},
    {52, "TLSA"},       {53, "SMIMEA"},   {55, "HIP"},        {56, "NINFO"},
    {57, "RKEY"},       {58, "TALINK"},   {59, "CDS"},        {60, "CDNSKEY"},
    {61, "OPENPGPKEY"}, {62, "CSYNC"},    {63, "ZONEMD"},     {64, "SVCB"},
    {65, "HTTPS"},      {99, "SPF"},      {100, "UINFO"},     {101, "UID"},
    {102, "GID"},       {103, "UNSPEC"},  {104, "NID"},       {105, "L32"},
    {106, "L64"},       {107, "LP"},      {108, "EUI48"},     {109, "EUI64"},
    {128, "NXNAME"},    {249, "TKEY"},    {250, "TSIG"},      {251, "IXFR"},
    {252, "AXFR"},      {253, "MAILB"},   {254, "MAILA"},     {255, "ANY"},
    {256, "URI"},       {257, "CAA"},     {258, "AVC"},       {260, "AMTRELAY"},
    {261, "RESINFO"},   {32768, "TA"},    {32769, "DLV"},     {65535, "Reserved"},
};

void appendText(fmt::memory_buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

void appendNumber(fmt::memory_buffer& out, std::string_view prefix, unsigned n) {
  appendText(out, prefix);
  fmt::format_to(std::back_inserter(out), "{}", n);
}

}  // namespace

namespace {

// A worker's gathered query-log lines: joined by '\n', without the last one (the sink ends
// every message with one).
struct GatheredLines {
  boost::asio::io_context* loop = nullptr;
  spdlog::logger* out = nullptr;
  fmt::memory_buffer text;
  uint64_t lines = 0;
  bool handOverPosted = false;
};
thread_local GatheredLines gathered;

// Whether a message of `lines` lines for `out` may be queued. Only the process's query logger
// is bounded here (a test's own logger is not); when its queue holds kQueryQueueSize messages
// the new one is dropped and counted. Workers that test at the same moment may pass together:
// the queue's slack holds them, so spdlog never overwrites a queued line uncounted.
bool admit(const spdlog::logger& out, uint64_t lines) {
  const LogThread* t = created.load(std::memory_order_acquire);
  if (t == nullptr || &out != t->query.get()) return true;
  if (t->pool->queue_size() < kQueryQueueSize) return true;
  droppedLines.fetch_add(lines, std::memory_order_relaxed);
  return false;
}

void handOver() {
  gathered.handOverPosted = false;
  if (gathered.text.size() == 0) return;
  if (admit(*gathered.out, gathered.lines)) {
    gathered.out->log(spdlog::level::info, spdlog::string_view_t(gathered.text.data(), gathered.text.size()));
  }
  gathered.text.clear();
  gathered.lines = 0;
}

}  // namespace

void collectLinesOn(boost::asio::io_context& loop) { gathered.loop = &loop; }

void flushLines() { handOver(); }

void logQueryLine(spdlog::logger& out, std::string_view line) {
  if (gathered.loop == nullptr) {
    if (admit(out, 1)) out.log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
    return;
  }
  if (gathered.out != &out) {
    handOver();
    gathered.out = &out;
  }
  if (gathered.text.size() != 0) gathered.text.push_back('\n');
  gathered.text.append(line.data(), line.data() + line.size());
  ++gathered.lines;
  if (gathered.text.size() >= kLineBatchBytes) {
    handOver();
  } else if (!gathered.handOverPosted) {
    // Runs after the handler now running (a receive batch) returns: same thread, no wake-up.
    gathered.handOverPosted = true;
    boost::asio::post(*gathered.loop, handOver);
  }
}

void setup(bool quiet) {
  quietFlag.store(quiet, std::memory_order_relaxed);
  LogThread& t = logThread();
  // Asynchronous like the query log: the `errors` and `private` plugins log from workers, and a
  // stdout that stops draining must not stop them answering.
  auto logger = std::make_shared<spdlog::async_logger>("moat", t.sink, t.pool,
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::off);  // the sink writes as soon as nothing else is queued
  spdlog::set_default_logger(std::move(logger));
}

bool quiet() { return quietFlag.load(std::memory_order_relaxed); }

uint64_t droppedQueryLines() { return droppedLines.load(std::memory_order_relaxed); }

uint64_t DropWarning::due(Clock::time_point now, uint64_t droppedTotal) {
  if (droppedTotal <= reported_) return 0;
  if (last_ && now - *last_ < interval_) return 0;
  const uint64_t n = droppedTotal - reported_;
  reported_ = droppedTotal;
  last_ = now;
  return n;
}

std::string dropWarningText(uint64_t lines) {
  return fmt::format("plugin/log: {} query log {} dropped since the last warning: standard output "
                     "is slower than the queries (moat_log_dropped_total counts them all)",
                     lines, lines == 1 ? "line" : "lines");
}

spdlog::logger& queryLog() { return *logThread().query; }

void flush() {
  // Both loggers share the thread, so one flush behind everything posted covers both.
  flushBounded(std::chrono::seconds(2));
  std::fflush(stdout);  // the banner's stdio buffer; the log thread never holds its lock
}

std::unique_ptr<spdlog::formatter> makeFormatter() {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<LevelFlag>('*').set_pattern("%*%v");
  return f;
}

std::string_view typeName(uint16_t type) {
  auto it = std::lower_bound(std::begin(kTypes), std::end(kTypes), type,
                             [](const TypeEntry& e, uint16_t t) { return e.type < t; });
  if (it != std::end(kTypes) && it->type == type) return it->name;
  return {};
}

std::optional<uint16_t> typeFromName(std::string_view name) {
  // Configuration time only: a linear scan of the table is fine.
  for (const TypeEntry& e : kTypes) {
    if (e.name == name) return e.type;
  }
  return std::nullopt;
}

void appendTypeName(fmt::memory_buffer& out, uint16_t type) {
  std::string_view name = typeName(type);
  if (!name.empty()) {
    appendText(out, name);
  } else {
    appendNumber(out, "TYPE", type);
  }
}

void appendClassName(fmt::memory_buffer& out, uint16_t klass) {
  switch (klass) {
    case 1: return appendText(out, "IN");
    case 2: return appendText(out, "CS");
    case 3: return appendText(out, "CH");
    case 4: return appendText(out, "HS");
    case 254: return appendText(out, "NONE");
    case 255: return appendText(out, "ANY");
    default: return appendNumber(out, "CLASS", klass);
  }
}

void appendRcodeName(fmt::memory_buffer& out, unsigned rcode) {
  // miekg/dns's names; 16 is printed BADSIG although EDNS calls it BADVERS.
  static constexpr std::array<std::string_view, 24> kNames = {
      "NOERROR", "FORMERR",  "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "DSOTYPENI",
      "",         "",        "",         "",         "BADSIG", "BADKEY",
      "BADTIME",  "BADMODE", "BADNAME",  "BADALG",   "BADTRUNC", "BADCOOKIE",
  };
  if (rcode < kNames.size() && !kNames[rcode].empty()) return appendText(out, kNames[rcode]);
  appendNumber(out, "", rcode);
}

}  // namespace moat::logging
