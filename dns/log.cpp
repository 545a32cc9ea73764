#include "dns/log.hpp"

#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
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

// Writes each message as it is, plus a newline, with one fwrite so lines from the two loggers
// never interleave mid-line (stdio locks the stream per call). It flushes only when the queue
// behind it is empty: under load lines are batched, when idle they appear at once.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LineSink(std::FILE* out, spdlog::details::thread_pool* pool) : out_(out), pool_(pool) {}

  uint64_t flushes() const { return flushes_.load(std::memory_order_acquire); }

  // Waits until a flush that started after `seen` flushes completes, at most `limit`.
  bool waitFlushAfter(uint64_t seen, std::chrono::milliseconds limit) {
    std::unique_lock lock(waitMutex_);
    return flushed_.wait_for(lock, limit, [&] { return flushes() > seen; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    line_.clear();
    line_.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    line_.push_back('\n');
    std::fwrite(line_.data(), 1, line_.size(), out_);
    if (pool_ == nullptr || pool_->queue_size() == 0) std::fflush(out_);
  }

  void flush_() override {
    std::fflush(out_);
    {
      std::lock_guard lock(waitMutex_);
      flushes_.fetch_add(1, std::memory_order_release);
    }
    flushed_.notify_all();
  }

 private:
  std::FILE* out_;
  spdlog::details::thread_pool* pool_;
  spdlog::memory_buf_t line_;
  std::atomic<uint64_t> flushes_{0};
  std::mutex waitMutex_;
  std::condition_variable flushed_;
};

struct QueryLogger {
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<LineSink> sink;
  std::shared_ptr<spdlog::async_logger> logger;

  QueryLogger() {
    pool = std::make_shared<spdlog::details::thread_pool>(kQueryQueueSize, 1);
    sink = std::make_shared<LineSink>(stdout, pool.get());
    logger = std::make_shared<spdlog::async_logger>("query", sink, pool,
                                                    spdlog::async_overflow_policy::overrun_oldest);
    logger->set_level(spdlog::level::info);
    // The query log is the product's output, not a diagnostic: flushing is the sink's job.
    logger->flush_on(spdlog::level::off);
    if (!spdlog::get("query")) spdlog::register_logger(logger);
  }

  ~QueryLogger() {
    // Drop the logger first: the pool's destructor then drains the queue and joins.
    spdlog::drop("query");
    logger.reset();
    sink.reset();
    pool.reset();
  }
};

QueryLogger& queryLogger() {
  static QueryLogger instance;
  return instance;
}

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

void setup(bool quiet) {
  quietFlag.store(quiet, std::memory_order_relaxed);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("moat", std::move(sink));
  logger->set_formatter(makeFormatter());
  logger->set_level(spdlog::level::info);
  // Start-up and error lines are rare and must not sit in a buffer when the process dies.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  (void)queryLogger();
}

bool quiet() { return quietFlag.load(std::memory_order_relaxed); }

spdlog::logger& queryLog() { return *queryLogger().logger; }

void flush() {
  if (auto* d = spdlog::default_logger_raw()) d->flush();
  QueryLogger& q = queryLogger();
  uint64_t seen = q.sink->flushes();
  q.logger->flush();  // queued behind every line already posted
  q.sink->waitFlushAfter(seen, std::chrono::seconds(2));
  std::fflush(stdout);
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
