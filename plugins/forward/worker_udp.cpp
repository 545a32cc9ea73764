// The UDP side of a worker: each query leaves from a socket of the pool picked at random
// (udp_pool.hpp) with an ID from the kernel's CSPRNG, gathered with the client's bytes so
// nothing is copied unless its name's case is randomized; one wait on the pool's epoll set reads
// whatever socket has a datagram. A reply must come from the upstream's address and port, carry
// the ID of a query waiting on that very socket, and answer its question (reply_check.hpp).
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/post.hpp>

#include "plugins/forward/worker.hpp"

namespace moat::plugins::forward {

namespace asio = boost::asio;

namespace {
constexpr int kDrainBatch = 64;  // datagrams per socket per wake-up before yielding to other work
}  // namespace

std::optional<Failure> Worker::sendUdp(uint16_t i) {
  Slot& slot = slots_[i];
  const dns::Query& q = *slot.query;
  // The egress check at the socket (DESIGN.md §4). dispatchFrom already kept private names
  // from stanzas that may not send them; this is the last gate before bytes leave.
  if (shared_->keptIn(slot.stanza, q) != nullptr) {
    dns::bump(stats_.sendsStopped);
    return Failure::Network;
  }
  const uint16_t e = pool_.acquire(slot.channel, random_, Clock::now());
  if (e == UdpPool::kNone) {
    dns::bump(stats_.socketsUnavailable);
    return Failure::Network;
  }
  auto id = ids_.take(i, random_);
  if (!id) return Failure::Network;
  // The attempt starts before its datagram leaves: a reply can never seem quicker than the
  // upstream's own delay (coredns_proxy_request_duration_seconds).
  const Clock::time_point start = Clock::now();
  std::array<uint8_t, 2> idBytes{};
  dns::put16(idBytes.data(), *id);
  ssize_t sent;
  if (stanza(slot).config.options.randomizeCase) {
    // DNS 0x20: every letter of the name flipped or not at random; the reply must echo it.
    out_.assign(q.request.data(), q.request.data() + q.requestLen);
    std::copy(idBytes.begin(), idBytes.end(), out_.begin());
    random_.fill(slot.caseFlips);
    const size_t at = q.view.question.nameOffset;
    for (size_t k = 0; k < q.view.question.nameLen; ++k) {
      const uint8_t b = out_[at + k];
      const bool letter = (b | 0x20) >= 'a' && (b | 0x20) <= 'z';
      if (letter && caseFlipped(slot.caseFlips, k)) out_[at + k] = static_cast<uint8_t>(b ^ 0x20);
    }
    sent = ::send(pool_.fd(e), out_.data(), out_.size(), 0);
  } else {
    // Gather the new ID and the rest of the request: no copy, and the client's bytes stay intact.
    iovec parts[2] = {{idBytes.data(), idBytes.size()},
                      {const_cast<uint8_t*>(q.request.data()) + 2, q.requestLen - 2u}};
    // sendmsg, not writev: writev on a socket takes the file layer's way round to the same
    // sendmsg, a measurable detour at this rate.
    msghdr msg{};
    msg.msg_iov = parts;
    msg.msg_iovlen = 2;
    sent = ::sendmsg(pool_.fd(e), &msg, 0);
  }
  if (sent < 0) {
    const int err = errno;
    ids_.release(*id);
    pool_.retire(e);
    return err == ECONNREFUSED ? Failure::Refused : Failure::Network;
  }
  pool_.attach(e, i);
  dns::bump(stats_.udpSent);
  slot.outId = *id;
  slot.socket = e;
  slot.udpIdHeld = true;
  slot.overTcp = false;
  slot.attemptStart = start;
  slot.attemptDeadline = slot.attemptStart + stanza(slot).config.options.readTimeout;
  armSweep();
  return std::nullopt;
}

void Worker::waitPool() {
  if (poolWaiting_ || stopped_) return;
  poolWaiting_ = true;
  poolEvents_.async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this()](boost::system::error_code ec) { self->onPoolReadable(ec); });
}

void Worker::onPoolReadable(boost::system::error_code ec) {
  poolWaiting_ = false;
  if (stopped_ || ec == asio::error::operation_aborted) return;
  std::array<uint16_t, UdpPool::kReadyBatch> ready;
  const size_t n = pool_.ready(ready);
  for (size_t k = 0; k < n; ++k) drain(ready[k]);
  if (n == ready.size() && !stopped_) {
    // Perhaps more sockets are ready than one batch holds. The event loop's wait would not say
    // so (it reports the pool's set once per change), so come back after whatever else is queued.
    poolWaiting_ = true;
    asio::post(poolEvents_.get_executor(),
               [self = shared_from_this()] { self->onPoolReadable({}); });
    return;
  }
  waitPool();
}

void Worker::drain(uint16_t e) {
  for (int k = 0; pool_.open(e); ++k) {
    if (k == kDrainBatch) {
      // Edge-triggered: what is left would not be reported again by itself. Ask for a new
      // report and let other work run first.
      pool_.rearm(e);
      return;
    }
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    const ssize_t n = ::recvfrom(pool_.fd(e), recv_.data(), recv_.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      // An ICMP error on a connected socket: nobody listens there, or it cannot be reached.
      // Fail over now instead of waiting for read_timeout.
      failSocket(e, errno == ECONNREFUSED ? Failure::Refused : Failure::Network);
      return;
    }
    onDatagram(e, from, fromLen, {recv_.data(), static_cast<size_t>(n)});
    // Nothing left to wait for here: skip the read that would only say so. Anything still
    // queued can only be stray (no query waits for it); it is read when the next datagram
    // arrives and reports the socket again, or goes with the socket when it closes.
    if (!pool_.open(e) || pool_.waiting(e).empty()) return;
  }
}

void Worker::onDatagram(uint16_t e, const sockaddr_storage& from, socklen_t fromLen,
                        std::span<const uint8_t> datagram) {
  // The socket is connected, so the kernel already dropped other senders; checked again here
  // so that the rule does not rest on a socket option.
  if (!pool_.target(pool_.channel(e)).isPeer(from, fromLen)) return reject(Reject::Source);
  if (datagram.size() < dns::kHeaderSize) return reject(Reject::Malformed);
  const uint16_t i = ids_.lookup(dns::get16(datagram.data()));
  std::optional<Reject> why = Reject::Id;
  if (i != kNoSlot && slots_[i].inUse && slots_[i].udpIdHeld && slots_[i].socket == e) {
    const dns::Query& q = *slots_[i].query;
    const bool mixed = stanza(slots_[i]).config.options.randomizeCase;
    const auto sentName = std::span<const uint8_t>(q.request.data() + q.view.question.nameOffset,
                                                   mixed ? q.view.question.nameLen : 0u);
    why = checkReply(datagram, q.view, sentName, slots_[i].caseFlips);
    if (!why) return onReply(i, datagram, false);
  }
  reject(*why);
  // RFC 5452 9.1: a reply to a question still waiting on this socket that fails the checks is
  // most likely a forgery, from someone who knows the question and the port and is guessing
  // IDs. Such a query gives up UDP and asks again over TCP, where guessing gets nowhere.
  scratch_.assign(pool_.waiting(e).begin(), pool_.waiting(e).end());
  for (const uint16_t s : scratch_) {
    if (slots_[s].inUse && slots_[s].udpIdHeld && slots_[s].socket == e &&
        sameQuestion(datagram, slots_[s].query->view)) {
      moveToTcp(s);
    }
  }
}

void Worker::moveToTcp(uint16_t i) {
  dns::bump(stats_.spoofingSuspected);
  endAttempt(i, /*retireSocket=*/true);
  startTcp(i);
}

void Worker::failSocket(uint16_t e, Failure f) {
  // Collect first: failing one query may start others, even on this socket (until it retires).
  scratch_.assign(pool_.waiting(e).begin(), pool_.waiting(e).end());
  pool_.retire(e);
  for (const uint16_t i : scratch_) {
    if (slots_[i].inUse && slots_[i].udpIdHeld && slots_[i].socket == e) onAttemptError(i, f);
  }
}

}  // namespace moat::plugins::forward
