#include "cmd/reload.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include <spdlog/spdlog.h>

#include "conf/parser.hpp"
#include "plugins/bind/bind.hpp"
#include "plugins/reload/reload.hpp"

namespace moat::app {

Reloader::Reloader(std::string path, BuildOptions options, plugins::ChainRunner& runner,
                   std::vector<dns::server::ListenSpec> bound, std::string hash,
                   dns::server::Server* server)
    : path_(std::move(path)), options_(options), runner_(runner), server_(server), bound_(std::move(bound)),
      hash_(std::move(hash)) {
  plugins::registerMetricSource(std::weak_ptr<const plugins::MetricSource>(stats_));
}

void ReloadStats::collect(std::vector<plugins::MetricSample>& out) const {
  out.push_back({"coredns_reload_failed_total", "Corefile reloads that failed (the running configuration stayed).",
                 false, {}, static_cast<double>(failures())});
}

void Reloader::fail(const std::string& why) {
  // One count and one log line per broken version, as CoreDNS: a Corefile that stays broken is
  // not counted again on every interval tick.
  if (why == lastFailure_) return;
  stats_->countFailure();
  lastFailure_ = why;
  spdlog::error("plugin/reload: Corefile changed but reload failed, keeping the running configuration: {}", why);
}

namespace {

// Whether the addresses the Corefile's `bind` directives resolve to now differ from those bound:
// an interface gained or lost one. A directive that no longer resolves counts as a change, so
// the rebuild reports it.
bool bindAddressesMoved(const conf::Corefile& corefile, const std::vector<dns::server::ListenSpec>& bound) {
  std::vector<std::string> now, before;
  for (const conf::ServerBlock& block : corefile.blocks) {
    std::vector<const conf::Directive*> stanzas;
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "bind") stanzas.push_back(&d);
    }
    auto addresses = plugins::bind::bindAddresses(stanzas);
    if (!addresses) return true;
    now.insert(now.end(), addresses->begin(), addresses->end());
  }
  for (const auto& spec : bound) {
    if (!spec.address.empty()) before.push_back(spec.address);
  }
  for (auto* list : {&now, &before}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  return now != before;
}

// Whether a block serves DNS over TLS: its certificate files may have been renewed without the
// Corefile changing, so SIGUSR1 reads them again.
bool servesTls(const conf::Corefile& corefile) {
  for (const conf::ServerBlock& block : corefile.blocks) {
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "tls") return true;
    }
  }
  return false;
}

}  // namespace

Reloader::Outcome Reloader::check(Trigger trigger) {
  std::vector<conf::Diag> warnings;
  conf::ParseOptions popts;
  popts.warnings = &warnings;
  auto corefile = conf::loadCorefile(path_, popts);
  if (!corefile) {
    fail(corefile.error().str());
    return Outcome::Failed;
  }
  std::string hash = plugins::reload::corefileHash(*corefile);
  if (hash == hash_ &&
      (trigger == Trigger::Interval || (!bindAddressesMoved(*corefile, bound_) && !servesTls(*corefile)))) {
    lastFailure_.clear();
    return Outcome::Unchanged;
  }
  auto rt = buildRuntime(*corefile, options_);
  if (!rt) {
    fail(rt.error().str());
    return Outcome::Failed;
  }
  // Listeners stay bound across reloads: each of the new configuration's listeners keeps the id
  // of the bound socket with the same address and port; a new one gets a fresh id.
  // A port that changes transport (dns:// to tls:// or back) is a new listener.
  std::map<std::tuple<std::string, uint16_t, bool>, uint16_t> boundIds;
  uint16_t nextId = 0;
  for (const auto& spec : bound_) {
    boundIds[{spec.address, spec.port, bool(spec.tls)}] = spec.id;
    nextId = std::max<uint16_t>(nextId, static_cast<uint16_t>(spec.id + 1));
  }
  std::vector<dns::server::ListenSpec> next, added;
  for (const auto& spec : rt->listeners) {
    auto it = boundIds.find({spec.address, spec.port, bool(spec.tls)});
    const uint16_t id = it != boundIds.end() ? it->second : nextId++;
    next.push_back({spec.address, spec.port, id, spec.tcp, spec.tls});
    if (it == boundIds.end()) added.push_back(next.back());
  }
  auto table = std::make_shared<plugins::RouteTable>();
  table->listeners.resize(nextId);  // ids no block uses any more route nothing: REFUSED
  for (size_t i = 0; i < rt->listeners.size(); ++i) {
    table->listeners[next[i].id] = rt->routes->listeners[rt->listeners[i].id];
  }
  std::vector<uint16_t> dropped;
  for (const auto& spec : bound_) {
    bool kept = std::any_of(next.begin(), next.end(), [&](const auto& n) { return n.id == spec.id; });
    if (!kept) dropped.push_back(spec.id);
  }
  if ((!added.empty() || !dropped.empty()) && server_ == nullptr) {
    fail("the listen addresses changed; restart Moat to apply them");
    return Outcome::Failed;
  }
  // New sockets first: if one cannot be bound, nothing changes.
  std::string listenError;
  if (!added.empty() && !server_->listen(added, runner_, listenError)) {
    fail("listen " + listenError);
    return Outcome::Failed;
  }
  for (const auto& w : warnings) spdlog::warn("{}", w.str());
  for (const auto& w : rt->warnings) spdlog::warn("{}", w.str());
  // HTTP routes (health, ready) are bound once at start and are not reloaded.
  runner_.publish(std::move(table));
  for (uint16_t id : dropped) server_->removeListener(id);
  for (const auto& spec : next) {  // listeners kept: a `timeouts` change applies to new connections
    if (server_ != nullptr && std::none_of(added.begin(), added.end(), [&](const auto& a) { return a.id == spec.id; })) {
      server_->setTcpLimits(spec.id, spec.tcp);
      if (spec.tls) server_->setTls(spec.id, spec.tls);  // certificates are read again on reload
    }
  }
  bound_ = std::move(next);
  hash_ = hash;
  lastFailure_.clear();
  spdlog::info("Reloading");
  spdlog::info("plugin/reload: Running configuration SHA512 = {}", hash_);
  return Outcome::Reloaded;
}

void Reloader::schedule(boost::asio::io_context& main, std::optional<std::chrono::milliseconds> interval,
                        std::chrono::milliseconds jitter) {
  signals_.emplace(main, SIGUSR1);
  armSignal();
  if (!interval) return;
  interval_ = *interval;
  jitter_ = jitter;
  timer_.emplace(main);
  armTimer();
}

void Reloader::armSignal() {
  signals_->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    check(Trigger::Signal);
    armSignal();
  });
}

void Reloader::armTimer() {
  // interval ± jitter, as CoreDNS, so replicas of one ConfigMap do not reload in lockstep.
  auto delay = interval_;
  if (jitter_.count() > 0) {
    std::uniform_int_distribution<long> spread(-jitter_.count(), jitter_.count());
    delay += std::chrono::milliseconds(spread(rng_));
  }
  timer_->expires_after(delay);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    check();
    armTimer();
  });
}

}  // namespace moat::app
