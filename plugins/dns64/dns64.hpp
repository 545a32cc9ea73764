// The `dns64` plugin, as CoreDNS's (RFC 6147): an AAAA question from an IPv6 client goes to
// the plugins after dns64 first; when their answer holds no AAAA record and is not NXDOMAIN,
// the same name is asked for A through the whole server and each A record comes back as an
// AAAA record under the NAT64 prefix (RFC 6052). `translate_all` synthesizes even when AAAA
// records exist; `allow_ipv4` serves IPv4 clients too. Both lookups are ordinary queries of
// this server: routing, cache and the egress check treat them as any other.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::dns64 {

// RFC 6147 §5.1.7: the TTL of a synthesized record is at most the SOA's of the AAAA answer, or
// this when it had none (CoreDNS's default too).
constexpr uint32_t kDefaultSoaTtl = 600;

struct Config {
  // 64:ff9b::/96, the well-known prefix (RFC 6052 §2.1); bits past `prefixLength` are zero.
  std::array<uint8_t, 16> prefix = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  uint8_t prefixLength = 96;  // 32, 40, 48, 56, 64 or 96
  bool translateAll = false;  // `translate_all`
  bool allowIpv4 = false;     // `allow_ipv4`
};

// Pure: the block's `dns64` stanzas to a config, or a positioned error. Several stanzas are
// read in order, as CoreDNS reads them: the last prefix wins, the flags add up.
conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas);

// "64:ff9b::/96" to a prefix: an IPv6 CIDR of a length RFC 6052 §2.2 defines, whose u-octet
// (bits 64 to 71) is zero; host bits are cleared, as Go's net.ParseCIDR clears them.
conf::Result<Config> parsePrefix(const conf::Token& token, Config config);

// RFC 6052 §2.2: the IPv4 address embedded under the prefix, skipping the u-octet.
std::array<uint8_t, 16> synthesize(const Config& config, std::span<const uint8_t, 4> ipv4);

class Dns64 final : public Handler, public MetricSource {
 public:
  Dns64(Config config, size_t workers, std::string server);
  ~Dns64() override;

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "dns64"; }

  // coredns_dns64_requests_translated_total{server}: replies synthesized, as CoreDNS counts them
  // (a series once counted).
  void collect(std::vector<MetricSample>& out) const override;
  uint64_t translated() const;

  const Config& config() const { return config_; }

 private:
  // The reply of the plugins after dns64 to the AAAA question.
  struct Rest final : SubqueryClient {
    Dns64& owner;
    explicit Rest(Dns64& o) : owner(o) {}
    void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  };
  // The whole server's reply to the A question.
  struct Ipv4 final : SubqueryClient {
    Dns64& owner;
    explicit Ipv4(Dns64& o) : owner(o) {}
    void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  };
  struct alignas(64) WorkerCount {
    std::atomic<uint64_t> n{0};
  };

  bool intercepts(const dns::Query& q) const;
  bool wantsSynthesis(std::span<const uint8_t> reply) const;
  void answerAaaa(dns::Query& parent, std::span<const uint8_t> aReply);

  Config config_;
  size_t workers_;
  std::unique_ptr<WorkerCount[]> counts_;
  std::string server_;
  Rest rest_{*this};
  Ipv4 ipv4_{*this};
};

conf::Result<HandlerPtr> setupDns64(const SetupContext& ctx);

}  // namespace moat::plugins::dns64
