#include "plugins/health/health.hpp"

#include <algorithm>

#include "conf/args.hpp"
#include "dns/server/http.hpp"
#include "plugins/http_address.hpp"

namespace moat::plugins::health {
namespace {

constexpr std::string_view kPlugin = "health";

}  // namespace

conf::Result<HandlerPtr> setupHealth(const SetupContext& ctx) {
  for (const conf::Directive* stanza : ctx.stanzas) {
    auto address = httpAddress(*stanza, kPlugin, kDefaultAddress);
    if (!address) return address.error();
    std::chrono::milliseconds lameduck{0};
    for (const conf::Directive& option : stanza->block) {
      if (option.name.text != "lameduck") return conf::unknownOption(option, kPlugin, {"lameduck"});
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      auto duration = conf::parseDuration(option.args[0], kPlugin, "lameduck");
      if (!duration) return duration.error();
      if (duration->count() < 0) {
        return conf::errorAt(option.args[0], kPlugin, "lameduck must not be negative, got '" + option.args[0].text + "'");
      }
      lameduck = std::chrono::ceil<std::chrono::milliseconds>(*duration);
    }
    if (ctx.http != nullptr) {
      // Answers regardless of plugin state, as CoreDNS's does. CoreDNS also probes this route
      // itself every second for coredns_health_request_duration_seconds and
      // coredns_health_request_failures_total: that belongs with the metrics (issue 5).
      ctx.http->push_back({*address, std::string(kPath), [] { return HttpResponse{200, "OK"}; }});
    }
    if (ctx.lameduck != nullptr) *ctx.lameduck = std::max(*ctx.lameduck, lameduck);
  }
  return HandlerPtr();
}

}  // namespace moat::plugins::health
