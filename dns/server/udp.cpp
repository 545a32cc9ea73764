#include "dns/server/udp.hpp"

#include <netinet/in.h>

#include <cstring>

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
  wildcard_ = endpoint.address().is_unspecified();
  if (!ec && wildcard_) {
    int on = 1;
    // Both on an IPv6 socket: IPv4 datagrams arrive there as v4-mapped and report IP_PKTINFO.
    if (endpoint.address().is_v6()) ::setsockopt(socket_.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  }
  if (!ec) {
    auto local = socket_.local_endpoint(ec);
    std::memcpy(&bound_.addr, local.data(), local.size());
    bound_.len = static_cast<socklen_t>(local.size());
  }
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
      if (wildcard_) {
        msgs_[n].msg_hdr.msg_control = control_[n].data();
        msgs_[n].msg_hdr.msg_controllen = kControlSize;
      }
      ++n;
    }
    if (n == 0) {
      refuseWithoutQuery();
      return;
    }
    int got = ::recvmmsg(fd, msgs_.data(), n, MSG_DONTWAIT, nullptr);
    int count = got > 0 ? got : 0;
    auto now = std::chrono::steady_clock::now();
    for (int i = count; i < static_cast<int>(n); ++i) worker_.pool().putBack(slots_[i]);
    batching_ = true;
    for (int i = 0; i < count; ++i) {
      Query& q = *slots_[i];
      q.requestLen = static_cast<uint16_t>(msgs_[i].msg_len);
      q.client.len = msgs_[i].msg_hdr.msg_namelen;
      if (wildcard_) {
        readDestination(msgs_[i].msg_hdr, q);
      } else {
        q.local = bound_;
      }
      q.proto = Proto::Udp;
      q.start = now;
      q.sink = this;
      q.listener = listenerId_;
      worker_.accept(q, dispatcher_, (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0);
    }
    batching_ = false;
    flushReplies();
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
  // Answered while its batch is being read: it leaves with the batch's replies in one sendmmsg.
  if (batching_ && pendingSends_ < kBatch) {
    outbox_[pendingSends_++] = &q;
    return;
  }
  msghdr msg{};
  iovec iov;
  alignas(cmsghdr) std::array<uint8_t, kControlSize> control;
  describeReply(q, msg, iov, control.data());
  if (::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT) < 0) bump(worker_.stats().sendFailed);
  worker_.pool().give(&q);
}

void UdpListener::flushReplies() {
  const unsigned n = pendingSends_;
  pendingSends_ = 0;
  for (unsigned i = 0; i < n; ++i) {
    sendMsgs_[i].msg_len = 0;
    describeReply(*outbox_[i], sendMsgs_[i].msg_hdr, sendIovs_[i], sendControl_[i].data());
  }
  // sendmmsg stops at the first datagram the kernel refuses: count it and go on after it.
  for (unsigned i = 0; i < n;) {
    int sent = ::sendmmsg(socket_.native_handle(), &sendMsgs_[i], n - i, MSG_DONTWAIT);
    if (sent <= 0) {
      bump(worker_.stats().sendFailed);
      ++i;
    } else {
      i += static_cast<unsigned>(sent);
    }
  }
  for (unsigned i = 0; i < n; ++i) worker_.pool().give(outbox_[i]);
}

void UdpListener::dropQuery(Query& q) { worker_.pool().give(&q); }

// The address the client sent to, from the packet-info control message, kept in q.local (the
// interface index rides along in sin6_scope_id / is not needed for IPv4).
void UdpListener::readDestination(const msghdr& msg, Query& q) const {
  q.local = {};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      auto& a = reinterpret_cast<sockaddr_in&>(q.local.addr);
      a.sin_family = AF_INET;
      a.sin_addr = info.ipi_addr;
      a.sin_port = reinterpret_cast<const sockaddr_in6&>(bound_.addr).sin6_port;  // same offset in both
      q.local.len = sizeof(sockaddr_in);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      auto& a = reinterpret_cast<sockaddr_in6&>(q.local.addr);
      a.sin6_family = AF_INET6;
      a.sin6_addr = info.ipi6_addr;
      a.sin6_port = reinterpret_cast<const sockaddr_in6&>(bound_.addr).sin6_port;
      a.sin6_scope_id = info.ipi6_ifindex;
      q.local.len = sizeof(sockaddr_in6);
    }
  }
}

// Fills `msg` to send q's reply to its client; a wildcard socket also names the source address
// (the one the client asked) in `control`, which needs kControlSize bytes.
void UdpListener::describeReply(const Query& q, msghdr& msg, iovec& iov, uint8_t* control) const {
  iov = {const_cast<uint8_t*>(q.reply.data()), q.reply.size()};
  msg = {};
  msg.msg_name = const_cast<sockaddr_storage*>(&q.client.addr);
  msg.msg_namelen = q.client.len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!wildcard_ || q.local.len == 0) return;
  std::memset(control, 0, kControlSize);
  msg.msg_control = control;
  if (q.local.family() == AF_INET) {
    msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst = reinterpret_cast<const sockaddr_in&>(q.local.addr).sin_addr;
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  } else {
    msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    info.ipi6_addr = reinterpret_cast<const sockaddr_in6&>(q.local.addr).sin6_addr;
    info.ipi6_ifindex = reinterpret_cast<const sockaddr_in6&>(q.local.addr).sin6_scope_id;
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
  }
}

}  // namespace moat::dns::server
