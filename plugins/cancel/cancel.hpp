// The `cancel` plugin, as CoreDNS's: every query gets a deadline TIMEOUT (5001 ms by default)
// after it came in. CoreDNS puts it on the request's context; Moat puts it on the query
// (dns::Query::deadline), and subqueries made for it inherit it. What honours it is what honours
// CoreDNS's context for plain DNS: `forward` starts no further attempt (retry or failover) once
// it has passed, and answers SERVFAIL with the last attempt's error.
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::cancel {

constexpr std::chrono::milliseconds kDefaultTimeout{5001};  // just past a stub's 5 s, as CoreDNS

// Pure: the block's `cancel` stanzas to the timeout (the last stanza wins, as in CoreDNS).
conf::Result<std::chrono::nanoseconds> parseTimeout(const std::vector<const conf::Directive*>& stanzas);

class Cancel final : public Handler {
 public:
  explicit Cancel(std::chrono::nanoseconds timeout) : timeout_(timeout) {}
  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "cancel"; }
  std::chrono::nanoseconds timeout() const { return timeout_; }

 private:
  std::chrono::nanoseconds timeout_;
};

conf::Result<HandlerPtr> setupCancel(const SetupContext& ctx);

}  // namespace moat::plugins::cancel
