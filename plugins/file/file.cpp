#include "plugins/file/file.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/file/serve.hpp"
#include "plugins/file/zone_file.hpp"

namespace moat::plugins::file {

namespace {

std::optional<std::chrono::system_clock::time_point> modified(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

}  // namespace

void ZoneFile::publish(ZonePtr zone) { data_.publish(std::move(zone)); }

void ZoneFile::stampMtime() {
  if (source_.reloadByMtime) mtime_ = modified(source_.path);
}

std::optional<std::string> ZoneFile::refresh() {
  std::optional<uint32_t> serial;
  const ZonePtr now = current();
  if (source_.reloadByMtime) {
    const auto stamp = modified(source_.path);
    if (stamp && mtime_ && *stamp <= *mtime_) return std::nullopt;
    mtime_ = stamp;
  } else if (now) {
    serial = now->serial();
  }
  ZoneLoad load = loadZoneFile(source_.path, source_.origin, serial);
  if (load.unchanged) return std::nullopt;
  if (!load.zone) {
    // Keep serving what loaded last; say why once, not on every tick.
    if (load.error != lastError_) {
      spdlog::error("plugin/file: zone {}: {}; keeping the {}", source_.origin, load.error,
                    now ? "zone loaded before (serial " + std::to_string(now->serial()) + ")" : "zone unloaded (SERVFAIL)");
      lastError_ = load.error;
    }
    return load.error;
  }
  lastError_.clear();
  const uint32_t newSerial = load.zone->serial();
  const size_t records = load.zone->recordCount();
  publish(std::move(load.zone));
  if (now) {
    spdlog::info("plugin/file: reloaded zone {} from {}: serial {}, {} records", source_.origin,
                 source_.path, newSerial, records);
  }
  ::malloc_trim(0);  // the file's text and the builder's scratch are gone: hand the pages back
  return std::nullopt;
}

File::File(std::vector<std::unique_ptr<ZoneFile>> zones, Fall fall)
    : zones_(std::move(zones)), fall_(std::move(fall)) {
  for (const auto& zone : zones_) origins_.add(zone->source().origin);
  const bool reloads = std::ranges::any_of(zones_, [](const auto& z) { return z->source().reload.count() > 0; });
  if (reloads) poller_ = std::jthread([this](std::stop_token stop) { poll(stop); });
}

File::~File() = default;

ZonePtr File::servedZone(std::span<const uint8_t> origin) const {
  const int index = origins_.find(origin);
  return index == dns::ZoneSet::kNone ? nullptr : zones_[static_cast<size_t>(index)]->current();
}

std::vector<std::string> File::servedOrigins() const {
  std::vector<std::string> out;
  for (const auto& zone : zones_) out.push_back(zone->source().origin);
  return out;
}

void File::onZoneChanged(std::function<void(const std::string& origin)> listener) {
  std::lock_guard lock(mu_);
  changed_ = std::move(listener);
}

void File::poll(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> due(zones_.size(), Clock::now());
  for (size_t i = 0; i < zones_.size(); ++i) due[i] += zones_[i]->source().reload;
  for (;;) {
    Clock::time_point next = Clock::time_point::max();
    for (size_t i = 0; i < zones_.size(); ++i) {
      if (zones_[i]->source().reload.count() > 0) next = std::min(next, due[i]);
    }
    {
      std::unique_lock lock(mu_);
      wake_.wait_until(lock, stop, next, [] { return false; });
    }
    if (stop.stop_requested()) return;
    const auto now = Clock::now();
    for (size_t i = 0; i < zones_.size(); ++i) {
      const auto interval = zones_[i]->source().reload;
      if (interval.count() <= 0 || due[i] > now) continue;
      const ZonePtr before = zones_[i]->current();
      zones_[i]->refresh();
      zones_[i]->sweep();
      due[i] = now + interval;
      if (zones_[i]->current() != before) {
        std::function<void(const std::string&)> changed;
        {
          std::lock_guard lock(mu_);
          changed = changed_;
        }
        if (changed) changed(zones_[i]->source().origin);
      }
    }
  }
}

Verdict File::onQuery(dns::Query& q) {
  const int index = origins_.longestMatch(q.view.question.lowerName());
  if (index == dns::ZoneSet::kNone) return Verdict::Next;
  ZoneFile& zoneFile = *zones_[static_cast<size_t>(index)];
  ZonePtr hold;
  const ServedZone served{zoneFile.view(q.worker, hold), zoneFile.source().origin, zoneFile.source().path};
  return serveQuery(q, served, fall_, "file", *this);
}

void File::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  const int index = origins_.longestMatch(parent.view.question.lowerName());
  ZonePtr hold;
  const Zone* zone = index == dns::ZoneSet::kNone ? nullptr : zones_[static_cast<size_t>(index)]->view(parent.worker, hold);
  finishChase(parent, reply, zone);
}

conf::Result<HandlerPtr> setupFile(const SetupContext& ctx) {
  auto config = parseFile(ctx);
  if (!config) return config.error();
  std::vector<std::unique_ptr<ZoneFile>> zones;
  for (const ZoneSource& source : config->zones) {
    auto zone = std::make_unique<ZoneFile>(source, ctx.loops.size());
    struct stat st {};
    if (::stat(source.path.c_str(), &st) != 0 && errno == ENOENT && source.reload.count() > 0) {
      // As CoreDNS: a file that is not there yet may appear, and the reload picks it up;
      // until then the zone answers SERVFAIL.
      if (ctx.warnings != nullptr) {
        ctx.warnings->push_back(conf::Diag{source.pos,
                                           "file: zone file does not exist: " + source.path +
                                               " (zone " + source.origin + " answers SERVFAIL until it appears)",
                                           conf::Severity::Warning});
      }
    } else {
      zone->stampMtime();
      ZoneLoad load = loadZoneFile(source.path, source.origin);
      if (!load.zone) return conf::errorAt(source.pos, "file: " + load.error);
      if (load.outOfZone > 0 && ctx.warnings != nullptr) {
        ctx.warnings->push_back(conf::Diag{source.pos,
                                           "file: " + source.path + ": " + std::to_string(load.outOfZone) +
                                               " records outside zone " + source.origin + " left out",
                                           conf::Severity::Warning});
      }
      zone->publish(std::move(load.zone));
    }
    zones.push_back(std::move(zone));
  }
  return HandlerPtr(std::make_shared<File>(std::move(zones), std::move(config->fall)));
}

}  // namespace moat::plugins::file
