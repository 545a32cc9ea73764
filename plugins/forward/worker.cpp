// The UDP hot path and the attempt loop. One query costs one non-blocking send on a connected
// socket; replies are drained in batches from the socket when it becomes readable. No coroutine
// frame, no timer and no heap allocation per UDP query once the worker is warm.
#include "plugins/forward/worker.hpp"

#include <sys/socket.h>

#include "dns/message.hpp"
#include "plugins/forward/reply_check.hpp"

namespace moat::plugins::forward {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
constexpr auto kSweepInterval = std::chrono::milliseconds(50);
constexpr auto kOverallTimeout = std::chrono::seconds(5);  // CoreDNS's defaultTimeout
constexpr int kDrainBatch = 64;          // datagrams per wake-up before yielding to other work
constexpr int kSocketBuffer = 1 << 20;   // best effort; the kernel caps it at rmem_max
constexpr std::string_view kPlugin = "forward";
}  // namespace

Worker::Worker(asio::io_context& loop, std::shared_ptr<Shared> shared)
    : loop_(loop), shared_(std::move(shared)), sweep_(loop) {
  channels_.reserve(shared_->channelCount);
  for (uint32_t s = 0; s < shared_->stanzas.size(); ++s) {
    for (uint32_t u = 0; u < shared_->stanzas[s]->upstreams.size(); ++u) {
      auto& ch = channels_.emplace_back(loop_);
      ch.stanza = s;
      ch.upstream = u;
    }
  }
  robin_.assign(shared_->stanzas.size(), 0);
  scratch_.reserve(64);
  // A socket that cannot be opened now (no IPv6 route, say) is retried on first use.
  for (uint32_t c = 0; c < channels_.size(); ++c) openChannel(c);
}

Worker::~Worker() = default;

bool Worker::openChannel(uint32_t c) {
  auto& ch = channels_[c];
  const auto& o = shared_->stanzas[ch.stanza]->config.options;
  const auto& to = shared_->stanzas[ch.stanza]->upstreams[ch.upstream]->addr;
  udp::endpoint ep(to.address, to.port);
  boost::system::error_code ec;
  ch.socket.open(ep.protocol(), ec);
  if (!ec) ch.socket.non_blocking(true, ec);
  if (!ec) {
    boost::system::error_code ignored;
    ch.socket.set_option(asio::socket_base::receive_buffer_size(kSocketBuffer), ignored);
  }
  if (!ec && o.sourceAddress) ch.socket.bind(udp::endpoint(*o.sourceAddress, 0), ec);
  // Connected: the kernel drops datagrams from any other source, and ICMP errors come back.
  if (!ec) ch.socket.connect(ep, ec);
  if (ec) {
    boost::system::error_code ignored;
    ch.socket.close(ignored);
    return false;
  }
  return true;
}

void Worker::start() {
  for (uint32_t c = 0; c < channels_.size(); ++c) waitReadable(c);
}

void Worker::shutdown() {
  stopped_ = true;
  boost::system::error_code ignored;
  sweep_.cancel();
  for (auto& ch : channels_) {
    ch.socket.close(ignored);
    for (auto& conn : ch.idle) conn->socket.close(ignored);
    ch.idle.clear();
  }
  idleConns_ = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto& slot = slots_[static_cast<uint16_t>(i)];
    if (slot.inUse && slot.tcp) slot.tcp->socket.close(ignored);
  }
}

Verdict Worker::dispatchFrom(dns::Query& q, size_t first) {
  const auto name = q.view.question.lowerName();
  for (size_t s = first; s < shared_->stanzas.size(); ++s) {
    if (shared_->stanzas[s]->config.matches(name)) return begin(q, static_cast<uint32_t>(s));
  }
  return Verdict::Next;
}

Verdict Worker::begin(dns::Query& q, uint32_t s) {
  auto& st = *shared_->stanzas[s];
  const auto& o = st.config.options;
  ++stats_.forwarded;
  bool counted = o.maxConcurrent > 0;
  std::optional<uint16_t> index;
  if (stopped_) {
    counted = false;
  } else if (counted && st.concurrent.fetch_add(1, std::memory_order_relaxed) >= o.maxConcurrent) {
    // coredns_forward_max_concurrent_rejects_total
    shared_->stats.maxConcurrentRejects.fetch_add(1, std::memory_order_relaxed);
    q.error = st.limitError;
  } else {
    index = slots_.acquire();
  }
  if (!index) {
    if (counted) st.concurrent.fetch_sub(1, std::memory_order_relaxed);
    if (q.error.empty()) q.error = "too many queries in flight";
    ++stats_.refused;
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
    q.errorPlugin = kPlugin;
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
      for (uint8_t k = n; k > 1; --k) std::swap(slot.order[k - 1], slot.order[rng_.below(k)]);
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
      shared_->stats.healthcheckBroken.fetch_add(1, std::memory_order_relaxed);
      if (o.failfastAllUnhealthy) {
        slot.lastError = kNoHealthy;
        break;
      }
      u = static_cast<uint8_t>(rng_.below(n));
    }
    slot.current = u;
    slot.channel = st.firstChannel + u;
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

std::optional<Failure> Worker::sendUdp(uint16_t i) {
  Slot& slot = slots_[i];
  auto& ch = channels_[slot.channel];
  if (!ch.socket.is_open()) {
    if (!openChannel(slot.channel)) return Failure::Network;
    waitReadable(slot.channel);
  }
  auto id = ch.ids.take(i, rng_);
  if (!id) return Failure::Network;
  // Gather the new ID and the rest of the request: no copy, and the client's bytes stay intact.
  // (DESIGN.md §4: the private-zone egress check belongs here, before anything leaves.)
  const dns::Query& q = *slot.query;
  std::array<uint8_t, 2> idBytes{};
  dns::put16(idBytes.data(), *id);
  const std::array<asio::const_buffer, 2> parts{
      asio::buffer(idBytes), asio::buffer(q.request.data() + 2, q.requestLen - 2u)};
  boost::system::error_code ec;
  ch.socket.send(parts, 0, ec);
  if (ec) {
    ch.ids.release(*id);
    return ec == asio::error::connection_refused ? Failure::Refused : Failure::Network;
  }
  ++stats_.udpSent;
  slot.outId = *id;
  slot.udpIdHeld = true;
  slot.overTcp = false;
  slot.attemptDeadline = Clock::now() + shared_->stanzas[slot.stanza]->config.options.readTimeout;
  armSweep();
  return std::nullopt;
}

// Records a failed attempt; false when no further attempt may follow.
bool Worker::noteFailure(uint16_t i, Failure f) {
  Slot& slot = slots_[i];
  const auto& st = stanza(slot);
  ++stats_.failedAttempts;
  slot.lastError = upstream(slot).errorText(slot.overTcp, f);
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
  q.errorPlugin = kPlugin;
  ++stats_.servfails;
  release(i);
  return Verdict::Answered;
}

void Worker::endAttempt(Slot& slot) {
  if (slot.udpIdHeld) {
    channels_[slot.channel].ids.release(slot.outId);
    slot.udpIdHeld = false;
  }
  if (slot.tcp) {
    boost::system::error_code ignored;
    slot.tcp->socket.close(ignored);  // aborts the exchange; its coroutine sees the generation
    slot.tcp.reset();
  }
  ++slot.generation;
}

void Worker::release(uint16_t i) {
  Slot& slot = slots_[i];
  endAttempt(slot);
  auto& st = *shared_->stanzas[slot.stanza];
  if (st.config.options.maxConcurrent > 0) st.concurrent.fetch_sub(1, std::memory_order_relaxed);
  slots_.release(i);
}

void Worker::finish(dns::Query& q, std::optional<Verdict> v) {
  if (v) plugins::resume(q, *v);
}

void Worker::onAttemptError(uint16_t i, Failure f) {
  Slot& slot = slots_[i];
  dns::Query& q = *slot.query;
  endAttempt(slot);
  finish(q, noteFailure(i, f) ? step(i) : fail(i));
}

void Worker::onReply(uint16_t i, std::span<const uint8_t> reply, bool viaTcp) {
  Slot& slot = slots_[i];
  dns::Query& q = *slot.query;
  const auto& st = stanza(slot);
  const auto& o = st.config.options;
  const auto header = dns::Header::read(reply.data());
  ++stats_.replies;
  // coredns_proxy_request_duration_seconds{proxy_name="forward",to,rcode} observes here.
  if (!viaTcp && (header.flags & dns::flag::TC) != 0 && o.preferUdp && !o.forceTcp) {
    // prefer_udp: a truncated answer is fetched again from the same upstream over TCP.
    endAttempt(slot);
    startTcp(i);
    return;
  }
  const auto rcode = static_cast<uint8_t>(header.flags & dns::flag::RcodeMask);
  if (o.failover.has(rcode) && ++slot.failoverAttempts < st.upstreams.size()) {
    endAttempt(slot);
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
  release(i);
  plugins::resume(q, Verdict::Answered);
}

void Worker::waitReadable(uint32_t c) {
  auto& ch = channels_[c];
  if (ch.waiting || stopped_ || !ch.socket.is_open()) return;
  ch.waiting = true;
  ch.socket.async_wait(udp::socket::wait_read,
                       [self = shared_from_this(), c](boost::system::error_code ec) {
                         self->onReadable(c, ec);
                       });
}

void Worker::onReadable(uint32_t c, boost::system::error_code ec) {
  auto& ch = channels_[c];
  ch.waiting = false;
  if (stopped_ || ec == asio::error::operation_aborted) return;
  if (ec) {
    // The socket is unusable; the next send reopens it, and its in-flight queries time out.
    boost::system::error_code ignored;
    ch.socket.close(ignored);
    return;
  }
  for (int k = 0; k < kDrainBatch && ch.socket.is_open(); ++k) {
    boost::system::error_code rec;
    const size_t n = ch.socket.receive(asio::buffer(recv_), 0, rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) break;
    if (rec == asio::error::connection_refused) {
      // ICMP port unreachable on a connected socket: nobody listens there. Fail over now
      // instead of waiting for read_timeout.
      failChannel(c, Failure::Refused);
      continue;
    }
    if (rec) break;
    onDatagram(c, {recv_.data(), n});
  }
  waitReadable(c);
}

void Worker::onDatagram(uint32_t c, std::span<const uint8_t> datagram) {
  if (datagram.size() < dns::kHeaderSize) {
    ++stats_.mismatched;
    return;
  }
  const uint16_t i = channels_[c].ids.lookup(dns::get16(datagram.data()));
  if (i == kNoSlot) {
    ++stats_.unknownId;  // late (after a timeout) or spoofed
    return;
  }
  if (!replyMatches(datagram, slots_[i].query->view)) {
    ++stats_.mismatched;  // keep waiting: the genuine reply may still come
    return;
  }
  onReply(i, datagram, false);
}

void Worker::failChannel(uint32_t c, Failure f) {
  // Collect first: failing one query may start others, even on this channel.
  scratch_.clear();
  for (size_t k = 0; k < slots_.size(); ++k) {
    const auto& slot = slots_[static_cast<uint16_t>(k)];
    if (slot.inUse && slot.udpIdHeld && slot.channel == c) scratch_.push_back(static_cast<uint16_t>(k));
  }
  for (size_t k = 0; k < scratch_.size(); ++k) {
    const uint16_t i = scratch_[k];
    if (slots_[i].inUse && slots_[i].udpIdHeld && slots_[i].channel == c) onAttemptError(i, f);
  }
}

void Worker::armSweep() {
  if (sweepArmed_ || stopped_) return;
  sweepArmed_ = true;
  sweep_.expires_after(kSweepInterval);
  sweep_.async_wait([self = shared_from_this()](boost::system::error_code ec) { self->onSweep(ec); });
}

void Worker::onSweep(boost::system::error_code ec) {
  sweepArmed_ = false;
  if (stopped_ || ec == asio::error::operation_aborted) return;
  const auto now = Clock::now();
  // Attempts started from inside this loop get deadlines after `now`, so they are skipped.
  for (size_t k = 0; k < slots_.size(); ++k) {
    const auto i = static_cast<uint16_t>(k);
    if (slots_[i].inUse && slots_[i].attemptDeadline <= now) {
      ++stats_.timeouts;
      onAttemptError(i, Failure::Timeout);
    }
  }
  expireIdle(now);
  if (slots_.inUse() > 0 || idleConns_ > 0) armSweep();
}

}  // namespace moat::plugins::forward
