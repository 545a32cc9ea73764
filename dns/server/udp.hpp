// A worker's UDP socket for one listener (SO_REUSEPORT: every worker binds the same address and
// the kernel spreads datagrams). Datagrams are read in batches with recvmmsg straight into
// pooled Query buffers; replies answered while their batch is read leave together with
// sendmmsg, later ones (forwarded) with a non-blocking sendmsg. A socket bound to every
// address learns each datagram's destination (IP_PKTINFO / IPV6_PKTINFO) and answers from it,
// so a multi-homed host never replies from an address the client did not ask.
#pragma once

#include <sys/socket.h>

#include <array>

#include <boost/asio/ip/udp.hpp>

#include "dns/query.hpp"
#include "dns/server/worker.hpp"

namespace moat::dns::server {

class UdpListener final : public ReplySink {
 public:
  UdpListener(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId);
  // Opens and binds; false with `error` set on failure.
  bool bind(const boost::asio::ip::udp::endpoint& endpoint, std::string& error);
  void start();
  void close();

  void sendReply(Query& q) override;
  void dropQuery(Query& q) override;

 private:
  static constexpr unsigned kBatch = 32;

  void arm();
  void onReadable();
  void refuseWithoutQuery();
  void readDestination(const msghdr& msg, Query& q) const;
  void flushReplies();
  void describeReply(const Query& q, msghdr& msg, iovec& iov, uint8_t* control) const;

  Worker& worker_;
  Dispatcher& dispatcher_;
  uint16_t listenerId_;
  boost::asio::ip::udp::socket socket_;
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iovs_{};
  std::array<Query*, kBatch> slots_{};
  static constexpr size_t kControlSize = 128;  // IPv4 on a dual-stack socket reports both pktinfos
  alignas(cmsghdr) std::array<std::array<uint8_t, kControlSize>, kBatch> control_{};
  std::array<mmsghdr, kBatch> sendMsgs_{};
  std::array<iovec, kBatch> sendIovs_{};
  alignas(cmsghdr) std::array<std::array<uint8_t, kControlSize>, kBatch> sendControl_{};
  std::array<Query*, kBatch> outbox_{};
  unsigned pendingSends_ = 0;
  bool batching_ = false;
  bool wildcard_ = false;
  Endpoint bound_;
};

}  // namespace moat::dns::server
