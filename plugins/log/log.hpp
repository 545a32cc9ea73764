// The `log` plugin: one CoreDNS-format line per answered query, written on the way back
// through the asynchronous query logger so the worker never waits on stdout.
#pragma once

#include <spdlog/logger.h>

#include <chrono>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/log/config.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::log {

class LogHandler final : public Handler {
 public:
  // `out` must outlive the handler; setupLog passes the process's query logger.
  LogHandler(Config config, spdlog::logger& out);

  Verdict onQuery(dns::Query&) override { return Verdict::Next; }
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "log"; }

  // The rule that decides for this query (the first whose zone holds the qname), or null.
  const Rule* match(const dns::Query& q) const;
  // Formats the line for `q` into `out` if its rule and class say so; false otherwise.
  bool render(const dns::Query& q, std::chrono::steady_clock::time_point now,
              fmt::memory_buffer& out) const;

  const Config& config() const { return config_; }

 private:
  Config config_;
  spdlog::logger& out_;
};

conf::Result<HandlerPtr> setupLog(const SetupContext& ctx);

}  // namespace moat::plugins::log
