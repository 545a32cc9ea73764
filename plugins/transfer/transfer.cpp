#include "plugins/transfer/transfer.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <optional>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/record_walker.hpp"
#include "plugins/server_label.hpp"
#include "plugins/transfer/messages.hpp"

namespace moat::plugins::transfer {

namespace {

constexpr std::string_view kPlugin = "transfer";
// Distinct (client, zone, reason) triples logged; past it the set starts over, so a scan from
// many addresses costs bounded memory and a line per triple at most once per round.
constexpr size_t kLoggedLimit = 4096;

// The serial of the SOA an IXFR carries in its authority section (RFC 1995 §3); nullopt when
// there is not exactly one record there or it is not a readable SOA.
std::optional<uint32_t> ixfrSerial(const dns::Query& q) {
  if (q.view.header.nscount != 1) return std::nullopt;
  const std::span<const uint8_t> msg = q.requestBytes();
  dns::RecordWalker walk(msg, q.view.question.end);
  for (dns::Record r; walk.next(r);) {
    if (r.section != dns::Section::Authority) continue;
    if (r.type != dns::rrtype::SOA) return std::nullopt;
    const size_t end = r.rdata() + r.rdlength;
    size_t at = dns::skipName(msg, r.rdata());                // MNAME
    if (at != 0 && at < end) at = dns::skipName(msg, at);     // RNAME
    if (at == 0 || at + 4 > end) return std::nullopt;
    return dns::get32(msg.data() + at);
  }
  return std::nullopt;
}

bool isLoopback(const IpKey& a) {
  return a.v4 ? (a.value >> 24) == 127 : a.value == 1;
}

std::string clientText(const dns::Endpoint& client) {
  std::array<char, 64> buf;
  return std::string(client.addressText(buf));
}

void note(dns::Query& q, std::string text) {
  if (q.trace != nullptr) q.trace->note(kPlugin, std::move(text));
}

}  // namespace

std::string_view refusalName(Refusal r) {
  switch (r) {
    case Refusal::Udp: return "udp";
    case Refusal::NotAllowed: return "not_allowed";
    case Refusal::NotServed: return "not_served";
  }
  return "unknown";
}

Transfer::Transfer(TransferConfig config, TransferOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  bool anyTarget = false;
  for (const Stanza& s : config_.stanzas) anyTarget = anyTarget || !s.to.empty();
  if (options_.notify && anyTarget) notifier_ = std::make_unique<Notifier>(options_.timing);
}

Verdict Transfer::onQuery(dns::Query& q) {
  const uint16_t qtype = q.view.question.qtype;
  if (qtype != dns::rrtype::AXFR && qtype != dns::rrtype::IXFR) return Verdict::Next;

  // From here on a transfer was asked for: allocating is fine.
  const std::span<const uint8_t> name = q.view.question.lowerName();
  const Stanza* stanza = config_.match(name);
  // CoreDNS refuses every transfer over UDP before looking at the zone.
  if (q.proto != dns::Proto::Tcp) return refuse(q, Refusal::Udp, stanza);
  if (stanza == nullptr) {
    note(q, "no transfer stanza covers " + dns::nameToText(name) + ": next");
    return Verdict::Next;  // not ours: what the others answer without `transfer`
  }
  if (!stanza->allows(q.client)) return refuse(q, Refusal::NotAllowed, stanza);

  const file::ZonePtr zone = servedZone(name);
  if (zone == nullptr) {
    if (listsOrigin(name)) {  // ours, but nothing loaded (yet)
      note(q, dns::nameToText(name) + ": zone not loaded: SERVFAIL");
      dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
      return Verdict::Answered;
    }
    return refuse(q, Refusal::NotServed, stanza);
  }
  return transferZone(q, *zone);
}

Verdict Transfer::transferZone(dns::Query& q, const file::Zone& zone) {
  std::optional<uint32_t> clientSerial;
  if (q.view.question.qtype == dns::rrtype::IXFR) {
    clientSerial = ixfrSerial(q);
    if (!clientSerial) {  // CoreDNS answers an IXFR without its SOA so
      note(q, "IXFR without one SOA in its authority section: SERVFAIL");
      dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
      return Verdict::Answered;
    }
  }
  TransferWriter w(q.reply, q.requestBytes(), q.view, kMessageLimit,
                   [&q](std::span<const uint8_t> message) {
                     return q.sink != nullptr && q.sink->sendAhead(q, message);
                   });
  const bool current = clientSerial && *clientSerial == zone.serial();
  const bool written = current ? writeSoa(w, zone) : writeZone(w, zone);
  const std::string zoneText = dns::nameToText(zone.origin());
  const std::string client = clientText(q.client);
  if (!written) {
    spdlog::warn("plugin/transfer: transfer of zone {} to {} stopped after {} records", zoneText, client,
                 w.records());
    if (w.messages() > 1) return Verdict::Drop;  // part went out: the client must see it end
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    return Verdict::Answered;
  }
  if (current) {
    spdlog::info("plugin/transfer: outgoing noop, incremental transfer for up to date zone {} to {} for {} SOA serial",
                 zoneText, client, zone.serial());
  } else {
    spdlog::info("plugin/transfer: outgoing transfer of {} records of zone {} to {} for {} SOA serial",
                 w.records(), zoneText, client, zone.serial());
  }
  note(q, zoneText + ": " + std::to_string(w.records()) + " records in " + std::to_string(w.messages()) +
              " messages");
  return Verdict::Answered;
}

Verdict Transfer::refuse(dns::Query& q, Refusal reason, const Stanza* stanza) {
  std::string zone = ".";
  if (stanza != nullptr) {
    const int index = stanza->zoneSet.longestMatch(q.view.question.lowerName());
    if (index != dns::ZoneSet::kNone) zone = stanza->zoneSet.text(index);
  }
  const std::string client = clientText(q.client);
  bool first = false;
  {
    std::lock_guard lock(mu_);
    ++refusals_[{zone, reason}];
    if (logged_.size() >= kLoggedLimit) logged_.clear();
    first = logged_.insert(client + " " + zone + " " + std::string(refusalName(reason))).second;
  }
  if (first) {
    spdlog::warn("plugin/transfer: refused transfer of {} to {} ({}); further refusals of this client "
                 "and zone are counted, not logged",
                 dns::nameToText(q.view.question.lowerName()), client, refusalName(reason));
  }
  note(q, "transfer refused (" + std::string(refusalName(reason)) + "): REFUSED");
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
  return Verdict::Answered;
}

file::ZonePtr Transfer::servedZone(std::span<const uint8_t> origin) const {
  for (const auto& weak : providers_) {
    if (auto provider = weak.lock()) {
      if (auto zone = provider->servedZone(origin)) return zone;
    }
  }
  return nullptr;
}

bool Transfer::listsOrigin(std::span<const uint8_t> origin) const {
  const std::string text = dns::nameToText(origin);
  for (const auto& weak : providers_) {
    if (auto provider = weak.lock()) {
      for (const std::string& o : provider->servedOrigins()) {
        if (dns::fqdnLower(o) == text) return true;
      }
    }
  }
  return false;
}

void Transfer::peersReady(std::span<const HandlerPtr> chain) {
  std::vector<std::shared_ptr<file::ZoneProvider>> found;
  for (const HandlerPtr& h : chain) {
    if (auto provider = std::dynamic_pointer_cast<file::ZoneProvider>(h)) found.push_back(std::move(provider));
  }
  // Complete before any listener is registered: a provider's thread reads it from then on.
  providers_.assign(found.begin(), found.end());
  if (!notifier_) return;
  for (const auto& provider : found) {
    provider->onZoneChanged([weak = weak_from_this()](const std::string& origin) {
      if (auto self = weak.lock()) self->zoneChanged(origin);
    });
  }
  for (const auto& provider : found) {
    for (const std::string& origin : provider->servedOrigins()) zoneChanged(origin);
  }
}

std::vector<NotifyTarget> Transfer::notifyTargets(const Stanza& stanza, std::span<const uint8_t> origin) const {
  // DESIGN.md §4: a NOTIFY carries the zone's name to its target. A zone under a private zone
  // is announced off the box only by a stanza scoped to that private zone (or below), as a
  // forward would need to be; a loopback target never leaves the box.
  const PrivateZone* keptIn = nullptr;
  if (options_.privateZones) {
    const int index = stanza.zoneSet.longestMatch(origin);
    const EgressScope scope = EgressScope::narrowed(stanza.zoneSet.text(index), options_.blockZones);
    keptIn = egressBlockedBy(options_.privateZones.get(), scope, origin);
  }
  std::vector<NotifyTarget> out;
  std::optional<boost::asio::ip::address> source;
  if (stanza.source) source = boost::asio::ip::make_address(*stanza.source);
  for (const Destination& d : stanza.to) {
    if (keptIn != nullptr && !isLoopback(d.address)) {
      spdlog::warn("plugin/transfer: no notify for zone {} to {}: it is under private zone {}; name the "
                   "zone in the transfer stanza (transfer {} {{ ... }}) to send it",
                   dns::nameToText(origin), d.text(), keptIn->name, dns::nameToText(origin));
      continue;
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(d.host, ec);
    if (ec) continue;  // parsed at setup; cannot happen
    if (source && source->is_v4() != address.is_v4()) {
      spdlog::warn("plugin/transfer: no notify for zone {} to {}: source {} is of another family",
                   dns::nameToText(origin), d.text(), *stanza.source);
      continue;
    }
    out.push_back({boost::asio::ip::udp::endpoint(address, d.port), source, d.text()});
  }
  return out;
}

void Transfer::zoneChanged(const std::string& origin) {
  if (!notifier_) return;
  const auto wire = dns::nameFromText(dns::fqdnLower(origin));
  if (!wire) return;
  const Stanza* stanza = config_.match(*wire);
  if (stanza == nullptr || stanza->to.empty()) return;
  const file::ZonePtr zone = servedZone(*wire);
  if (zone == nullptr) return;  // nothing loaded: nothing a secondary could fetch
  auto targets = notifyTargets(*stanza, *wire);
  if (targets.empty()) return;
  notifier_->send(dns::nameToText(*wire), notifyMessage(*zone, 0), std::move(targets));
}

uint64_t Transfer::refused(Refusal reason) const {
  std::lock_guard lock(mu_);
  uint64_t sum = 0;
  for (const auto& [key, count] : refusals_) {
    if (key.second == reason) sum += count;
  }
  return sum;
}

void Transfer::collect(std::vector<MetricSample>& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [key, count] : refusals_) {
    MetricSample sample;
    sample.family = "moat_transfer_refused_total";
    sample.help = "Zone transfer requests refused: over UDP, from a client not listed in 'to', or for a "
                  "zone the block does not serve.";
    sample.labels = {{"server", options_.server}, {"zone", key.first}, {"reason", std::string(refusalName(key.second))}};
    sample.value = static_cast<double>(count);
    out.push_back(std::move(sample));
  }
}

conf::Result<HandlerPtr> setupTransfer(const SetupContext& ctx) {
  auto config = parseTransfer(ctx);
  if (!config) return config.error();
  TransferOptions options;
  options.server = serverLabel(ctx);
  options.blockZones = ctx.zones;
  options.privateZones = ctx.privateZones;
  options.notify = !ctx.loops.empty();  // `moat explain` builds the chain with no loops
  auto handler = std::make_shared<Transfer>(std::move(*config), std::move(options));
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::transfer
