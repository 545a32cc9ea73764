// The `bufsize` plugin, as CoreDNS's: a query whose OPT offers a UDP buffer larger than SIZE has
// it lowered to SIZE in the request itself, so every plugin after it, the query `forward` sends
// upstream and the fitting of the reply all see at most SIZE. Queries without EDNS, and
// smaller buffers, are left alone: it never raises a size.
#pragma once

#include <cstdint>
#include <string_view>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::bufsize {

constexpr uint16_t kDefaultSize = 1232;  // DNS Flag Day 2020's recommendation, as CoreDNS
constexpr uint16_t kMinSize = 512, kMaxSize = 4096;  // CoreDNS's range (RFC 6891's advice)

// Pure: the block's first `bufsize` stanza to its size, or a positioned error.
conf::Result<uint16_t> parseSize(const conf::Directive& stanza);

class BufsizeHandler final : public Handler {
 public:
  explicit BufsizeHandler(uint16_t size) : size_(size) {}

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "bufsize"; }

  uint16_t size() const { return size_; }

 private:
  uint16_t size_;
};

conf::Result<HandlerPtr> setupBufsize(const SetupContext& ctx);

}  // namespace moat::plugins::bufsize
