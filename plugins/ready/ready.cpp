#include "plugins/ready/ready.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

#include "conf/args.hpp"
#include "dns/server/http.hpp"
#include "plugins/http_address.hpp"

namespace moat::plugins::ready {
namespace {

constexpr std::string_view kPlugin = "ready";

std::atomic<bool> gShuttingDown{false};

using ReadinessList = std::vector<std::shared_ptr<const Readiness>>;

// What one `ready` route asks, and (until-ready) who already said yes.
class Monitor {
 public:
  Monitor(std::shared_ptr<const ReadinessList> list, bool continuously)
      : list_(std::move(list)), continuously_(continuously) {}

  HttpResponse check() {
    if (shuttingDown()) return {503, "Shutting down"};
    std::vector<std::string> unready;
    {
      std::lock_guard lock(mu_);  // routes run on the HTTP thread; tests call from theirs
      if (list_) {
        for (const auto& r : *list_) {
          if (!continuously_ && done_.count(r.get()) != 0) continue;
          if (!r->ready()) {
            unready.emplace_back(r->readinessName());
          } else if (!continuously_) {
            done_.insert(r.get());
          }
        }
      }
    }
    if (unready.empty()) return {200, "OK"};
    std::sort(unready.begin(), unready.end());
    std::string body;
    for (const std::string& name : unready) {
      if (!body.empty()) body += ',';
      body += name;
    }
    return {503, std::move(body)};
  }

 private:
  std::shared_ptr<const ReadinessList> list_;
  bool continuously_;
  std::mutex mu_;
  std::set<const Readiness*> done_;  // the list holds them alive for as long as this
};

}  // namespace

void setShuttingDown(bool value) { gShuttingDown.store(value, std::memory_order_relaxed); }
bool shuttingDown() { return gShuttingDown.load(std::memory_order_relaxed); }

conf::Result<HandlerPtr> setupReady(const SetupContext& ctx) {
  for (const conf::Directive* stanza : ctx.stanzas) {
    auto address = httpAddress(*stanza, kPlugin, kDefaultAddress);
    if (!address) return address.error();
    bool continuously = false;  // CoreDNS's default: a plugin that was ready is not asked again
    for (const conf::Directive& option : stanza->block) {
      if (option.name.text != "monitor") return conf::unknownOption(option, kPlugin, {"monitor"});
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      const conf::Token& mode = option.args[0];
      if (mode.text != "until-ready" && mode.text != "continuously") {
        return conf::errorAt(mode, kPlugin, "monitor must be until-ready or continuously, got '" + mode.text + "'");
      }
      continuously = mode.text == "continuously";
    }
    if (ctx.http != nullptr) {
      auto monitor = std::make_shared<Monitor>(ctx.readiness, continuously);
      ctx.http->push_back({*address, std::string(kPath), [monitor] { return monitor->check(); }});
    }
  }
  return HandlerPtr();
}

}  // namespace moat::plugins::ready
