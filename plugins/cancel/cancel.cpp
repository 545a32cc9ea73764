#include "plugins/cancel/cancel.hpp"

#include <string>

#include "conf/args.hpp"

namespace moat::plugins::cancel {
namespace {
constexpr std::string_view kPlugin = "cancel";
}  // namespace

Verdict Cancel::onQuery(dns::Query& q) {
  // From when the query came in, as CoreDNS starts the context's clock when serving begins. A
  // query without an arrival time (a synthetic one) starts now.
  const auto start = q.start == std::chrono::steady_clock::time_point{} ? std::chrono::steady_clock::now() : q.start;
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout_);
  // A deadline already set (an enclosing query's) stays when it is sooner.
  if (q.deadline == std::chrono::steady_clock::time_point{} || deadline < q.deadline) q.deadline = deadline;
  if (q.trace != nullptr) {
    q.trace->note(kPlugin, "the query is given up after " +
                               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
                               " ms: forward starts no attempt past it");
  }
  return Verdict::Next;
}

conf::Result<std::chrono::nanoseconds> parseTimeout(const std::vector<const conf::Directive*>& stanzas) {
  std::chrono::nanoseconds timeout = kDefaultTimeout;
  for (const conf::Directive* stanza : stanzas) {
    if (auto n = conf::expectArgs(*stanza, kPlugin, 0, 1); !n) return n.error();
    if (stanza->hasBlock) {
      return conf::errorAt(stanza->name, kPlugin, "takes no block, only an optional TIMEOUT");
    }
    if (stanza->args.empty()) {
      timeout = kDefaultTimeout;
      continue;
    }
    const conf::Token& arg = stanza->args[0];
    auto d = conf::parseDuration(arg, kPlugin, "TIMEOUT");
    if (!d) return d.error();
    if (d->count() <= 0) return conf::errorAt(arg, kPlugin, "TIMEOUT must be above zero, got '" + arg.text + "'");
    timeout = *d;
  }
  return timeout;
}

conf::Result<HandlerPtr> setupCancel(const SetupContext& ctx) {
  auto timeout = parseTimeout(ctx.stanzas);
  if (!timeout) return timeout.error();
  return HandlerPtr(std::make_shared<Cancel>(*timeout));
}

}  // namespace moat::plugins::cancel
