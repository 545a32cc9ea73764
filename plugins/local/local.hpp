// The `local` plugin, as CoreDNS's: answers the names that must never leave the host (RFC 6761
// localhost, and the 0, 127 and 255 in-addr.arpa zones) itself, so none of them reaches a
// later plugin such as `forward`. `localhost` and the names below it are the loopback host,
// 1.0.0.127.in-addr.arpa is its PTR, and the rest of those zones is empty. With
// `localhost_prefix on` (the default), a name whose first label is `localhost`
// (localhost.example.org) is the loopback host too, as CoreDNS still does for old resolvers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::local {

// Every record `local` writes has this TTL (one week), as CoreDNS's.
constexpr uint32_t kTtl = 604800;

struct Config {
  bool localhostPrefix = true;  // `localhost_prefix on|off`
};

// Pure: the block's `local` stanzas to a config, or a positioned error.
conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas);

class LocalHandler final : public Handler, public MetricSource {
 public:
  LocalHandler(Config config, size_t workers);
  ~LocalHandler() override;

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "local"; }

  // coredns_local_localhost_requests_total: the names below localhost. and the
  // localhost.<domain> names answered (not localhost. itself), with no labels, as CoreDNS.
  void collect(std::vector<MetricSample>& out) const override;
  uint64_t localhostRequests() const;

 private:
  struct alignas(64) WorkerCount {
    std::atomic<uint64_t> n{0};
  };

  Config config_;
  size_t workers_;
  std::unique_ptr<WorkerCount[]> counts_;
};

conf::Result<HandlerPtr> setupLocal(const SetupContext& ctx);

}  // namespace moat::plugins::local
