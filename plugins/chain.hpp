// Runs queries through the chain of the server block they belong to. The route table (which
// zones each listener serves, and each block's chain) is immutable once published; a reload
// publishes a new one and queries already in flight finish on the one they started with.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dns/zone_set.hpp"
#include "plugins/handler.hpp"

namespace moat::plugins {

// Whether a server block takes a query, decided before its chain runs (CoreDNS's
// dnsserver.Viewer, which the `view` plugin implements).
class BlockFilter {
 public:
  virtual ~BlockFilter() = default;
  virtual bool admits(const dns::Query& q) const = 0;
  virtual std::string_view viewName() const = 0;
  // Why it admits `q` or not, for `moat explain` ("incidr(client_ip(), '10.0.0.0/8') is false").
  virtual std::string explain(const dns::Query& q) const = 0;
};

// One server block's handlers, in execution order.
struct Chain {
  std::vector<HandlerPtr> handlers;
  std::vector<bool> observes;  // handlers[i]->observesReplies(), cached
  std::vector<bool> notify;    // handlers[i]->takesNotify(), cached
  std::string zone;            // the block zone this chain was reached by (for logs and metrics)
  std::shared_ptr<const BlockFilter> filter;  // null: the block takes every query of its zones
  // The plugin a query that runs off the end is blamed on ("plugin/loop: no next plugin
  // found"): as in CoreDNS, the last plugin in chain order, counting only those the Corefile
  // wrote. A handler every block gets without a line (the built-in private zones) is never
  // it: the error would name a plugin the user cannot find in the Corefile.
  std::string_view lastWritten;

  // `written`: the block has a directive for this plugin.
  void add(HandlerPtr handler, bool written = true) {
    observes.push_back(handler->observesReplies());
    notify.push_back(handler->takesNotify());
    if (written) lastWritten = handler->name();
    handlers.push_back(std::move(handler));
  }
};

// What one listener (address + port) serves: zones, each with the chains of the blocks that
// serve it, in Corefile order.
struct ListenerRoutes {
  dns::ZoneSet zones;
  std::vector<std::vector<std::shared_ptr<const Chain>>> chains;  // indexed like zones
  bool acceptsAnyClass = false;  // a forward or chaos is configured: non-IN classes pass (as CoreDNS)

  // The block that serves `q`, as CoreDNS's Server.ServeDNS picks it: the zones the name is
  // in from the longest, then "."; within a zone the first block in Corefile order whose
  // filter admits the query or that has none. A zone whose block has no plugins answers
  // REFUSED (nullptr), as does a name no admitting block serves. `rejected`, when given,
  // collects the blocks whose filter turned the query away, in the order they were tried.
  const Chain* route(const dns::Query& q, std::vector<const Chain*>* rejected = nullptr) const;
  // Adds `chain` as the next block serving `zone`.
  void add(const std::string& zone, std::shared_ptr<const Chain> chain);
};

struct RouteTable {
  std::vector<ListenerRoutes> listeners;  // indexed by Query::listener
};

// Counters the runner keeps per worker (single writer each).
struct RunnerStats {
  std::atomic<uint64_t> refusedNoZone{0};  // no block serves the name: REFUSED (CoreDNS zone "dropped")
  std::atomic<uint64_t> offTheEnd{0};      // the chain ran out: SERVFAIL
  std::atomic<uint64_t> notifyUntaken{0};  // a NOTIFY no handler took: NOTIMP
};

class ChainRunner final : public Runner {
 public:
  explicit ChainRunner(unsigned workers);
  void publish(std::shared_ptr<const RouteTable> table);

  void dispatch(dns::Query& q) override;
  void resume(dns::Query& q, Verdict verdict) override;
  bool subquery(dns::Query& parent, std::span<const uint8_t> name, uint16_t type,
                SubqueryClient& client) override;
  bool subqueryNext(dns::Query& parent, SubqueryClient& client) override;
  bool subqueryNext(dns::Query& parent, std::span<const uint8_t> name, SubqueryClient& client) override;

  uint64_t refusedNoZone() const;
  uint64_t offTheEnd() const;
  uint64_t notifyUntaken() const;

 private:
  static constexpr uint8_t kMaxDepth = 4;       // ExternalName -> ExternalName -> ... bounded
  static constexpr size_t kMaxSubqueries = 256;  // per worker in flight

  // A subquery in flight: its own Query (a synthetic request), the parent, who gets the reply.
  struct Subquery final : dns::ReplySink {
    ChainRunner* runner = nullptr;
    unsigned worker = 0;
    dns::Query query;
    dns::Query* parent = nullptr;
    SubqueryClient* client = nullptr;
    bool next = false;  // runs the rest of the parent's chain (subqueryNext), not the server
    void sendReply(dns::Query& q) override;
    void dropQuery(dns::Query& q) override;
  };

  struct alignas(64) WorkerSlot {
    uint64_t generation = 0;
    std::shared_ptr<const RouteTable> table;
    RunnerStats stats;
    std::vector<std::unique_ptr<Subquery>> subqueries;  // created on first use, reused
    std::vector<Subquery*> freeSubqueries;
    std::vector<Subquery*> queued;  // asked for during onQuery; started once the parent is Pending
  };

  Subquery* acquire(const dns::Query& parent);
  void adopt(Subquery& s, dns::Query& parent, SubqueryClient& client);
  void startQueued(unsigned worker);
  void release(Subquery& s);

  const std::shared_ptr<const RouteTable>& current(unsigned worker);
  void run(dns::Query& q, const Chain& chain, size_t from);
  void finish(dns::Query& q, const Chain& chain, size_t last);
  void refuse(dns::Query& q);

  std::vector<WorkerSlot> slots_;
  std::mutex mutex_;  // guards table_ for publishers and for workers refreshing their slot
  std::shared_ptr<const RouteTable> table_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace moat::plugins
