#include "plugins/dnstap/dnstap.hpp"

#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>

namespace moat::plugins::dnstap {
namespace {

WallTime wallNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return {static_cast<uint64_t>(ts.tv_sec), static_cast<uint32_t>(ts.tv_nsec)};
}

// The wall-clock time the query arrived: now, less the time it has spent in the server since
// (q.start is a steady clock, immune to clock steps; dnstap wants the epoch).
WallTime arrival(const dns::Query& q, WallTime now) {
  if (q.start == std::chrono::steady_clock::time_point{}) return now;
  const auto age = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - q.start);
  if (age.count() <= 0) return now;
  const uint64_t nowNs = now.sec * 1'000'000'000ULL + now.nsec;
  const auto ageNs = static_cast<uint64_t>(age.count());
  if (ageNs > nowNs) return now;
  const uint64_t t = nowNs - ageNs;
  return {t / 1'000'000'000ULL, static_cast<uint32_t>(t % 1'000'000'000ULL)};
}

std::string_view typeName(MessageType t) {
  return t == MessageType::ClientQuery ? "CLIENT_QUERY" : "CLIENT_RESPONSE";
}

}  // namespace

DnstapHandler::DnstapHandler(std::vector<TapConfig> taps, size_t workers) : taps_(std::move(taps)) {
  if (workers == 0) return;
  for (const TapConfig& t : taps_) sinks_.push_back(std::make_unique<Sink>(t, workers));
}

DnstapHandler::~DnstapHandler() = default;

void DnstapHandler::tap(dns::Query& q, MessageType type) {
  // A subquery (kubernetes, dns64) is the server asking itself, not a client: not tapped.
  if (q.depth != 0) return;
  const WallTime now = wallNow();
  std::array<uint8_t, 16> address{};
  Message m;
  m.type = type;
  m.family = q.client.address(address);
  m.protocol = q.proto == dns::Proto::Tcp ? SocketProtocol::Tcp : SocketProtocol::Udp;
  m.queryAddress = {address.data(), m.family == AF_INET ? 4u : 16u};
  m.queryPort = q.client.port();
  m.hasQueryPort = m.family != 0;
  m.queryTime = arrival(q, now);
  m.hasQueryTime = true;
  if (type == MessageType::ClientResponse) {
    m.responseTime = now;
    m.hasResponseTime = true;
  }
  for (size_t i = 0; i < sinks_.size(); ++i) {
    const TapConfig& config = taps_[i];
    Sink& sink = *sinks_[i];
    m.queryMessage = {};
    m.responseMessage = {};
    if (config.full) {
      if (type == MessageType::ClientQuery) {
        m.queryMessage = q.requestBytes();
      } else {
        m.responseMessage = q.reply;
      }
    }
    const Envelope envelope{config.identity, config.version, config.extra};
    const size_t len = encodedSize(envelope, m);
    std::span<uint8_t> frame = sink.reserve(q.worker, len);
    if (frame.empty()) continue;  // counted by the sink
    encode(envelope, m, frame);
    sink.submit(q.worker, frame);
  }
}

Verdict DnstapHandler::onQuery(dns::Query& q) {
  if (q.trace != nullptr) {
    for (const TapConfig& t : taps_) {
      q.trace->note("dnstap", std::string(typeName(MessageType::ClientQuery)) + " and " +
                                  std::string(typeName(MessageType::ClientResponse)) + " to " + t.endpoint +
                                  (t.full ? " with the wire messages (full)" : "") +
                                  "; dropped, not waited for, when the reader lags");
    }
    return Verdict::Next;
  }
  tap(q, MessageType::ClientQuery);
  return Verdict::Next;
}

void DnstapHandler::onReply(dns::Query& q) {
  if (q.trace != nullptr) return;
  tap(q, MessageType::ClientResponse);
}

uint64_t DnstapHandler::dropped() const {
  uint64_t n = 0;
  for (const auto& s : sinks_) n += s->dropped();
  return n;
}

uint64_t DnstapHandler::submitted() const {
  uint64_t n = 0;
  for (const auto& s : sinks_) n += s->submitted();
  return n;
}

void DnstapHandler::collect(std::vector<MetricSample>& out) const {
  for (const auto& s : sinks_) {
    out.push_back({"moat_dnstap_dropped_total",
                   "dnstap frames dropped: the reader was not connected or its queue was full.",
                   false, {{"endpoint", s->endpoint()}}, static_cast<double>(s->dropped())});
    out.push_back({"moat_dnstap_sent_total",
                   "dnstap frames handed to the Frame Streams writer.",
                   false, {{"endpoint", s->endpoint()}}, static_cast<double>(s->submitted())});
  }
}

conf::Result<HandlerPtr> setupDnstap(const SetupContext& ctx) {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  auto taps = parseConfig(ctx.stanzas, host.data());
  if (!taps) return taps.error();
  auto handler = std::make_shared<DnstapHandler>(std::move(*taps), ctx.loops.size());
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::dnstap
