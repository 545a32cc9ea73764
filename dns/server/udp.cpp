#include "dns/server/udp.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>

#include "dns/message.hpp"
#include "dns/reply_fit.hpp"

namespace moat::dns::server {

namespace asio = boost::asio;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

UdpListener::UdpListener(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId)
    : worker_(worker), dispatcher_(dispatcher), listenerId_(listenerId), socket_(worker.io()) {}

bool UdpListener::bind(const asio::ip::udp::endpoint& endpoint, std::string& error) {
  boost::system::error_code ec;
  socket_.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    socket_.set_option(asio::ip::v6_only(false), ec);  // "::" serves IPv4 too
  }
  if (!ec) socket_.set_option(ReusePort(true), ec);
  if (!ec) socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
  if (!ec) socket_.non_blocking(true, ec);
  if (!ec) socket_.bind(endpoint, ec);
  if (ec) {
    error = "udp " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) +
            ": " + ec.message();
    return false;
  }
  return true;
}

void UdpListener::start() { arm(); }

void UdpListener::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void UdpListener::arm() {
  socket_.async_wait(asio::socket_base::wait_read, [this](const boost::system::error_code& ec) {
    if (ec) return;  // closed
    onReadable();
    arm();
  });
}

void UdpListener::onReadable() {
  int fd = socket_.native_handle();
  // A few batches per wake-up, then yield to the other sockets of this worker.
  for (int round = 0; round < 4; ++round) {
    unsigned n = 0;
    while (n < kBatch) {
      Query* q = worker_.pool().take();
      if (q == nullptr) break;
      slots_[n] = q;
      iovs_[n] = {q->request.data(), q->request.size()};
      msgs_[n].msg_hdr = {};
      msgs_[n].msg_hdr.msg_name = &q->client.addr;
      msgs_[n].msg_hdr.msg_namelen = sizeof q->client.addr;
      msgs_[n].msg_hdr.msg_iov = &iovs_[n];
      msgs_[n].msg_hdr.msg_iovlen = 1;
      ++n;
    }
    if (n == 0) {
      refuseWithoutQuery();
      return;
    }
    int got = ::recvmmsg(fd, msgs_.data(), n, MSG_DONTWAIT, nullptr);
    int count = got > 0 ? got : 0;
    auto now = std::chrono::steady_clock::now();
    for (int i = count; i < static_cast<int>(n); ++i) worker_.pool().give(slots_[i]);
    for (int i = 0; i < count; ++i) {
      Query& q = *slots_[i];
      q.requestLen = static_cast<uint16_t>(msgs_[i].msg_len);
      q.client.len = msgs_[i].msg_hdr.msg_namelen;
      q.proto = Proto::Udp;
      q.start = now;
      q.sink = this;
      q.listener = listenerId_;
      worker_.accept(q, dispatcher_);
    }
    if (count < static_cast<int>(n)) return;
  }
}

// The pool is empty (every query of this worker is in flight): answer REFUSED from a scratch
// buffer so the client does not wait for a timeout.
void UdpListener::refuseWithoutQuery() {
  std::array<uint8_t, 512> buf;
  sockaddr_storage from{};
  socklen_t fromLen = sizeof from;
  ssize_t n = ::recvfrom(socket_.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&from), &fromLen);
  if (n < static_cast<ssize_t>(kHeaderSize)) return;
  bump(worker_.stats().poolExhausted);
  std::array<uint8_t, kHeaderSize> reply{};
  Header h = Header::read(buf.data());
  if (h.flags & flag::QR) return;
  Header r{h.id, static_cast<uint16_t>(flag::QR | (h.flags & (flag::OpcodeMask | flag::RD)) |
                                       static_cast<uint16_t>(RCode::Refused)), 0, 0, 0, 0};
  r.write(reply.data());
  ::sendto(socket_.native_handle(), reply.data(), reply.size(), MSG_DONTWAIT,
           reinterpret_cast<sockaddr*>(&from), fromLen);
}

void UdpListener::sendReply(Query& q) {
  if (!q.finalized) finalizeReply(q.reply, q.view, Proto::Udp);
  ssize_t sent = ::sendto(socket_.native_handle(), q.reply.data(), q.reply.size(), MSG_DONTWAIT,
                          reinterpret_cast<const sockaddr*>(&q.client.addr), q.client.len);
  if (sent < 0) bump(worker_.stats().sendFailed);
  worker_.pool().give(&q);
}

void UdpListener::dropQuery(Query& q) { worker_.pool().give(&q); }

}  // namespace moat::dns::server
