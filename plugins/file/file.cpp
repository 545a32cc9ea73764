#include "plugins/file/file.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/file/zone_file.hpp"

namespace moat::plugins::file {

namespace {

void writeParts(dns::MessageWriter& w, const Zone& zone, dns::Section section,
                std::span<const Part> parts) {
  for (const Part& p : parts) {
    if (p.set == nullptr) {
      w.addRR(section, p.owner, p.type, dns::rrclass::IN, p.ttl, p.rdata);
      continue;
    }
    for (const Record& r : zone.records(*p.set)) {
      w.addRR(section, p.owner, p.set->type, dns::rrclass::IN, r.ttl, zone.rdata(r));
    }
  }
}

std::optional<std::chrono::system_clock::time_point> modified(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

std::string describe(Outcome outcome) {
  switch (outcome) {
    case Outcome::Answer: return "answer";
    case Outcome::NoData: return "NODATA (the name has other types)";
    case Outcome::EmptyNonTerminal: return "empty non-terminal (names exist below it)";
    case Outcome::NameError: return "NXDOMAIN";
    case Outcome::Referral: return "referral";
    case Outcome::ServFail: return "SERVFAIL";
    case Outcome::Chase: return "CNAME target resolved through the server";
  }
  return "";
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
      zones_[i]->refresh();
      zones_[i]->sweep();
      due[i] = now + interval;
    }
  }
}

Verdict File::onQuery(dns::Query& q) {
  const std::span<const uint8_t> name = q.view.question.lowerName();
  const int index = origins_.longestMatch(name);
  if (index == dns::ZoneSet::kNone) return Verdict::Next;
  ZoneFile& zoneFile = *zones_[static_cast<size_t>(index)];
  const uint16_t qtype = q.view.question.qtype;

  // Without `transfer` in the block no one may transfer the zone (CoreDNS's answer too).
  if (qtype == dns::rrtype::AXFR || qtype == dns::rrtype::IXFR) {
    if (q.trace != nullptr) q.trace->note("file", origins_.text(index) + ": zone transfer not allowed: REFUSED");
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
    return Verdict::Answered;
  }
  ZonePtr hold;
  const Zone* zone = zoneFile.view(q.worker, hold);
  if (zone == nullptr) {
    if (q.trace != nullptr) q.trace->note("file", origins_.text(index) + ": zone not loaded: SERVFAIL");
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    return Verdict::Answered;
  }

  const bool dnssecOk = q.view.edns.present && q.view.edns.dnssecOk;
  Lookup lk;
  lookup(*zone, name, qtype, dnssecOk, lk);
  const bool empty = lk.answer.size == 0;
  // Only a name the zone does not hold falls through (an empty non-terminal counts, as in
  // CoreDNS); a NODATA answer never does.
  if (empty && (lk.outcome == Outcome::NameError || lk.outcome == Outcome::EmptyNonTerminal) &&
      fall_.through(name)) {
    q.nameExists = lk.outcome == Outcome::EmptyNonTerminal;
    if (q.trace != nullptr) explain(q, zoneFile, *zone, lk, true);
    return Verdict::Next;
  }
  if (q.trace != nullptr) explain(q, zoneFile, *zone, lk, false);
  if (lk.outcome == Outcome::ServFail) {
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    return Verdict::Answered;
  }

  dns::MessageWriter w(q.reply);
  // A referral is not authoritative; a CNAME chain leading into one is, for the name asked.
  const bool aa = !(lk.outcome == Outcome::Referral && empty);
  w.startReply(q.requestBytes(), q.view,
               lk.outcome == Outcome::NameError ? dns::RCode::NXDomain : dns::RCode::NoError, aa);
  writeParts(w, *zone, dns::Section::Answer, lk.answer.view());
  if (lk.outcome == Outcome::Chase) {
    // The rest of the chain is the whole server's to resolve, egress check included; the
    // answer so far waits in q.reply.
    if (q.dispatcher != nullptr &&
        static_cast<Runner*>(q.dispatcher)->subquery(q, lk.chaseTarget, qtype, *this)) {
      return Verdict::Pending;
    }
    w.setRCode(dns::RCode::ServFail);
    Lookup rest;
    chasedAuthority(*zone, false, dnssecOk, rest);
    writeParts(w, *zone, dns::Section::Authority, rest.authority.view());
    return Verdict::Answered;
  }
  writeParts(w, *zone, dns::Section::Authority, lk.authority.view());
  writeParts(w, *zone, dns::Section::Additional, lk.additional.view());
  return Verdict::Answered;
}

void File::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  // parent.reply holds the header, the question and the chain so far.
  dns::MessageWriter w(parent.reply);
  dns::RCode rcode = dns::RCode::ServFail;
  bool negative = false;
  if (reply.size() >= dns::kHeaderSize && dns::appendAnswersExpanded(w, reply, dns::Section::Answer) >= 0) {
    // As CoreDNS's upstream lookup reads it: NXDOMAIN and SERVFAIL pass on, anything else
    // (REFUSED for a name no block serves, say) leaves the chain as the answer.
    const dns::Header header = dns::Header::read(reply.data());
    rcode = header.rcode() == dns::RCode::NXDomain || header.rcode() == dns::RCode::ServFail
                ? header.rcode()
                : dns::RCode::NoError;
    negative = rcode == dns::RCode::NXDomain || (header.rcode() == dns::RCode::NoError && header.ancount == 0);
    if (header.flags & dns::flag::TC) w.setFlag(dns::flag::TC, true);
  }
  w.setRCode(rcode);

  const std::span<const uint8_t> name = parent.view.question.lowerName();
  const int index = origins_.longestMatch(name);
  ZonePtr hold;
  const Zone* zone = index == dns::ZoneSet::kNone ? nullptr : zones_[static_cast<size_t>(index)]->view(parent.worker, hold);
  if (zone != nullptr) {
    Lookup rest;
    chasedAuthority(*zone, negative, parent.view.edns.present && parent.view.edns.dnssecOk, rest);
    writeParts(w, *zone, dns::Section::Authority, rest.authority.view());
  }
  resume(parent, Verdict::Answered);
}

void File::explain(dns::Query& q, const ZoneFile& zoneFile, const Zone& zone, const Lookup& lk,
                   bool fallthrough) const {
  std::string text = zoneFile.source().origin + " (" + zoneFile.source().path + ", serial " +
                     std::to_string(zone.serial()) + "): ";
  if (lk.wildcard != nullptr) text += "wildcard " + dns::nameToText(zone.name(*lk.wildcard)) + ", ";
  if (lk.cnames > 0) text += "CNAME chain of " + std::to_string(lk.cnames) + ", ";
  if (lk.cut != nullptr) {
    text += "referral to the delegation " + dns::nameToText(zone.name(*lk.cut));
  } else if (lk.outcome == Outcome::Answer && lk.wildcard == nullptr && lk.cnames == 0) {
    text += "exact match";
  } else {
    text += describe(lk.outcome);
  }
  if (lk.outcome == Outcome::Chase) text += " (" + dns::nameToText(lk.chaseTarget) + ")";
  if (fallthrough) text += "; fallthrough";
  q.trace->note("file", std::move(text));
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
