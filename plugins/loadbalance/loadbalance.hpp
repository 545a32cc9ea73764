// The `loadbalance` plugin, CoreDNS's round_robin policy: once a NOERROR reply is final, each
// section has its CNAMEs moved to the front and its A/AAAA and MX records shuffled; with
// `prefer`, addresses inside the listed subnets are then moved to the front. Only the reply's
// wire bytes are reordered, compression pointers stay valid, and nothing is allocated per query.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::loadbalance {

// One CIDR of a `prefer` option, compared the way Go's net.IPNet.Contains compares: an IPv4
// range also holds IPv4-mapped AAAA addresses, and an IPv4-mapped IPv6 range is an IPv4 range.
struct Subnet {
  bool v4 = true;
  std::array<uint8_t, 16> network{};  // masked; IPv4 uses the first 4 bytes
  uint8_t prefix = 0;

  // `address` is A (4 bytes) or AAAA (16 bytes) RDATA; any other length is outside.
  bool contains(std::span<const uint8_t> address) const;
};

// "10.9.20.0/24", "2001:db8::/32" (host bits are masked off); nullopt when not a CIDR.
std::optional<Subnet> parseSubnet(std::string_view text);

struct Config {
  // In the order written: an address ranks by the first subnet that holds it.
  std::vector<Subnet> prefer;
};

// Pure: the block's `loadbalance` stanzas to a config, or a positioned error. Several stanzas
// are read in order as CoreDNS reads them (their `prefer` subnets add up).
conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas);

class LoadbalanceHandler final : public Handler {
 public:
  // `workers` is the number of event loops whose replies pass through; each gets its own
  // generator (seeded from `seed`) and scratch buffer.
  LoadbalanceHandler(Config config, size_t workers, uint64_t seed);
  ~LoadbalanceHandler() override;

  Verdict onQuery(dns::Query&) override { return Verdict::Next; }
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "loadbalance"; }

  // Reorders the reply `msg` in place with worker `worker`'s state (onReply's body; tests call
  // it on hand-made replies). Replies it must not or cannot reorder are left as they are.
  void balance(std::span<uint8_t> msg, unsigned worker);

 private:
  struct WorkerState;

  Config config_;
  size_t workers_;
  std::unique_ptr<WorkerState[]> state_;
};

conf::Result<HandlerPtr> setupLoadbalance(const SetupContext& ctx);

}  // namespace moat::plugins::loadbalance
