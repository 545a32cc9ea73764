#include "plugins/forward/forward.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/forward/health_carry.hpp"
#include "plugins/forward/shared.hpp"
#include "plugins/forward/worker.hpp"
#include "plugins/server_label.hpp"

namespace moat::plugins::forward {

Forward::Forward(std::vector<Stanza> stanzas, std::span<boost::asio::io_context* const> loops,
                 const EgressConfig& egress)
    : shared_(Shared::build(std::move(stanzas), egress)) {
  shared_->healthLoop = loops.empty() ? nullptr : loops.front();
  workers_.reserve(loops.size());
  for (auto* loop : loops) {
    auto worker = std::make_shared<Worker>(*loop, shared_);
    // Async operations must start on the loop's own thread; the loops run after setup.
    boost::asio::post(*loop, [worker] { worker->start(); });
    workers_.push_back(std::move(worker));
  }
  // A reload keeps what the running handler knows about dead upstreams; those that arrive
  // marked down are probed again so they come back when they answer.
  for (auto [s, u] : carryHealth(shared_)) requestHealthCheck(shared_, s, u);
}

Forward::~Forward() {
  shared_->stopping.store(true, std::memory_order_relaxed);
  for (auto& worker : workers_) {
    if (worker->loop().stopped()) {
      worker->shutdown();  // nobody runs the loop: safe from this thread
    } else {
      boost::asio::post(worker->loop(), [worker] { worker->shutdown(); });
    }
  }
}

Verdict Forward::onQuery(dns::Query& q) {
  if (q.worker < workers_.size()) return workers_[q.worker]->dispatchFrom(q, 0);
  // Built without event loops (lint, explain): nothing can be sent. The same stanza choice and
  // egress check as a worker's, described for explain, then SERVFAIL.
  const auto name = q.view.question.lowerName();
  bool matched = false;
  for (uint32_t s = 0; s < shared_->stanzas.size(); ++s) {
    const Stanza& st = shared_->stanzas[s]->config;
    if (!st.matches(name)) continue;
    matched = true;
    const PrivateZone* zone = shared_->keptIn(s, q);
    if (q.trace != nullptr) {
      std::string what = st.from + " -> " + st.toText + ": ";
      if (zone != nullptr) {
        // Blocked by the name the client asked when rewrite changed it to one outside the zone.
        const bool asked = q.askedLen != 0 && shared_->privateZones->find(name) != zone;
        what += "BLOCKED, " + dns::nameToText(asked ? q.askedLowerName() : name) + " is under private " +
                zone->name;
        if (asked) what += " (asked before rewrite made it " + dns::nameToText(name) + ")";
        if (st.from == "." ) what += " (an unscoped forward never sends it)";
      } else {
        what += "would send it upstream (explain sends nothing)";
      }
      q.trace->note(this->name(), std::move(what));
    }
    if (zone != nullptr) {
      q.egressBlocked = this->name();
      continue;
    }
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    q.error = kNoHealthy;
    return Verdict::Answered;
  }
  if (q.trace != nullptr && !matched) {
    q.trace->note(this->name(), "no stanza takes the name (outside FROM, or excepted)");
  }
  return Verdict::Next;
}

conf::Result<HandlerPtr> setupForward(const SetupContext& ctx) {
  auto stanzas = parseStanzas(ctx.stanzas, ctx.baseDir, ctx.warnings);
  if (!stanzas) return stanzas.error();
  EgressConfig egress{ctx.privateZones, ctx.zones};
  // A health probe leaves the box too: a domain the egress check would stop is a config error
  // rather than a probe that silently never runs.
  for (const Stanza& st : *stanzas) {
    const auto scope = EgressScope::narrowed(st.from, ctx.zones);
    if (const PrivateZone* zone = egressBlockedBy(ctx.privateZones.get(), scope,
                                                  dns::lowercased(st.options.hcDomain))) {
      return conf::errorAt(st.pos, "forward: health_check domain " + st.options.hcDomainText +
                                       " is under private zone " + zone->name +
                                       ", which this forward may not send");
    }
  }
  auto handler = std::make_shared<Forward>(std::move(*stanzas), ctx.loops, egress);
  handler->setServerLabel(serverLabel(ctx));
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::forward
