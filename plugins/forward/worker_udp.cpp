// The UDP side of a worker: one connected socket per upstream, a non-blocking send per query
// (the new ID and the client's bytes gathered, nothing copied) and a receive loop per socket that
// drains every ready datagram when the socket becomes readable.
#include <boost/asio/ip/udp.hpp>

#include "plugins/forward/reply_check.hpp"
#include "plugins/forward/worker.hpp"

namespace moat::plugins::forward {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
constexpr int kDrainBatch = 64;         // datagrams per wake-up before yielding to other work
constexpr int kSocketBuffer = 1 << 20;  // best effort; the kernel caps it at rmem_max
}  // namespace

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

std::optional<Failure> Worker::sendUdp(uint16_t i) {
  Slot& slot = slots_[i];
  auto& ch = channels_[slot.channel];
  if (!ch.socket.is_open()) {
    if (!openChannel(slot.channel)) return Failure::Network;
    waitReadable(slot.channel);
  }
  const dns::Query& q = *slot.query;
  // The egress check at the socket (DESIGN.md §4). dispatchFrom already kept private names
  // from stanzas that may not send them; this is the last gate before bytes leave.
  if (shared_->keptIn(slot.stanza, q.view.question.lowerName()) != nullptr) {
    dns::bump(stats_.sendsStopped);
    return Failure::Network;
  }
  auto id = ch.ids.take(i, rng_);
  if (!id) return Failure::Network;
  // Gather the new ID and the rest of the request: no copy, and the client's bytes stay intact.
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
  dns::bump(stats_.udpSent);
  slot.outId = *id;
  slot.udpIdHeld = true;
  slot.overTcp = false;
  slot.attemptStart = Clock::now();
  slot.attemptDeadline = slot.attemptStart + shared_->stanzas[slot.stanza]->config.options.readTimeout;
  armSweep();
  return std::nullopt;
}

void Worker::waitReadable(uint32_t c) {
  auto& ch = channels_[c];
  if (ch.waiting || stopped_ || !ch.socket.is_open()) return;
  ch.waiting = true;
  ch.socket.async_wait(
      udp::socket::wait_read,
      [self = shared_from_this(), c](boost::system::error_code ec) { self->onReadable(c, ec); });
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
    if (rec == asio::error::connection_refused || rec == asio::error::host_unreachable ||
        rec == asio::error::network_unreachable) {
      // An ICMP error on a connected socket: nobody listens there, or it cannot be reached.
      // Fail over now instead of waiting for read_timeout.
      failChannel(c, rec == asio::error::connection_refused ? Failure::Refused : Failure::Network);
      continue;
    }
    if (rec) break;
    onDatagram(c, {recv_.data(), n});
  }
  waitReadable(c);
}

void Worker::onDatagram(uint32_t c, std::span<const uint8_t> datagram) {
  if (datagram.size() < dns::kHeaderSize) {
    dns::bump(stats_.mismatched);
    return;
  }
  const uint16_t i = channels_[c].ids.lookup(dns::get16(datagram.data()));
  if (i == kNoSlot) {
    dns::bump(stats_.unknownId);  // late (after a timeout) or spoofed
    return;
  }
  if (!replyMatches(datagram, slots_[i].query->view)) {
    dns::bump(stats_.mismatched);  // keep waiting: the genuine reply may still come
    return;
  }
  onReply(i, datagram, false);
}

void Worker::failChannel(uint32_t c, Failure f) {
  // Collect first: failing one query may start others, even on this channel.
  scratch_.clear();
  for (size_t k = 0; k < slots_.size(); ++k) {
    const auto& slot = slots_[static_cast<uint16_t>(k)];
    if (slot.inUse && slot.udpIdHeld && slot.channel == c) {
      scratch_.push_back(static_cast<uint16_t>(k));
    }
  }
  for (size_t k = 0; k < scratch_.size(); ++k) {
    const uint16_t i = scratch_[k];
    if (slots_[i].inUse && slots_[i].udpIdHeld && slots_[i].channel == c) onAttemptError(i, f);
  }
}

}  // namespace moat::plugins::forward
