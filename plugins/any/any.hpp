// The `any` plugin (RFC 8482): a query of type ANY gets one HINFO record instead of every record
// of the name, and goes no further down the chain; other types pass to the next plugin.
#pragma once

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::any {

class AnyHandler final : public Handler {
 public:
  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "any"; }
};

// `any` takes no arguments; a block, if written, must be empty.
conf::Result<HandlerPtr> setupAny(const SetupContext& ctx);

}  // namespace moat::plugins::any
