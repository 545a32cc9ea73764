// The `auto` plugin: every zone file of a directory served as `file` serves one (README.md).
// A thread of its own rescans the directory: a new file's zone appears, a vanished file's zone
// goes, a changed SOA serial reloads, and a file that no longer parses keeps its old data.
// Each scan that changes anything publishes one immutable table of all the zones, so a query
// makes one longest match in it and takes no lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "dns/zone_set.hpp"
#include "plugins/auto/config.hpp"
#include "plugins/block_peer.hpp"
#include "plugins/egress.hpp"
#include "plugins/fall.hpp"
#include "plugins/file/provider.hpp"
#include "plugins/file/zone.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"
#include "plugins/published.hpp"

namespace moat::plugins::auto_zone {

// The zones one scan found, as the workers see them.
struct ZoneTable {
  dns::ZoneSet origins;                  // index i names zones[i] and paths[i]
  std::vector<file::ZonePtr> zones;      // never null: a file that never loaded is not here
  std::vector<std::string> paths;
};

// What one scan did; `problems` holds only what the previous scan did not already report, so
// a broken file is logged once, not on every scan.
struct ScanReport {
  size_t added = 0;
  size_t reloaded = 0;
  size_t removed = 0;
  std::vector<std::string> problems;
};

class Auto final : public Handler, public SubqueryClient, public file::ZoneProvider, public BlockPeer {
 public:
  Auto(AutoConfig config, size_t workers, PrivateZonesPtr privateZones);
  ~Auto() override;

  // Reads the directory and publishes what changed. Setup calls it once; the scanner thread
  // every `reload`; tests call it directly. Scans never overlap.
  ScanReport scan();
  // Starts the scanner thread (when `reload` is not zero).
  void startScanning();

  Verdict onQuery(dns::Query& q) override;
  void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;
  std::string_view name() const override { return "auto"; }

  file::ZonePtr servedZone(std::span<const uint8_t> origin) const override;
  std::vector<std::string> servedOrigins() const override;
  void onZoneChanged(std::function<void(const std::string& origin)> listener) override;

  // CoreDNS's auto answers REFUSED for a name under its ZONES that no zone file serves when
  // no plugin follows it; otherwise the next plugin decides.
  void peersReady(std::span<const HandlerPtr> chain) override;

  const AutoConfig& config() const { return config_; }

 private:
  struct Loaded {
    std::string path;
    file::ZonePtr zone;
  };

  Verdict unserved(dns::Query& q) const;
  void publishTable();
  void rescanEvery(std::stop_token stop);

  const AutoConfig config_;
  dns::ZoneSet origins_;  // config_.origins, for the per-query check
  PrivateZonesPtr privateZones_;
  bool nothingFollows_ = true;  // set once by peersReady, before the first query
  Published<ZoneTable> table_;

  std::mutex scanMu_;  // one scan at a time; guards the two members below
  std::map<std::string, Loaded> loaded_;  // by origin: what the last scans loaded
  std::set<std::string> reported_;        // the problems the last scan found

  std::mutex listenerMu_;
  std::function<void(const std::string&)> changed_;

  std::mutex waitMu_;
  std::condition_variable_any wake_;
  std::jthread scanner_;  // last: stopped and joined before anything it uses is destroyed
};

// PluginSpec::setup for "auto": parse, scan the directory once (so the zones answer as soon
// as the server is up; a missing directory is a warning, as in CoreDNS), start the scanner.
conf::Result<HandlerPtr> setupAuto(const SetupContext& ctx);

}  // namespace moat::plugins::auto_zone
