// The `view` plugin, as CoreDNS's: `view NAME { expr EXPRESSION... }` makes its server block
// take a query only when every expression is true for it, so blocks for the same zone and port
// can answer differently depending on who asks (split horizon). The choice is made before the
// chain runs (plugins/chain.hpp: BlockFilter); in the chain itself the plugin only passes
// queries on, at CoreDNS's position, the last.
#pragma once

#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/chain.hpp"
#include "plugins/handler.hpp"
#include "plugins/pkg/expression/expression.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::view {

class View final : public Handler, public BlockFilter {
 public:
  View(std::string name, std::vector<expression::Program> expressions)
      : name_(std::move(name)), expressions_(std::move(expressions)) {}

  Verdict onQuery(dns::Query&) override { return Verdict::Next; }
  std::string_view name() const override { return "view"; }

  // Every expression true (none: every query, as CoreDNS).
  bool admits(const dns::Query& q) const override;
  std::string_view viewName() const override { return name_; }
  // The first expression that is not true for `q`, or that every one is.
  std::string explain(const dns::Query& q) const override;
  const std::vector<expression::Program>& expressions() const { return expressions_; }

 private:
  std::string name_;
  std::vector<expression::Program> expressions_;
};

// The block's one `view` stanza.
conf::Result<HandlerPtr> setupView(const SetupContext& ctx);

}  // namespace moat::plugins::view
