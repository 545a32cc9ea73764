#include "plugins/hosts/hosts.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "dns/message.hpp"

namespace moat::plugins::hosts {

namespace {

dns::ZoneSet zoneSetOf(const std::vector<std::string>& zones) {
  dns::ZoneSet set;
  for (const std::string& zone : zones) set.add(zone);
  return set;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace

Hosts::Hosts(const HostsConfig& config, size_t workers)
    : zones_(zoneSetOf(config.zones)),
      fall_(config.fall),
      fallthroughUnsupported_(config.fallthroughUnsupported),
      ttl_(config.ttl) {
  store_ =
      std::make_unique<Store>(config.path, parseHostsText(joinLines(config.inlineLines), zones_),
                              zones_, config.reverse, workers);
  if (config.reload.count() > 0) store_->startPolling(config.reload);
}

Verdict Hosts::onQuery(dns::Query& q) {
  const dns::Question& question = q.view.question;
  const std::span<const uint8_t> name = question.lowerName();
  const uint16_t qtype = question.qtype;

  // Outside our zones the name is simply not ours, fallthrough or not. Reverse names are the
  // exception: PTR answers come from the addresses, whatever zones were configured.
  if (qtype != dns::rrtype::PTR && !zones_.contains(name)) return Verdict::Next;

  IndexPtr hold;
  const Index& index = store_->view(q.worker, hold);
  if (qtype == dns::rrtype::PTR) return answerPtr(q, index);

  AddressHits hits;
  if (qtype == dns::rrtype::A) {
    hits = index.lookup(name, Family::V4);
  } else if (qtype == dns::rrtype::AAAA) {
    hits = index.lookup(name, Family::V6);
  } else if (fallthroughUnsupported_ && fall_.through(name)) {
    q.nameExists = index.hasAddress(name);  // a local negative answer is then NODATA
    return Verdict::Next;
  }

  if (hits.empty() && !index.hasAddress(name)) {
    if (q.trace != nullptr) {
      q.trace->note("hosts", store_->path() + ": no entry" +
                                 (fall_.through(name) ? std::string("; fallthrough") +
                                                            (fall_.all() ? " (all zones)" : "")
                                                      : std::string("; no fallthrough: SERVFAIL")));
    }
    if (fall_.through(name)) {
      // A reverse name with a PTR here exists, whatever type was asked.
      auto address = addressFromReverse(name);
      q.nameExists = address && !index.ptr(*address).empty();
      return Verdict::Next;
    }
    // No SOA to deny with, so CoreDNS gives up with SERVFAIL rather than claim NXDOMAIN.
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    return Verdict::Answered;
  }

  // An answer, or NODATA (the name exists with other data): authoritative either way, and
  // with no SOA, as CoreDNS has none to give.
  if (q.trace != nullptr) {
    q.trace->note("hosts", store_->path() + (hits.empty() ? ": the name has other types only (NODATA)"
                                                          : ": entry found"));
  }
  dns::MessageWriter writer(q.reply);
  writer.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  for (std::span<const uint8_t> part : hits.parts) {
    for (size_t off = 0; off < part.size(); off += hits.width) {
      writer.addRR(dns::Section::Answer, name, qtype, dns::rrclass::IN, ttl_,
                   part.subspan(off, hits.width));
    }
  }
  return Verdict::Answered;
}

Verdict Hosts::answerPtr(dns::Query& q, const Index& index) {
  const std::span<const uint8_t> name = q.view.question.lowerName();
  auto address = addressFromReverse(name);
  std::span<const Index::Range> targets;
  if (address) targets = index.ptr(*address);
  // No name for this address: always the next plugin's business, even without fallthrough.
  // A forward name asked for PTR exists here if it has addresses (NODATA, not NXDOMAIN, later).
  if (targets.empty()) {
    q.nameExists = index.hasAddress(name);
    return Verdict::Next;
  }
  if (q.trace != nullptr) q.trace->note("hosts", store_->path() + ": address found");

  dns::MessageWriter writer(q.reply);
  writer.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  for (const Index::Range& target : targets) {
    writer.addRR(dns::Section::Answer, name, dns::rrtype::PTR, dns::rrclass::IN, ttl_,
                 index.ptrName(target));
  }
  return Verdict::Answered;
}

conf::Result<HandlerPtr> setupHosts(const SetupContext& ctx) {
  auto config = parseHosts(ctx);
  if (!config) return config.error();

  // As CoreDNS: a file that is not there yet only warns (it may appear later and the reload
  // picks it up); anything else that stops us even looking at it is a configuration error.
  struct stat st {};
  if (::stat(config->path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return conf::errorAt(config->pos, "hosts: unable to access hosts file '" + config->path +
                                            "': " + std::strerror(errno));
    }
    if (ctx.warnings != nullptr) {
      ctx.warnings->push_back(conf::Diag{config->pos, "hosts: file does not exist: " + config->path,
                                         conf::Severity::Warning});
    }
  } else if (S_ISDIR(st.st_mode) && ctx.warnings != nullptr) {
    ctx.warnings->push_back(conf::Diag{config->pos,
                                       "hosts: hosts file '" + config->path + "' is a directory",
                                       conf::Severity::Warning});
  }
  auto handler = std::make_shared<Hosts>(*config, ctx.loops.size());
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

void Hosts::collect(std::vector<MetricSample>& out) const {
  const auto loaded = store_->loaded();
  if (!loaded) return;
  out.push_back({"coredns_hosts_entries",
                 "Entries read from a hosts file plus its inline lines (addresses per name and names "
                 "per address).",
                 true, {{"hostsfile", store_->path()}}, static_cast<double>(loaded->entries)});
  MetricSample stamp{"coredns_hosts_reload_timestamp_seconds",
                     "Modification time of the hosts file read most recently (newest of all hosts files).",
                     true, {}, loaded->mtimeSeconds};
  stamp.keepMax = true;  // one series for every hosts file: the newest wins
  out.push_back(std::move(stamp));
}

}  // namespace moat::plugins::hosts
