// The contract between the chain and a plugin (STYLE.md §2). A handler is built once per
// configuration, is immutable afterwards, and is shared by every worker; per-worker state is
// indexed by Query::worker.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "dns/query.hpp"

namespace moat::plugins {

enum class Verdict : uint8_t {
  Next,      // not mine (or fallthrough): the next handler decides
  Answered,  // q.reply holds the full reply
  Pending,   // the handler will call resume(q, verdict) later, on the same worker
  Drop,      // send nothing
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Runs in chain order. Must not block and should not allocate.
  virtual Verdict onQuery(dns::Query& q) = 0;
  // Runs in reverse order for the handlers the query entered (those before and including the
  // one that answered), once the reply is final but before it is sent.
  virtual void onReply(dns::Query& q) { (void)q; }
  // Whether onReply does anything; the runner skips the others.
  virtual bool observesReplies() const { return false; }
  // Whether this handler is entered by a NOTIFY (opcode 4). Only a plugin that serves a zone
  // transferred in (secondary) says yes; for every other handler a NOTIFY is not a query, and
  // the runner skips it (a NOTIFY nothing took is NOTIMP, as for a server without NOTIFY).
  virtual bool takesNotify() const { return false; }
  virtual std::string_view name() const = 0;
};

using HandlerPtr = std::shared_ptr<Handler>;

// A handler that is not ready to answer yet (kubernetes before its first snapshot) implements
// this too; `ready` reports the ones in its blocks that are not ready.
class Readiness {
 public:
  virtual ~Readiness() = default;
  virtual bool ready() const = 0;
  virtual std::string_view readinessName() const = 0;  // the plugin name /ready lists
};

// A handler that asked the server to resolve a name for it (see Runner::subquery).
class SubqueryClient {
 public:
  virtual ~SubqueryClient() = default;
  // The subquery's reply (uncompressed names not guaranteed), or empty when it was dropped.
  // Called on the parent's worker, never from inside the parent's onQuery.
  virtual void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) = 0;
};

// Runs chains. The server's dispatcher is one; tests use a fake one to see what a pending
// handler resumed with.
class Runner : public dns::Dispatcher {
 public:
  virtual void resume(dns::Query& q, Verdict verdict) = 0;

  // Resolves NAME/TYPE through the whole server, as if the parent's client had asked on the
  // same listener (CoreDNS's upstream.Lookup: how ExternalName targets reach forward). The
  // caller returns Verdict::Pending and resumes the parent from onSubquery. False when it
  // cannot start (nesting too deep, no capacity): answer without it.
  virtual bool subquery(dns::Query& parent, std::span<const uint8_t> name, uint16_t type,
                        SubqueryClient& client) = 0;

  // Runs the handlers after the caller in the parent's chain on a copy of the parent's request
  // (EDNS and all) and hands their reply to `client` instead of the parent's client: CoreDNS's
  // Next.ServeDNS with a nonwriter, how dns64 reads what the plugins after it answer. Those
  // handlers observe that reply (cache stores it); the ones before the caller only see the
  // parent's. An error a handler or the runner recorded (q.error, egressBlocked) becomes the
  // parent's before onSubquery runs. Same contract as subquery: the caller returns Pending and
  // resumes from onSubquery; false when it cannot start. onSubquery may ask for another
  // subquery: it starts once onSubquery returns.
  virtual bool subqueryNext(dns::Query& parent, SubqueryClient& client) {
    (void)parent;
    (void)client;
    return false;
  }
  // As subqueryNext, with the question's name replaced by `name` (an uncompressed wire name):
  // type, class, flags and EDNS stay the parent's. How autopath tries its search path through
  // the plugins after it, as CoreDNS's autopath calls Next with a rewritten question.
  virtual bool subqueryNext(dns::Query& parent, std::span<const uint8_t> name, SubqueryClient& client) {
    (void)parent;
    (void)name;
    (void)client;
    return false;
  }
};

// A pending handler finishes a query through this (Next continues with the following handler).
// q.dispatcher must be a Runner.
inline void resume(dns::Query& q, Verdict verdict) {
  static_cast<Runner*>(q.dispatcher)->resume(q, verdict);
}

}  // namespace moat::plugins
