#include "plugins/log/log.hpp"

#include "dns/log.hpp"
#include "dns/name.hpp"
#include "plugins/log/classify.hpp"
#include "plugins/metric_source.hpp"

namespace moat::plugins::log {
namespace {

// moat_log_dropped_total: one source for the process, however many `log` handlers blocks and
// reloads build (counters of several sources add up). It reads the logger's counter at scrape.
class DroppedLines final : public MetricSource {
 public:
  void collect(std::vector<MetricSample>& out) const override {
    out.push_back({"moat_log_dropped_total",
                   "Query log lines dropped because the log queue was full (standard output slower "
                   "than the queries).",
                   false, {}, static_cast<double>(logging::droppedQueryLines())});
  }
};

void registerDroppedLines() {
  static const auto source = [] {
    auto s = std::make_shared<const DroppedLines>();
    registerMetricSource(std::weak_ptr<const MetricSource>(s));
    return s;
  }();
  (void)source;
}

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LogHandler::LogHandler(Config config, spdlog::logger& out)
    : config_(std::move(config)), out_(out) {}

const Rule* LogHandler::match(const dns::Query& q) const {
  std::span<const uint8_t> name = q.view.question.lowerName();
  static constexpr uint8_t kRoot[] = {0};
  if (q.view.header.qdcount == 0) name = kRoot;
  for (const Rule& rule : config_.rules) {
    if (dns::isSubdomain(name, rule.zoneWire)) return &rule;
  }
  return nullptr;
}

bool LogHandler::render(const dns::Query& q, std::chrono::steady_clock::time_point now,
                        fmt::memory_buffer& out) const {
  const Rule* rule = match(q);
  if (rule == nullptr) return false;
  // Only a narrowed rule pays for walking the reply.
  if (rule->classes != kAllClasses) {
    ResponseClass c = classify(inspectReply(q.reply, unixNow()), q.view.edns.dnssecOk);
    if ((rule->classes & static_cast<uint8_t>(c)) == 0) return false;
  }
  formatEntry(rule->format, q, now, out);
  return true;
}

void LogHandler::onReply(dns::Query& q) {
  fmt::memory_buffer line;  // 500 bytes inline: a typical line never touches the heap
  if (!render(q, std::chrono::steady_clock::now(), line)) return;
  logging::logQueryLine(out_, std::string_view(line.data(), line.size()));
}

conf::Result<HandlerPtr> setupLog(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas);
  if (!config) return config.error();
  registerDroppedLines();
  return HandlerPtr(std::make_shared<LogHandler>(std::move(*config), logging::queryLog()));
}

}  // namespace moat::plugins::log
