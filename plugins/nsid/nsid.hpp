// The `nsid` plugin (RFC 5001), as CoreDNS's: when a query's OPT carries the NSID option, the
// reply's OPT carries NSID with this server's identifier (the Corefile's DATA, else the host
// name). Every reply of the block gets it on the way out, cached and forwarded ones included,
// replacing an NSID an upstream put there.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::nsid {

// DATA longer than this is refused at load: an identifier, not a payload. It keeps the option
// small enough to fit a 512-byte reply beside its question.
constexpr size_t kMaxData = 128;

// Pure: the block's `nsid` stanza to the identifier's bytes, or a positioned error. `hostname`
// is the default when the stanza names none.
conf::Result<std::string> parseData(const conf::Directive& stanza, std::string_view hostname);

// The host's name, or "localhost" when it cannot be read (as CoreDNS).
std::string hostName();

class NsidHandler final : public Handler {
 public:
  explicit NsidHandler(std::string data) : data_(std::move(data)) {}

  Verdict onQuery(dns::Query& q) override;
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "nsid"; }

  std::span<const uint8_t> data() const {
    return {reinterpret_cast<const uint8_t*>(data_.data()), data_.size()};
  }

 private:
  std::string data_;
};

conf::Result<HandlerPtr> setupNsid(const SetupContext& ctx);

}  // namespace moat::plugins::nsid
