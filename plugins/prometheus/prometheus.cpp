#include "plugins/prometheus/prometheus.hpp"

#include <netinet/in.h>

#include <algorithm>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "dns/server/http.hpp"
#include "plugins/http_address.hpp"
#include "plugins/chain.hpp"
#include "plugins/server_label.hpp"

namespace moat::plugins::prometheus {
namespace {

constexpr std::string_view kPlugin = "prometheus";

// Directives that configure the process but put no handler in the chain, so CoreDNS's
// plugin_enabled (which lists the block's handlers) does not name them.
bool hasHandler(std::string_view name) {
  return name != "bind" && name != "health" && name != "ready" && name != "reload" && name != "debug" &&
         name != "pprof";
}

}  // namespace

BlockLabels blockLabels(const SetupContext& ctx) {
  BlockLabels labels;
  if (ctx.block != nullptr) {
    for (const conf::Directive& d : ctx.block->directives) {
      const std::string& name = d.name.text;
      if (hasHandler(name) && std::find(labels.plugins.begin(), labels.plugins.end(), name) == labels.plugins.end()) {
        labels.plugins.push_back(name);
      }
    }
    std::sort(labels.plugins.begin(), labels.plugins.end());
  }
  labels.server = serverLabel(ctx);
  labels.view = ctx.view;
  labels.zones = ctx.zones;
  if (labels.zones.empty()) labels.zones.push_back(".");
  return labels;
}

Verdict PrometheusHandler::onQuery(dns::Query& q) {
  (void)q;
  return Verdict::Next;  // everything is counted once the reply is final
}

void PrometheusHandler::onReply(dns::Query& q) {
  Observation o;
  o.zone = metrics_->zoneIndex(q.view.question.lowerName());
  o.tcp = q.proto == dns::Proto::Tcp;
  // An IPv4 client on a dual-stack socket arrives v4-mapped; CoreDNS counts it as family 1.
  o.ipv6 = q.client.family() == AF_INET6 &&
           !IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6&>(q.client.addr).sin6_addr);
  o.type = typeIndex(q.view.question.qtype);
  o.dnssecOk = q.view.edns.present && q.view.edns.dnssecOk;
  o.requestSize = q.requestLen;
  o.responseSize = q.reply.size();
  o.rcode = q.reply.size() >= dns::kHeaderSize ? dns::get16(q.reply.data() + 2) & dns::flag::RcodeMask : 0;
  // The writer is chain.handlers[q.position], as the runner records it. Only an index past ours
  // can be the writer (we never answer); anything else is unknown and labelled "" rather than
  // guessed.
  if (const auto* chain = static_cast<const Chain*>(q.route); chain != nullptr) {
    size_t self = chain->handlers.size();
    for (size_t i = 0; i < chain->handlers.size(); ++i) {
      if (chain->handlers[i].get() == this) {
        self = i;
        break;
      }
    }
    if (q.position > self && q.position < chain->handlers.size()) {
      o.plugin = metrics_->pluginIndex(chain->handlers[q.position]->name());
    }
  }
  o.durationNs = static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - q.start).count()));
  metrics_->record(q.worker, o);
}

conf::Result<HandlerPtr> setupPrometheus(const SetupContext& ctx) {
  std::string address(kDefaultAddress);
  for (const conf::Directive* stanza : ctx.stanzas) {
    if (stanza->hasBlock) return conf::errorAt(stanza->name, kPlugin, "'prometheus' takes no block");
    auto parsed = httpAddress(*stanza, kPlugin, kDefaultAddress);
    if (!parsed) return parsed.error();
    address = *parsed;
  }
  Metrics& metrics = Metrics::instance();
  if (ctx.http != nullptr) {
    // Every block's route serves the same process-wide text, so it does not matter which one
    // the HTTP server keeps for a shared address.
    ctx.http->push_back({address, std::string(kPath), [&metrics] {
                           return HttpResponse{200, metrics.scrape(), "text/plain; version=0.0.4; charset=utf-8"};
                         }});
  }
  auto block = metrics.collector().block(blockLabels(ctx), static_cast<unsigned>(ctx.loops.size()));
  return HandlerPtr(std::make_shared<PrometheusHandler>(std::move(block)));
}

}  // namespace moat::plugins::prometheus
