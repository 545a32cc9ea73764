// The `file` plugin: authoritative answers from RFC 1035 zone files, with CoreDNS's semantics
// (README.md). Each zone is an immutable index published to the workers; a thread of its own
// re-reads the files when their SOA serial (or mtime) changes and keeps the old zone when the
// new file does not load.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "dns/zone_set.hpp"
#include "plugins/fall.hpp"
#include "plugins/file/config.hpp"
#include "plugins/file/lookup.hpp"
#include "plugins/file/provider.hpp"
#include "plugins/file/zone.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"
#include "plugins/published.hpp"

namespace moat::plugins::file {

// One zone of the plugin: where it comes from and what was loaded last.
class ZoneFile {
 public:
  ZoneFile(ZoneSource source, size_t workers) : source_(std::move(source)), data_(workers) {}

  const ZoneSource& source() const { return source_; }
  // The zone for a query on `worker` (null while nothing loaded).
  const Zone* view(unsigned worker, ZonePtr& hold) { return data_.view(worker, hold); }
  ZonePtr current() const { return data_.current(); }

  // Loads the file if it changed (by SOA serial, or mtime with reload_by_mtime) and publishes
  // it; logs a failure once until the file loads again. Returns the load's error, if any.
  std::optional<std::string> refresh();
  void publish(ZonePtr zone);
  // With reload_by_mtime: the file's current mtime counts as loaded (setup calls it first).
  void stampMtime();
  void sweep() { data_.sweep(); }

 private:
  ZoneSource source_;
  Published<Zone> data_;
  std::optional<std::chrono::system_clock::time_point> mtime_;
  std::string lastError_;
};

class File final : public Handler, public SubqueryClient, public ZoneProvider {
 public:
  // `zones` were loaded by setup (or are empty where the file was missing).
  File(std::vector<std::unique_ptr<ZoneFile>> zones, Fall fall);
  ~File() override;

  Verdict onQuery(dns::Query& q) override;
  void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  std::string_view name() const override { return "file"; }

  ZonePtr servedZone(std::span<const uint8_t> origin) const override;
  std::vector<std::string> servedOrigins() const override;
  void onZoneChanged(std::function<void(const std::string& origin)> listener) override;

  ZoneFile& zone(size_t i) { return *zones_[i]; }
  size_t zoneCount() const { return zones_.size(); }

 private:
  void poll(std::stop_token stop);

  dns::ZoneSet origins_;  // index i is zones_[i]
  std::vector<std::unique_ptr<ZoneFile>> zones_;
  Fall fall_;
  std::mutex mu_;  // also guards changed_ against the poller
  std::function<void(const std::string&)> changed_;
  std::condition_variable_any wake_;
  std::jthread poller_;  // last: stopped and joined before anything it uses is destroyed
};

// PluginSpec::setup for "file": parse, load every zone (a file that does not parse is a
// load error naming file:line), build the handler.
conf::Result<HandlerPtr> setupFile(const SetupContext& ctx);

}  // namespace moat::plugins::file
