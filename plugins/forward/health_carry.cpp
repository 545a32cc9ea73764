#include "plugins/forward/health_carry.hpp"

#include <mutex>
#include <string>
#include <vector>

namespace moat::plugins::forward {

namespace {

struct Live {
  std::mutex mu;
  std::vector<std::weak_ptr<const Shared>> handlers;
};

Live& live() {
  static Live* l = new Live();  // never destroyed: handlers may be torn down at exit
  return *l;
}

// What makes two upstreams "probed the same way": health carried between them means the same.
std::string healthKey(const StanzaState& st, const UpstreamState& up) {
  const Options& o = st.config.options;
  return up.addr.text + "|" + st.config.from + "|" + std::to_string(o.maxFails) + "|" +
         std::to_string(o.healthCheck.count()) + "|" + o.hcDomainText + "|" +
         (up.addr.doh ? "https" : up.addr.tls ? "tls" : o.forceTcp ? "tcp" : "udp") + "|" +
         (o.hcRecursionDesired ? "rd" : "nord");
}

}  // namespace

std::vector<std::pair<uint32_t, uint32_t>> carryHealth(const std::shared_ptr<Shared>& shared) {
  std::vector<std::pair<uint32_t, uint32_t>> down;
  Live& l = live();
  std::lock_guard lock(l.mu);
  std::erase_if(l.handlers, [](const auto& w) { return w.expired(); });
  for (uint32_t s = 0; s < shared->stanzas.size(); ++s) {
    StanzaState& st = *shared->stanzas[s];
    for (uint32_t u = 0; u < st.upstreams.size(); ++u) {
      UpstreamState& up = *st.upstreams[u];
      const std::string key = healthKey(st, up);
      for (const auto& w : l.handlers) {
        auto old = w.lock();
        if (!old) continue;
        for (const auto& ost : old->stanzas) {
          for (const auto& oup : ost->upstreams) {
            if (healthKey(*ost, *oup) != key) continue;
            up.fails.store(oup->fails.load(std::memory_order_relaxed), std::memory_order_relaxed);
          }
        }
      }
      if (up.down(st.config.options.maxFails)) down.emplace_back(s, u);
    }
  }
  l.handlers.push_back(shared);
  return down;
}

}  // namespace moat::plugins::forward
