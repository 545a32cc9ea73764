// The `autopath` plugin, as CoreDNS's: server-side search path completion. A question whose
// name ends in the first domain of the client's search path is taken as the first try of a
// stub resolver walking that path; autopath strips that domain and asks the plugins after it
// for the name with each search domain in turn, then the bare name, and answers the first reply
// that is not NXDOMAIN, with a CNAME from the asked name to the one that answered. The client
// makes one round trip instead of one per search domain. Every try is an ordinary question to
// the plugins after it: hosts, kubernetes, the private answer and forward's egress check see
// each one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/name.hpp"
#include "dns/zone_set.hpp"
#include "plugins/block_peer.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"
#include "plugins/search_path.hpp"

namespace moat::plugins::autopath {

struct Config {
  conf::Pos pos;                      // the RESOLV-CONF argument
  std::vector<std::string> zones;     // normalised; the block's zones when none are given
  std::string resolvConf;             // as written: a file, or "@kubernetes"
  std::string plugin;                 // "kubernetes" for @kubernetes; empty for a file
  std::vector<dns::WireName> search;  // the file's search domains, lowercased (not the bare name)
};

// The block's `autopath` stanza to a config, or a positioned error. A RESOLV-CONF file is read
// here (relative to the Corefile's directory); `@kubernetes` needs a kubernetes stanza with
// `pods verified` in the same block.
conf::Result<Config> parseConfig(const SetupContext& ctx);

class AutoPath final : public Handler, public BlockPeer, public MetricSource {
 public:
  AutoPath(Config config, size_t workers, std::string server);
  ~AutoPath() override;

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "autopath"; }
  // Finds the plugin @NAME names among the handlers of its block.
  void peersReady(std::span<const HandlerPtr> chain) override;

  // coredns_autopath_success_total{server}: queries answered from a search-path name.
  void collect(std::vector<MetricSample>& out) const override;
  uint64_t successes() const;

  const Config& config() const { return config_; }
  // For tests: a source of search paths other than the block's peers.
  void useSource(SearchPathSource* source) { source_ = source; }

 private:
  // One query walking its search path: the path, and the try in flight. Pooled per worker.
  struct Walk final : SubqueryClient {
    AutoPath* owner = nullptr;
    SearchPath path;
    size_t tried = 0;     // index in `path` of the try in flight
    size_t baseLen = 0;   // the asked name without the first search domain, root label excluded
    bool firstDropped = false;
    void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  };
  struct alignas(64) WorkerState {
    std::vector<std::unique_ptr<Walk>> walks;  // created on first use, reused
    std::vector<Walk*> idle;
    std::atomic<uint64_t> successes{0};
  };
  static constexpr size_t kMaxWalks = 256;  // per worker in flight, as many as subqueries

  Walk* acquire(unsigned worker);
  void release(unsigned worker, Walk& walk);
  bool tryNext(dns::Query& parent, Walk& walk);
  void answer(dns::Query& parent, Walk& walk, std::span<const uint8_t> reply);

  Config config_;
  dns::ZoneSet zones_;
  size_t workers_;
  std::unique_ptr<WorkerState[]> state_;
  std::string server_;
  SearchPathSource* source_ = nullptr;  // a peer in the same chain: lives as long as this
};

conf::Result<HandlerPtr> setupAutoPath(const SetupContext& ctx);

}  // namespace moat::plugins::autopath
