#include "plugins/auto/auto.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "dns/message.hpp"
#include "plugins/auto/walk.hpp"
#include "plugins/file/serve.hpp"
#include "plugins/file/zone_file.hpp"

namespace moat::plugins::auto_zone {

Auto::Auto(AutoConfig config, size_t workers, PrivateZonesPtr privateZones)
    : config_(std::move(config)), privateZones_(std::move(privateZones)), table_(workers) {
  for (const std::string& origin : config_.origins) origins_.add(origin);
  table_.publish(std::make_shared<const ZoneTable>());
}

Auto::~Auto() = default;

void Auto::startScanning() {
  if (config_.reload.count() > 0 && !scanner_.joinable()) {
    scanner_ = std::jthread([this](std::stop_token stop) { rescanEvery(stop); });
  }
}

void Auto::rescanEvery(std::stop_token stop) {
  for (;;) {
    {
      std::unique_lock lock(waitMu_);
      wake_.wait_for(lock, stop, config_.reload, [] { return false; });
    }
    if (stop.stop_requested()) return;
    for (const std::string& problem : scan().problems) spdlog::warn("plugin/auto: {}", problem);
  }
}

ScanReport Auto::scan() {
  ScanReport report;
  std::vector<std::string> changedOrigins;
  {
    std::lock_guard lock(scanMu_);
    DirectoryListing listing = findZoneFiles(config_.directory, config_.rule);
    std::set<std::string> problems(listing.problems.begin(), listing.problems.end());
    std::map<std::string, Loaded> next;
    for (const FoundZoneFile& found : listing.files) {
      const auto before = loaded_.find(found.origin);
      if (before == loaded_.end()) {
        file::ZoneLoad load = file::loadZoneFile(found.path, found.origin);
        if (!load.zone) {
          problems.insert("zone " + found.origin + " not loaded: " + load.error);
          continue;
        }
        spdlog::info("plugin/auto: inserting zone {} from {} (serial {})", found.origin, found.path, load.zone->serial());
        next.emplace(found.origin, Loaded{found.path, std::move(load.zone)});
        changedOrigins.push_back(found.origin);
        ++report.added;
        continue;
      }
      Loaded kept = before->second;
      // The same file is re-read only past its SOA when the serial moved (CoreDNS's rule);
      // another file for the origin is read whole.
      const bool sameFile = kept.path == found.path;
      file::ZoneLoad load = file::loadZoneFile(
          found.path, found.origin, sameFile ? std::optional<uint32_t>(kept.zone->serial()) : std::nullopt);
      kept.path = found.path;
      if (load.zone) {
        spdlog::info("plugin/auto: reloaded zone {} from {}: serial {}", found.origin, found.path, load.zone->serial());
        kept.zone = std::move(load.zone);
        changedOrigins.push_back(found.origin);
        ++report.reloaded;
      } else if (!load.unchanged) {
        problems.insert("zone " + found.origin + ": " + load.error + "; keeping serial " +
                        std::to_string(kept.zone->serial()));
      }
      next.emplace(found.origin, std::move(kept));
    }
    for (const auto& [origin, loaded] : loaded_) {
      if (next.contains(origin)) continue;
      spdlog::info("plugin/auto: deleting zone {} ({} is gone)", origin, loaded.path);
      ++report.removed;
    }
    loaded_ = std::move(next);
    for (const std::string& problem : problems) {
      if (!reported_.contains(problem)) report.problems.push_back(problem);
    }
    reported_ = std::move(problems);
    if (report.added + report.reloaded + report.removed > 0) publishTable();
    table_.sweep();
  }
  if (report.added + report.reloaded + report.removed > 0) {
    ::malloc_trim(0);  // old zones and the files' text are gone: hand the pages back
  }
  if (!changedOrigins.empty()) {
    std::function<void(const std::string&)> changed;
    {
      std::lock_guard lock(listenerMu_);
      changed = changed_;
    }
    if (changed) {
      for (const std::string& origin : changedOrigins) changed(origin);
    }
  }
  return report;
}

void Auto::publishTable() {
  auto table = std::make_shared<ZoneTable>();
  for (const auto& [origin, loaded] : loaded_) {
    table->origins.add(origin);
    table->zones.push_back(loaded.zone);
    table->paths.push_back(loaded.path);
  }
  table_.publish(std::move(table));
}

void Auto::peersReady(std::span<const HandlerPtr> chain) {
  // The built-in private zones' handler sits at the end of every chain without a Corefile
  // line; it does not count as a plugin after auto (it still answers the private names).
  bool afterMe = false;
  nothingFollows_ = true;
  for (const HandlerPtr& handler : chain) {
    if (afterMe && handler->name() != "private") nothingFollows_ = false;
    if (handler.get() == this) afterMe = true;
  }
}

Verdict Auto::unserved(dns::Query& q) const {
  const auto name = q.view.question.lowerName();
  const bool privateName = privateZones_ != nullptr && privateZones_->find(name) != nullptr;
  if (!nothingFollows_ || privateName) return Verdict::Next;
  if (q.trace != nullptr) q.trace->note("auto", "no zone file serves the name: REFUSED");
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
  return Verdict::Answered;
}

Verdict Auto::onQuery(dns::Query& q) {
  const auto name = q.view.question.lowerName();
  if (!origins_.contains(name)) return Verdict::Next;
  Published<ZoneTable>::Ptr hold;
  const ZoneTable* table = table_.view(q.worker, hold);
  const int index = table->origins.longestMatch(name);
  if (index == dns::ZoneSet::kNone) return unserved(q);
  const auto i = static_cast<size_t>(index);
  const file::ServedZone served{table->zones[i].get(), table->origins.text(index), table->paths[i]};
  return file::serveQuery(q, served, config_.fall, "auto", *this);
}

void Auto::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  Published<ZoneTable>::Ptr hold;
  const ZoneTable* table = table_.view(parent.worker, hold);
  const int index = table->origins.longestMatch(parent.view.question.lowerName());
  // The zone may have gone or changed while the subquery ran: its authority is then the new
  // data's, or none.
  file::finishChase(parent, reply, index == dns::ZoneSet::kNone ? nullptr : table->zones[static_cast<size_t>(index)].get());
}

file::ZonePtr Auto::servedZone(std::span<const uint8_t> origin) const {
  const auto table = table_.current();
  const int index = table->origins.find(origin);
  return index == dns::ZoneSet::kNone ? nullptr : table->zones[static_cast<size_t>(index)];
}

std::vector<std::string> Auto::servedOrigins() const {
  const auto table = table_.current();
  std::vector<std::string> out;
  for (size_t i = 0; i < table->origins.size(); ++i) out.push_back(table->origins.text(static_cast<int>(i)));
  return out;
}

void Auto::onZoneChanged(std::function<void(const std::string& origin)> listener) {
  std::lock_guard lock(listenerMu_);
  changed_ = std::move(listener);
}

conf::Result<HandlerPtr> setupAuto(const SetupContext& ctx) {
  auto config = parseAuto(ctx);
  if (!config) return config.error();
  struct stat st {};
  if (::stat(config->directory.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return conf::errorAt(config->directoryPos, "auto: cannot access directory " + config->directory + ": " + std::strerror(errno));
    }
    // As CoreDNS: a warning, and zones appear once the directory does.
    if (ctx.warnings != nullptr) {
      ctx.warnings->push_back(conf::Diag{config->directoryPos, "auto: directory does not exist: " + config->directory,
                                         conf::Severity::Warning});
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return conf::errorAt(config->directoryPos, "auto: not a directory: " + config->directory);
  }
  const conf::Pos at = config->directoryPos;
  const bool exists = ::stat(config->directory.c_str(), &st) == 0;
  auto handler = std::make_shared<Auto>(std::move(*config), ctx.loops.size(), ctx.privateZones);
  const ScanReport first = handler->scan();
  if (exists && ctx.warnings != nullptr) {
    for (const std::string& problem : first.problems) {
      ctx.warnings->push_back(conf::Diag{at, "auto: " + problem, conf::Severity::Warning});
    }
  }
  handler->startScanning();
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::auto_zone
