#include "plugins/chain.hpp"

#include "dns/message.hpp"
#include "dns/reply_fit.hpp"
#include <algorithm>

#include "dns/counter.hpp"
#include "dns/name.hpp"

namespace moat::plugins {

using dns::bump;

namespace {
std::string_view outcomeText(Verdict v) {
  switch (v) {
    case Verdict::Next: return "next";
    case Verdict::Answered: return "answered";
    case Verdict::Pending: return "pending";
    case Verdict::Drop: return "drop";
  }
  return "";
}
}  // namespace

ChainRunner::ChainRunner(unsigned workers) : slots_(workers) {}

void ChainRunner::publish(std::shared_ptr<const RouteTable> table) {
  std::lock_guard lock(mutex_);
  table_ = std::move(table);
  generation_.fetch_add(1, std::memory_order_release);
}

// Workers refresh their own copy only when a new table was published, so the query path reads
// one atomic and touches no shared reference count.
const std::shared_ptr<const RouteTable>& ChainRunner::current(unsigned worker) {
  WorkerSlot& slot = slots_[worker];
  uint64_t gen = generation_.load(std::memory_order_acquire);
  if (slot.generation != gen) {
    std::lock_guard lock(mutex_);
    slot.table = table_;
    slot.generation = gen;
  }
  return slot.table;
}

void ChainRunner::refuse(dns::Query& q) {
  // A NOTIFY for a zone no block serves is NOTIMP like one no handler took: this server takes
  // NOTIFY only where a secondary zone is.
  const bool notify = q.view.header.opcode() == dns::opcode::Notify;
  if (notify) bump(slots_[q.worker].stats.notifyUntaken);
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, notify ? dns::RCode::NotImp : dns::RCode::Refused);
  q.sink->sendReply(q);
}

void ChainRunner::dispatch(dns::Query& q) {
  const auto& table = current(q.worker);
  if (!table || q.listener >= table->listeners.size()) return refuse(q);
  const ListenerRoutes& routes = table->listeners[q.listener];
  if (q.view.question.qclass != dns::rrclass::IN && !routes.acceptsAnyClass) return refuse(q);
  const Chain* chain = routes.route(q);
  if (chain == nullptr) {
    if (q.view.header.opcode() != dns::opcode::Notify) bump(slots_[q.worker].stats.refusedNoZone);
    return refuse(q);
  }
  q.route = chain;
  run(q, *chain, 0);
}

void ListenerRoutes::add(const std::string& zone, std::shared_ptr<const Chain> chain) {
  const auto index = static_cast<size_t>(zones.add(zone));
  if (chains.size() <= index) chains.resize(index + 1);
  chains[index].push_back(std::move(chain));
}

const Chain* ListenerRoutes::route(const dns::Query& q,
                                   std::vector<const Chain*>* rejected) const {
  auto admits = [&](const Chain& c) {
    if (!c.filter || c.filter->admits(q)) return true;
    if (rejected != nullptr) rejected->push_back(&c);
    return false;
  };
  const auto name = q.view.question.lowerName();
  // Every suffix that is a zone, longest first; the root is tried last, below.
  for (size_t off = 0; off < name.size() && name[off] != 0; off += name[off] + 1u) {
    const int zone = zones.find(name.subspan(off));
    if (zone == dns::ZoneSet::kNone) continue;
    for (const auto& chain : chains[static_cast<size_t>(zone)]) {
      if (chain->handlers.empty()) return nullptr;  // a block without plugins (as CoreDNS)
      if (admits(*chain)) return chain.get();
    }
  }
  const int root = zones.find(name.subspan(name.size() - 1));
  if (root == dns::ZoneSet::kNone) return nullptr;
  for (const auto& chain : chains[static_cast<size_t>(root)]) {
    if (!chain->handlers.empty() && admits(*chain)) return chain.get();
  }
  return nullptr;
}

void ChainRunner::run(dns::Query& q, const Chain& chain, size_t from) {
  const bool notify = q.view.header.opcode() == dns::opcode::Notify;
  for (size_t i = from; i < chain.handlers.size(); ++i) {
    if (notify && !chain.notify[i]) continue;  // a NOTIFY is not a query: only its takers see it
    const Verdict verdict = chain.handlers[i]->onQuery(q);
    if (q.trace != nullptr) q.trace->outcome(chain.handlers[i]->name(), outcomeText(verdict));
    switch (verdict) {
      case Verdict::Next:
        continue;
      case Verdict::Answered:
        q.position = static_cast<uint16_t>(i);  // who wrote the answer (metrics' plugin label)
        return finish(q, chain, i);
      case Verdict::Pending:
        q.position = static_cast<uint16_t>(i);
        // Keep this configuration alive until the handler resumes, even across a reload.
        if (!q.pin) q.pin = current(q.worker);
        return startQueued(q.worker);
      case Verdict::Drop:
        return q.sink->dropQuery(q);
    }
  }
  if (notify) {
    // Not for a zone this block pulls from a primary: NOTIMP, what Moat answered every NOTIFY
    // before secondary existed, and what RFC 1996 expects of a server that does not take it.
    bump(slots_[q.worker].stats.notifyUntaken);
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::NotImp);
    return finish(q, chain, chain.handlers.size() - 1);
  }
  // Off the end of the chain: SERVFAIL, as CoreDNS's "no next plugin found".
  bump(slots_[q.worker].stats.offTheEnd);
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
  q.error = "no next plugin found";
  q.errorPlugin = chain.lastWritten.empty() ? chain.handlers.back()->name() : chain.lastWritten;
  finish(q, chain, chain.handlers.size() - 1);
}

void ChainRunner::finish(dns::Query& q, const Chain& chain, size_t last) {
  q.chainReplySize = static_cast<uint16_t>(q.reply.size());
  dns::finalizeReply(q.reply, q.view, q.proto);
  q.finalized = true;
  const bool notify = q.view.header.opcode() == dns::opcode::Notify;
  for (size_t j = last + 1; j-- > q.firstPosition;) {
    if (chain.observes[j] && (!notify || chain.notify[j])) chain.handlers[j]->onReply(q);
  }
  q.sink->sendReply(q);
}

void ChainRunner::resume(dns::Query& q, Verdict verdict) {
  const Chain& chain = *static_cast<const Chain*>(q.route);
  switch (verdict) {
    case Verdict::Answered:
      return finish(q, chain, q.position);
    case Verdict::Next:
      return run(q, chain, q.position + 1u);
    case Verdict::Drop:
      return q.sink->dropQuery(q);
    case Verdict::Pending:
      return;
  }
}

uint64_t ChainRunner::refusedNoZone() const {
  uint64_t n = 0;
  for (const auto& s : slots_) n += s.stats.refusedNoZone.load(std::memory_order_relaxed);
  return n;
}

uint64_t ChainRunner::offTheEnd() const {
  uint64_t n = 0;
  for (const auto& s : slots_) n += s.stats.offTheEnd.load(std::memory_order_relaxed);
  return n;
}

uint64_t ChainRunner::notifyUntaken() const {
  uint64_t n = 0;
  for (const auto& s : slots_) n += s.stats.notifyUntaken.load(std::memory_order_relaxed);
  return n;
}

}  // namespace moat::plugins

namespace moat::plugins {

// A subquery is built like a client's query (header, question, RD) and dispatched on the
// parent's listener, so routing, the chain and forward treat it as any other query. It starts
// only after the parent's handler returned Pending: a reply that comes back synchronously (hosts
// answering, say) then resumes a parent that is already parked.
ChainRunner::Subquery* ChainRunner::acquire(const dns::Query& parent) {
  if (parent.depth >= kMaxDepth) return nullptr;
  WorkerSlot& slot = slots_[parent.worker];
  if (!slot.freeSubqueries.empty()) {
    Subquery* s = slot.freeSubqueries.back();
    slot.freeSubqueries.pop_back();
    return s;
  }
  if (slot.subqueries.size() >= kMaxSubqueries) return nullptr;
  slot.subqueries.push_back(std::make_unique<Subquery>());
  Subquery* s = slot.subqueries.back().get();
  s->runner = this;
  s->worker = parent.worker;
  return s;
}

// The request is already in s.query; the rest is the parent's, one level deeper.
void ChainRunner::adopt(Subquery& s, dns::Query& parent, SubqueryClient& client) {
  dns::Query& q = s.query;
  q.proto = parent.proto;
  q.client = parent.client;
  q.local = parent.local;
  q.start = parent.start;
  q.deadline = parent.deadline;  // the parent's client gives up on both at once
  q.worker = parent.worker;
  q.listener = parent.listener;
  q.depth = static_cast<uint8_t>(parent.depth + 1);
  q.trace = parent.trace;  // explain follows the subquery through the chain too
  q.sink = &s;
  q.dispatcher = this;
  s.parent = &parent;
  s.client = &client;
  slots_[parent.worker].queued.push_back(&s);
}

bool ChainRunner::subquery(dns::Query& parent, std::span<const uint8_t> name, uint16_t type,
                           SubqueryClient& client) {
  if (name.empty() || name.size() > dns::kMaxNameLen) return false;
  Subquery* s = acquire(parent);
  if (s == nullptr) return false;
  dns::Query& q = s->query;
  q.reset();
  if (!q.loadQuestion(parent.view.header.id, name, type)) {
    release(*s);
    return false;
  }
  s->next = false;
  if (parent.trace != nullptr) {
    parent.trace->note("subquery", dns::nameToText(name) + " type " + std::to_string(type) +
                                       " through the whole server");
  }
  adopt(*s, parent, client);
  return true;
}

bool ChainRunner::subqueryNext(dns::Query& parent, SubqueryClient& client) {
  if (parent.route == nullptr) return false;
  Subquery* s = acquire(parent);
  if (s == nullptr) return false;
  dns::Query& q = s->query;
  q.reset();
  std::copy_n(parent.request.begin(), parent.requestLen, q.request.begin());
  q.requestLen = parent.requestLen;
  if (dns::parseQuery(q.requestBytes(), q.view) != dns::ParseStatus::Ok) {
    release(*s);
    return false;
  }
  s->next = true;
  q.route = parent.route;
  if (parent.trace != nullptr) parent.trace->note("subquery", "the same question through the rest of the chain");
  adopt(*s, parent, client);
  return true;
}

bool ChainRunner::subqueryNext(dns::Query& parent, std::span<const uint8_t> name, SubqueryClient& client) {
  if (parent.route == nullptr || name.empty() || name.size() > dns::kMaxNameLen) return false;
  // The parent's request with its question's name swapped: header, new name, then the type,
  // class and every record after the question (the OPT) as they were.
  const size_t nameEnd = parent.view.question.nameOffset + parent.view.question.nameLen;
  if (parent.view.question.nameOffset != dns::kHeaderSize || nameEnd > parent.requestLen) return false;
  const size_t rest = parent.requestLen - nameEnd;
  if (dns::kHeaderSize + name.size() + rest > dns::kMaxRequest) return false;
  Subquery* s = acquire(parent);
  if (s == nullptr) return false;
  dns::Query& q = s->query;
  q.reset();
  std::copy_n(parent.request.begin(), dns::kHeaderSize, q.request.begin());
  std::copy(name.begin(), name.end(), q.request.begin() + dns::kHeaderSize);
  std::copy_n(parent.request.begin() + static_cast<long>(nameEnd), rest,
              q.request.begin() + static_cast<long>(dns::kHeaderSize + name.size()));
  q.requestLen = static_cast<uint16_t>(dns::kHeaderSize + name.size() + rest);
  if (dns::parseQuery(q.requestBytes(), q.view) != dns::ParseStatus::Ok) {
    release(*s);
    return false;
  }
  // A question a rewrite changed before the caller keeps the client's name for the egress
  // check: a name derived from a private one does not leave because a search domain was added.
  if (parent.askedLen != 0) {
    q.askedName = parent.askedName;
    q.askedLower = parent.askedLower;
    q.askedLen = parent.askedLen;
    q.askedType = parent.askedType;
    q.askedClass = parent.askedClass;
  }
  s->next = true;
  q.route = parent.route;
  if (parent.trace != nullptr) {
    parent.trace->note("subquery", dns::nameToText(name) + " through the rest of the chain");
  }
  adopt(*s, parent, client);
  return true;
}

void ChainRunner::startQueued(unsigned worker) {
  auto& queued = slots_[worker].queued;
  while (!queued.empty()) {
    Subquery* s = queued.back();
    queued.pop_back();
    if (!s->next) {
      dispatch(s->query);
      continue;
    }
    // The parent is parked now, so its position names the handler that asked.
    const auto& chain = *static_cast<const Chain*>(s->query.route);
    const auto from = static_cast<uint16_t>(s->parent->position + 1u);
    s->query.firstPosition = from;
    run(s->query, chain, from);
  }
}

void ChainRunner::release(Subquery& s) {
  s.query.reset();
  s.parent = nullptr;
  s.client = nullptr;
  slots_[s.worker].freeSubqueries.push_back(&s);
}

void ChainRunner::Subquery::sendReply(dns::Query& q) {
  dns::Query* p = parent;
  SubqueryClient* c = client;
  if (next) {
    // The rest of the chain is the parent's own: what went wrong there is the parent's error.
    p->error = q.error;
    p->errorPlugin = q.errorPlugin;
    p->egressBlocked = q.egressBlocked;
  }
  // The reply is handed over before the slot is reused; the client copies what it needs.
  c->onSubquery(*p, q.reply);
  runner->release(*this);
  // A subquery the client asked for from onSubquery (its parent already parked).
  runner->startQueued(worker);
}

void ChainRunner::Subquery::dropQuery(dns::Query&) {
  dns::Query* p = parent;
  SubqueryClient* c = client;
  c->onSubquery(*p, {});
  runner->release(*this);
  runner->startQueued(worker);
}

}  // namespace moat::plugins
