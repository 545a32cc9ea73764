// The `acl` plugin, as CoreDNS's: the rules of a block are tried in order; a rule whose zones hold
// the qname asks its policies, first match wins. allow passes the query on (and ends the
// search), block answers REFUSED with extended DNS error 15 (Blocked), filter an empty NOERROR
// with extended DNS error 17 (Filtered), drop sends nothing. A rule with no matching policy
// leaves the decision to the next rule; no decision at all means allow.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/zone_set.hpp"
#include "plugins/acl/config.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::acl {

// EDNS option code of an extended DNS error (RFC 8914), and the two info codes acl sends.
constexpr uint16_t kEdeOption = 15;
constexpr uint16_t kEdeBlocked = 15;
constexpr uint16_t kEdeFiltered = 17;

class Acl final : public Handler, public MetricSource {
 public:
  // `workers`: the event loops that will query it; a query from any other worker index (tools,
  // tests) is counted in a shared spare slot. `server` and `view` label the metrics.
  Acl(AclConfig config, size_t workers, std::string server, std::string view);

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "acl"; }

  // coredns_acl_{blocked,filtered,dropped}_requests_total{server,zone,view} and
  // coredns_acl_allowed_requests_total{server,view}, for the series counted so far.
  void collect(std::vector<MetricSample>& out) const override;

  // Summed over workers: queries allowed, and those `action` decided in rule zone `zone`.
  uint64_t allowed() const;
  uint64_t decided(Action action, std::string_view zone) const;

 private:
  struct CompiledRule {
    dns::ZoneSet zones;
    std::vector<uint32_t> labelOf;  // zone index -> index into zoneLabels_
    std::vector<Policy> policies;
  };
  // Per worker, on its own cache lines: the allowed count, then for block, filter and drop one
  // counter per zone label.
  struct alignas(64) Slot {
    explicit Slot(size_t counters);
    std::atomic<uint64_t> allowed{0};
    std::unique_ptr<std::atomic<uint64_t>[]> decided;
  };

  const Policy* firstMatch(const CompiledRule& rule, const IpKey& client, uint16_t qtype) const;
  void countAllowed(unsigned worker);
  void countDecided(unsigned worker, Action action, uint32_t label);
  size_t counterIndex(Action action, uint32_t label) const;
  bool spare(unsigned worker) const { return worker >= slots_.size() - 1; }
  Slot& slotOf(unsigned worker) { return *slots_[spare(worker) ? slots_.size() - 1 : worker]; }
  void note(dns::Query& q, std::string_view zone, const Policy* policy, Action action) const;

  std::vector<CompiledRule> rules_;
  std::vector<std::string> zoneLabels_;       // distinct rule zones, the `zone` label values
  std::vector<std::unique_ptr<Slot>> slots_;  // workers, then the spare
  std::string server_;
  std::string view_;
};

// Writes the reply CoreDNS's acl writes for block (REFUSED, EDE 15) and filter (NOERROR, EDE 17):
// the question echoed, no records but an OPT carrying the EDE option with no extra text. The
// OPT is what CoreDNS sends after its server's EDNS fitting: the client's UDP size when it sent
// an OPT (4096 when it did not), version 0, and the DO bit set in both cases.
void writeExtendedError(dns::Query& q, dns::RCode rcode, uint16_t infoCode);

// PluginSpec::setup for "acl": every stanza of the block, in order.
conf::Result<HandlerPtr> setupAcl(const SetupContext& ctx);

}  // namespace moat::plugins::acl
