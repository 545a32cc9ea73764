// A worker's query path: the attempt loop (policy order, health, caps, deadlines), replies and
// their rcode rules, and the sweep that finds timeouts. Over UDP a query costs one send and no
// coroutine frame, timer or heap allocation once the worker is warm (UDP I/O: worker_udp.cpp,
// TCP: worker_tcp.cpp).
#include "plugins/forward/worker.hpp"

#include <unistd.h>

#include "dns/message.hpp"

namespace moat::plugins::forward {

namespace asio = boost::asio;

namespace {
constexpr auto kSweepInterval = std::chrono::milliseconds(50);
constexpr auto kOverallTimeout = std::chrono::seconds(5);  // CoreDNS's defaultTimeout
constexpr std::string_view kPlugin = "forward";
}  // namespace

namespace {

std::vector<UdpTarget> udpTargets(const Shared& shared) {
  std::vector<UdpTarget> targets;
  for (const auto& st : shared.stanzas) {
    for (const auto& up : st->upstreams) {
      targets.push_back(
          UdpTarget::of(up->addr.address, up->addr.port, st->config.options.sourceAddress));
    }
  }
  return targets;
}

}  // namespace

Worker::Worker(asio::io_context& loop, std::shared_ptr<Shared> shared)
    : loop_(loop),
      shared_(std::move(shared)),
      pool_(udpTargets(*shared_)),
      poolEvents_(loop, ::dup(pool_.eventsFd())),
      sweep_(loop) {
  channels_.reserve(shared_->channelCount);
  for (uint32_t s = 0; s < shared_->stanzas.size(); ++s) {
    for (uint32_t u = 0; u < shared_->stanzas[s]->upstreams.size(); ++u) {
      auto& ch = channels_.emplace_back();
      ch.stanza = s;
      ch.upstream = u;
    }
  }
  channelStats_ = std::make_unique<ChannelStats[]>(channels_.size());
  robin_.assign(shared_->stanzas.size(), 0);
  scratch_.reserve(UdpPool::kMaxWaiting);
  out_.reserve(dns::kMaxMessage);
}

Worker::~Worker() = default;

void Worker::start() { waitPool(); }

void Worker::shutdown() {
  stopped_ = true;
  boost::system::error_code ignored;
  sweep_.cancel();
  poolEvents_.close(ignored);
  pool_.closeAll();
  for (auto& ch : channels_) {
    for (auto& conn : ch.idle) conn->socket.close(ignored);
    ch.idle.clear();
    if (ch.tls) {
      ch.tls->closed = true;
      ch.tls->stream.lowest_layer().close(ignored);
      ch.tls.reset();
    }
    for (auto& conn : ch.dohIdle) conn->stream.lowest_layer().close(ignored);
    ch.dohIdle.clear();
  }
  idleConns_ = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto& slot = slots_[static_cast<uint16_t>(i)];
    if (slot.inUse && slot.tcp) slot.tcp->socket.close(ignored);
    if (slot.inUse && slot.doh) slot.doh->stream.lowest_layer().close(ignored);
  }
}

Verdict Worker::dispatchFrom(dns::Query& q, size_t first) {
  const auto name = q.view.question.lowerName();
  for (size_t s = first; s < shared_->stanzas.size(); ++s) {
    if (!shared_->stanzas[s]->config.matches(name)) continue;
    // A private name this stanza may not send passes on, as an excepted one does: a later
    // stanza scoped to its zone may take it, else the private answer does.
    if (shared_->keptIn(static_cast<uint32_t>(s), q) != nullptr) {
      dns::bump(stats_.keptIn);
      q.egressBlocked = kPlugin;
      continue;
    }
    return begin(q, static_cast<uint32_t>(s));
  }
  return Verdict::Next;
}

Verdict Worker::begin(dns::Query& q, uint32_t s) {
  auto& st = *shared_->stanzas[s];
  const auto& o = st.config.options;
  dns::bump(stats_.forwarded);
  bool counted = o.maxConcurrent > 0;
  std::optional<uint16_t> index;
  if (stopped_) {
    counted = false;
  } else if (counted && st.concurrent.fetch_add(1, std::memory_order_relaxed) >= o.maxConcurrent) {
    dns::bump(stats_.maxConcurrentRejects);
    q.error = st.limitError;
  } else {
    index = slots_.acquire();
  }
  if (!index) {
    if (counted) st.concurrent.fetch_sub(1, std::memory_order_relaxed);
    if (q.error.empty()) q.error = "too many queries in flight";
    dns::bump(stats_.refused);
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
    return Verdict::Answered;
  }
  Slot& slot = slots_[*index];
  slot.query = &q;
  slot.stanza = static_cast<uint8_t>(s);
  slot.clientId = dns::get16(q.request.data());
  slot.connectAttempts = 0;
  slot.failoverAttempts = 0;
  slot.downSkips = 0;
  slot.pos = 0;
  slot.lastError = {};
  slot.overTcp = false;
  slot.udpIdHeld = false;
  slot.overallDeadline = Clock::now() + kOverallTimeout;
  // `cancel`'s deadline, when sooner: like CoreDNS's context, it stops the next attempt, not
  // the one in flight.
  if (q.deadline != Clock::time_point{} && q.deadline < slot.overallDeadline) slot.overallDeadline = q.deadline;
  fillOrder(slot, st);
  auto v = step(*index);
  return v ? *v : Verdict::Pending;
}

void Worker::fillOrder(Slot& slot, const StanzaState& st) {
  const auto n = static_cast<uint8_t>(st.upstreams.size());
  slot.count = n;
  for (uint8_t k = 0; k < n; ++k) slot.order[k] = k;
  switch (st.config.options.policy) {
    case Policy::Sequential:
      break;
    case Policy::RoundRobin: {
      // The chosen one first, then the others in Corefile order (as CoreDNS lists them).
      const auto first = static_cast<uint8_t>(++robin_[slot.stanza] % n);
      for (uint8_t k = first; k > 0; --k) slot.order[k] = static_cast<uint8_t>(k - 1);
      slot.order[0] = first;
      break;
    }
    case Policy::Random:
      for (uint8_t k = n; k > 1; --k) std::swap(slot.order[k - 1], slot.order[random_.below(k)]);
      break;
  }
}

std::optional<Verdict> Worker::step(uint16_t i) {
  const auto& st = *shared_->stanzas[slots_[i].stanza];
  const auto& o = st.config.options;
  const auto n = static_cast<uint8_t>(st.upstreams.size());
  const uint32_t cap = o.attemptCap(n);
  // Each pass either starts an attempt (and returns) or records an immediate failure, so the
  // bound only stops a spin when sends keep failing at once with no attempt cap configured.
  for (unsigned guard = 0; guard < 4 * kMaxUpstreams; ++guard) {
    Slot& slot = slots_[i];
    if (Clock::now() >= slot.overallDeadline) break;
    if (cap != 0 && slot.connectAttempts >= cap) break;
    if (slot.pos >= slot.count) {
      slot.pos = 0;
      slot.downSkips = 0;
    }
    uint8_t u = slot.order[slot.pos++];
    if (st.upstreams[u]->down(o.maxFails)) {
      if (++slot.downSkips < n) continue;
      // Every upstream looks down: assume health checking itself is broken (as CoreDNS).
      dns::bump(stats_.healthcheckBroken);
      if (o.failfastAllUnhealthy) {
        slot.lastError = kNoHealthy;
        break;
      }
      u = static_cast<uint8_t>(random_.below(n));
    }
    slot.current = u;
    slot.channel = st.firstChannel + u;
    slot.overTls = false;
    slot.overDoh = false;
    if (st.upstreams[u]->addr.doh) {
      startDoh(i);
      return std::nullopt;
    }
    if (st.upstreams[u]->addr.tls) {
      auto failure = sendTls(i);
      if (!failure) return std::nullopt;
      if (!noteFailure(i, *failure)) break;
      continue;
    }
    const bool tcp = o.forceTcp || (!o.preferUdp && slot.query->proto == dns::Proto::Tcp);
    if (tcp) {
      startTcp(i);
      return std::nullopt;
    }
    auto failure = sendUdp(i);
    if (!failure) return std::nullopt;
    if (!noteFailure(i, *failure)) break;
  }
  return fail(i);
}

// Records a failed attempt; false when no further attempt may follow.
bool Worker::noteFailure(uint16_t i, Failure f) {
  Slot& slot = slots_[i];
  const auto& st = stanza(slot);
  dns::bump(stats_.failedAttempts);
  const auto t = slot.overDoh   ? Transport::Https
                 : slot.overTls ? Transport::Tls
                 : slot.overTcp ? Transport::Tcp
                                : Transport::Udp;
  slot.lastError = upstream(slot).errorText(t, f);
  // Kick off health checks to learn whether this upstream is really broken.
  requestHealthCheck(shared_, slot.stanza, slot.current);
  ++slot.connectAttempts;
  // After the random pick among all-down upstreams failed too, stop (CoreDNS does).
  return slot.downSkips < st.upstreams.size();
}

std::optional<Verdict> Worker::fail(uint16_t i) {
  Slot& slot = slots_[i];
  dns::Query& q = *slot.query;
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
  q.error = slot.lastError.empty() ? kNoHealthy : slot.lastError;
  dns::bump(stats_.servfails);
  release(i);
  return Verdict::Answered;
}

void Worker::endAttempt(uint16_t i, bool retireSocket) {
  Slot& slot = slots_[i];
  if (slot.udpIdHeld) {
    ids_.release(slot.outId);
    if (retireSocket) pool_.retire(slot.socket);
    pool_.detach(slot.socket, i);
    slot.udpIdHeld = false;
  }
  if (slot.tcp) {
    boost::system::error_code ignored;
    slot.tcp->socket.close(ignored);  // aborts the exchange; its coroutine sees the generation
    slot.tcp.reset();
  }
  if (slot.doh) {
    boost::system::error_code ignored;
    slot.doh->stream.lowest_layer().close(ignored);  // aborts the exchange (generation, as TCP)
    slot.doh.reset();
  }
  if (slot.tlsIdHeld) {
    ids_.release(slot.outId);
    slot.tlsIdHeld = false;
  }
  if (slot.tls != nullptr) {
    TlsConn* conn = slot.tls;
    slot.tls = nullptr;
    --conn->inFlight;
    // A timeout with nothing read on the connection since this query went out: the link is
    // dead (or the handshake stalled). Drop it so the queries behind this one fail over now
    // rather than each at its own deadline, and the next query dials afresh.
    auto& ch = channels_[slot.channel];
    if (retireSocket && conn->lastRead <= slot.attemptStart && ch.tls.get() == conn) {
      asio::post(loop_, [self = shared_from_this(), held = ch.tls] {
        self->closeTls(held, Failure::Timeout);
      });
      ch.tls.reset();
    }
  }
  ++slot.generation;
}

void Worker::release(uint16_t i) {
  endAttempt(i);
  auto& st = *shared_->stanzas[slots_[i].stanza];
  if (st.config.options.maxConcurrent > 0) st.concurrent.fetch_sub(1, std::memory_order_relaxed);
  slots_.release(i);
}

void Worker::finish(dns::Query& q, std::optional<Verdict> v) {
  if (v) plugins::resume(q, *v);
}

void Worker::onAttemptError(uint16_t i, Failure f) {
  dns::Query& q = *slots_[i].query;
  endAttempt(i, f == Failure::Timeout);
  finish(q, noteFailure(i, f) ? step(i) : fail(i));
}

void Worker::onReply(uint16_t i, std::span<const uint8_t> reply, bool viaTcp) {
  Slot& slot = slots_[i];
  dns::Query& q = *slot.query;
  const auto& st = stanza(slot);
  const auto& o = st.config.options;
  const auto header = dns::Header::read(reply.data());
  const auto rcode = static_cast<uint8_t>(header.flags & dns::flag::RcodeMask);
  dns::bump(stats_.replies);
  // coredns_proxy_request_duration_seconds{proxy_name="forward",rcode,to}: every reply an
  // attempt gets, including those that lead to a TCP retry, failover or `next` (as CoreDNS's
  // proxy observes each exchange).
  channelStats_[slot.channel].observe(rcode, Clock::now() - slot.attemptStart);
  if (!viaTcp && (header.flags & dns::flag::TC) != 0 && o.preferUdp && !o.forceTcp) {
    // prefer_udp: a truncated answer is fetched again from the same upstream over TCP.
    endAttempt(i);
    startTcp(i);
    return;
  }
  if (o.failover.has(rcode) && ++slot.failoverAttempts < st.upstreams.size()) {
    endAttempt(i);
    finish(q, step(i));
    return;
  }
  const bool delegate = o.next.has(rcode) || (o.nextOnNodata && rcode == 0 && header.ancount == 0);
  const size_t following = slot.stanza + 1u;
  if (delegate && following < shared_->stanzas.size()) {
    // `next`: the following forward stanza (CoreDNS: only when the next plugin is a forward).
    release(i);
    auto v = dispatchFrom(q, following);
    if (v != Verdict::Pending) plugins::resume(q, v);
    return;
  }
  q.reply.assign(reply.begin(), reply.end());
  dns::put16(q.reply.data(), slot.clientId);
  if (o.randomizeCase && !viaTcp) {
    // The client gets its name back as it wrote it, not as the randomized case sent it.
    std::copy_n(q.request.data() + q.view.question.nameOffset, q.view.question.nameLen,
                q.reply.data() + dns::kHeaderSize);
  }
  release(i);
  plugins::resume(q, Verdict::Answered);
}

void Worker::armSweep() {
  if (sweepArmed_ || stopped_) return;
  sweepArmed_ = true;
  sweep_.expires_after(kSweepInterval);
  sweep_.async_wait(
      [self = shared_from_this()](boost::system::error_code ec) { self->onSweep(ec); });
}

void Worker::onSweep(boost::system::error_code ec) {
  sweepArmed_ = false;
  if (stopped_ || ec == asio::error::operation_aborted) return;
  const auto now = Clock::now();
  // Attempts started from inside this loop get deadlines after `now`, so they are skipped.
  for (size_t k = 0; k < slots_.size(); ++k) {
    const auto i = static_cast<uint16_t>(k);
    if (slots_[i].inUse && slots_[i].attemptDeadline <= now) {
      dns::bump(stats_.timeouts);
      onAttemptError(i, Failure::Timeout);
    }
  }
  expireIdle(now);
  expireTls(now);
  if (slots_.inUse() > 0 || idleConns_ > 0 || openTlsConnections() > 0) armSweep();
}

}  // namespace moat::plugins::forward