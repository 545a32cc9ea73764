#include "plugins/forward/forward.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "dns/message.hpp"
#include "plugins/forward/shared.hpp"
#include "plugins/forward/worker.hpp"

namespace moat::plugins::forward {

Forward::Forward(std::vector<Stanza> stanzas, std::span<boost::asio::io_context* const> loops)
    : shared_(Shared::build(std::move(stanzas))) {
  shared_->healthLoop = loops.empty() ? nullptr : loops.front();
  workers_.reserve(loops.size());
  for (auto* loop : loops) {
    auto worker = std::make_shared<Worker>(*loop, shared_);
    // Async operations must start on the loop's own thread; the loops run after setup.
    boost::asio::post(*loop, [worker] { worker->start(); });
    workers_.push_back(std::move(worker));
  }
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
  // Built without event loops (a validation run): nothing can be sent.
  const auto name = q.view.question.lowerName();
  bool mine = false;
  for (const auto& st : shared_->stanzas) mine = mine || st->config.matches(name);
  if (!mine) return Verdict::Next;
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
  q.error = kNoHealthy;
  return Verdict::Answered;
}

conf::Result<HandlerPtr> setupForward(const SetupContext& ctx) {
  auto stanzas = parseStanzas(ctx.stanzas, ctx.baseDir, ctx.warnings);
  if (!stanzas) return stanzas.error();
  return HandlerPtr(std::make_shared<Forward>(std::move(*stanzas), ctx.loops));
}

}  // namespace moat::plugins::forward
