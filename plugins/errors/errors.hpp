// The `errors` plugin: when a handler left an error on the query, print it on the way back
// as CoreDNS does: "[ERROR] plugin/errors: RCODE QNAME QTYPE: ERROR", or fold it into a
// `consolidate` summary.
#pragma once

#include <spdlog/logger.h>

#include <memory>

#include "conf/diag.hpp"
#include "plugins/errors/config.hpp"
#include "plugins/errors/consolidator.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::errors {

class ErrorsHandler final : public Handler {
 public:
  // `out` null: the process's default logger, looked up per line (setup may replace it).
  explicit ErrorsHandler(Config config, std::shared_ptr<spdlog::logger> out = nullptr);

  Verdict onQuery(dns::Query&) override { return Verdict::Next; }
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "errors"; }

 private:
  void emit(spdlog::level::level_enum level, std::string_view text) const;

  std::shared_ptr<spdlog::logger> out_;
  std::unique_ptr<Consolidator> consolidator_;  // only with `consolidate` rules
};

conf::Result<HandlerPtr> setupErrors(const SetupContext& ctx);

}  // namespace moat::plugins::errors
