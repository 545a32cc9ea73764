#include "plugins/view/view.hpp"

#include "conf/args.hpp"

namespace moat::plugins::view {

namespace {
constexpr std::string_view kPlugin = "view";
const expression::Env kNoMetadata;  // Moat has no metadata plugin yet: metadata() is ""
}  // namespace

bool View::admits(const dns::Query& q) const {
  for (const auto& e : expressions_) {
    if (!e.test(q, kNoMetadata)) return false;
  }
  return true;
}

std::string View::explain(const dns::Query& q) const {
  for (const auto& e : expressions_) {
    const expression::Value v = e.evaluate(q, kNoMetadata);
    if (v.type == expression::Type::Bool && v.b) continue;
    if (v.type == expression::Type::Bool) return e.text() + " is false";
    if (v.type == expression::Type::Error) return e.text() + " fails (a function got what it cannot use)";
    return e.text() + " is not a boolean";
  }
  if (expressions_.empty()) return "no expr: every query";
  return expressions_.size() == 1 ? expressions_.front().text() + " is true" : "every expr is true";
}

conf::Result<HandlerPtr> setupView(const SetupContext& ctx) {
  const conf::Directive& d = *ctx.stanzas.front();
  if (auto ok = conf::expectArgs(d, kPlugin, 1, 1); !ok) return ok.error();
  std::vector<expression::Program> expressions;
  for (const conf::Directive& option : d.block) {
    if (option.name.text != "expr") {
      return conf::errorAt(option.name, kPlugin, "unknown property '" + option.name.text + "'");
    }
    if (option.args.empty()) return conf::errorAt(option.name, kPlugin, "expr needs an expression");
    auto program = expression::Program::compile(option.args, kPlugin);
    if (!program) return program.error();
    expressions.push_back(std::move(*program));
  }
  return HandlerPtr(std::make_shared<View>(d.args.front().text, std::move(expressions)));
}

}  // namespace moat::plugins::view
