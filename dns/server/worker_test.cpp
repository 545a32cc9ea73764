// What a worker does with hostile input before any plugin sees it: the answer (or silence) and
// the counter it moves. Worker::accept is driven directly with a recording sink; the two cases
// that depend on the socket (a UDP datagram larger than the query buffer, a TCP message cut
// short) go through real loopback sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include "dns/message.hpp"
#include "dns/server/tcp.hpp"
#include "dns/server/udp.hpp"
#include "dns/server/worker.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/server_process.hpp"

namespace moat::dns::server {
namespace {

using namespace std::chrono_literals;

// Keeps what would have been sent; queries go back to the pool as a real sink does.
class RecordingSink final : public ReplySink {
 public:
  explicit RecordingSink(Worker& w) : worker_(w) {}
  void sendReply(Query& q) override {
    replies.push_back(q.reply);
    worker_.pool().give(&q);
  }
  void dropQuery(Query& q) override {
    ++drops;
    worker_.pool().give(&q);
  }
  std::vector<std::vector<uint8_t>> replies;
  int drops = 0;

 private:
  Worker& worker_;
};

class CountingDispatcher final : public Dispatcher {
 public:
  void dispatch(Query& q) override {
    ++count;
    q.sink->dropQuery(q);
  }
  int count = 0;
};

struct Harness {
  Worker worker{0, 8};
  RecordingSink sink{worker};
  CountingDispatcher dispatcher;

  void feed(const std::vector<uint8_t>& packet, bool cut = false) {
    Query* q = worker.pool().take();
    REQUIRE(q != nullptr);
    std::copy(packet.begin(), packet.end(), q->request.begin());
    q->requestLen = static_cast<uint16_t>(packet.size());
    q->sink = &sink;
    worker.accept(*q, dispatcher, cut);
  }
  uint64_t stat(const std::atomic<uint64_t>& c) const { return c.load(); }
};

std::vector<uint8_t> query(uint16_t id = 0x4242) { return testing::makeQuery({.name = "example.org.", .id = id}); }

TEST_CASE("accept: a well-formed query goes to the dispatcher, no error counter moves") {
  Harness h;
  h.feed(query());
  CHECK(h.dispatcher.count == 1);
  const WorkerStats& s = h.worker.stats();
  CHECK(s.received.load() == 1);
  CHECK(s.malformedDropped.load() + s.malformedFormErr.load() + s.notImplemented.load() + s.badVersion.load() == 0);
}

TEST_CASE("accept: a datagram cut by the receive buffer is FORMERR, even when its prefix parses") {
  Harness h;
  auto packet = query(7);
  packet.resize(kMaxRequest, 0xEE);  // what recvmmsg keeps of a longer datagram
  h.feed(packet, /*cut=*/true);
  CHECK(h.dispatcher.count == 0);
  REQUIRE(h.sink.replies.size() == 1);
  auto r = testing::decode(h.sink.replies[0]);
  REQUIRE(r.ok);
  CHECK(r.id == 7);
  CHECK(r.rcode == 1);
  CHECK(h.worker.stats().malformedFormErr.load() == 1);

  // A cut response stays a response: dropped, not answered.
  packet[2] |= 0x80;
  h.feed(packet, true);
  CHECK(h.sink.replies.size() == 1);
  CHECK(h.sink.drops == 1);
  CHECK(h.worker.stats().malformedDropped.load() == 1);
}

TEST_CASE("accept: opcodes other than QUERY and NOTIFY are NOTIMP and counted") {
  Harness h;
  for (uint8_t opcode : {1, 2, 5, 15}) {
    CAPTURE(opcode);
    auto packet = query();
    packet[2] = static_cast<uint8_t>((packet[2] & 0x87) | opcode << 3);
    h.feed(packet);
    auto r = testing::decode(h.sink.replies.back());
    CHECK(r.rcode == 4);
    CHECK((h.sink.replies.back()[2] >> 3 & 0x0F) == opcode);  // echoed
  }
  CHECK(h.worker.stats().notImplemented.load() == 4);
  CHECK(h.dispatcher.count == 0);
}

TEST_CASE("accept: NOTIFY reaches the chain (secondary takes it, the chain answers NOTIMP otherwise)") {
  Harness h;
  auto packet = query();
  packet[2] = static_cast<uint8_t>((packet[2] & 0x87) | 4 << 3);
  h.feed(packet);
  CHECK(h.dispatcher.count == 1);
  CHECK(h.worker.stats().notImplemented.load() == 0);
}

TEST_CASE("accept: EDNS version 1 is BADVERS (extended rcode 16) and counted") {
  Harness h;
  auto packet = testing::makeQuery({.name = "example.org.", .edns = 1232});
  packet[packet.size() - 5] = 1;  // the OPT's VERSION byte (then 2 flag bytes, 2 rdlen bytes)
  h.feed(packet);
  REQUIRE(h.sink.replies.size() == 1);
  const auto& reply = h.sink.replies[0];
  CHECK((reply[3] & 0x0F) == 0);
  REQUIRE(reply.size() >= 11);
  const uint8_t* opt = reply.data() + reply.size() - 11;
  CHECK(get16(opt + 1) == rrtype::OPT);
  CHECK(opt[5] == 1);  // upper 8 bits of 16
  CHECK(opt[6] == 0);  // we speak version 0
  CHECK(h.worker.stats().badVersion.load() == 1);
  CHECK(h.dispatcher.count == 0);
}

// The worker's loop on its own thread, with one listener of each kind on a free port.
struct Live {
  Worker worker{0, 16};
  CountingDispatcher dispatcher;
  UdpListener udp{worker, dispatcher, 0};
  TcpListener tcp{worker, dispatcher, 0, TcpLimits{}};
  uint16_t port = testing::freePort();

  Live() {
    std::string error;
    auto address = boost::asio::ip::make_address("127.0.0.1");
    REQUIRE(udp.bind({address, port}, error));
    REQUIRE(tcp.bind({address, port}, error));
    udp.start();
    tcp.start();
    worker.startThread();
  }
  ~Live() {
    worker.stop();
    worker.join();
  }
  bool waitFor(const std::atomic<uint64_t>& c, uint64_t want) const {
    for (int i = 0; i < 200 && c.load() < want; ++i) std::this_thread::sleep_for(10ms);
    return c.load() == want;
  }
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

TEST_CASE("udp: a datagram longer than the query buffer gets FORMERR, not an answer to its prefix") {
  Live live;
  auto packet = query(99);
  packet.resize(kMaxRequest + 1000, 0);
  auto reply = testing::exchangeUdp(live.port, packet, 2s);
  auto r = testing::decode(reply);
  REQUIRE(r.ok);
  CHECK(r.id == 99);
  CHECK(r.rcode == 1);
  CHECK(live.dispatcher.count == 0);
  CHECK(live.worker.stats().malformedFormErr.load() == 1);
}

// Answers queries with an even ID at once (REFUSED) and holds odd ones for a later turn of the
// worker's loop, as a forwarder does: both kinds must reach the client from a burst.
class HalfLaterDispatcher final : public Dispatcher {
 public:
  explicit HalfLaterDispatcher(Worker& w) : worker_(w) {}
  void dispatch(Query& q) override {
    writeErrorReply(q.reply, q.requestBytes(), &q.view, RCode::Refused);
    if (q.view.header.id % 2 == 0) {
      q.sink->sendReply(q);
      return;
    }
    boost::asio::post(worker_.io(), [&q] { q.sink->sendReply(q); });
  }

 private:
  Worker& worker_;
};

TEST_CASE("udp: a burst read in batches gets every reply, from the address each query was sent to") {
  Worker worker{0, 256};
  HalfLaterDispatcher dispatcher{worker};
  UdpListener udp{worker, dispatcher, 0};
  const uint16_t port = testing::freePort();
  std::string error;
  // Bound to every address, so each reply names its source (IP_PKTINFO) in the batched send.
  REQUIRE(udp.bind({boost::asio::ip::make_address("0.0.0.0"), port}, error));
  udp.start();

  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to = loopback(port);
  to.sin_addr.s_addr = htonl(0x7f000002);  // 127.0.0.2: answered from 127.0.0.1 it would be wrong
  constexpr int kQueries = 100;            // three batches and a bit
  for (int id = 0; id < kQueries; ++id) {
    auto packet = query(static_cast<uint16_t>(id));
    REQUIRE(::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
            static_cast<ssize_t>(packet.size()));
  }
  worker.startThread();  // after the burst: it is waiting in the socket, read in full batches

  std::vector<bool> seen(kQueries, false);
  int replies = 0;
  for (; replies < kQueries; ++replies) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) break;
    uint8_t buf[512];
    sockaddr_in from{};
    socklen_t fromLen = sizeof from;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    REQUIRE(n > 0);
    CHECK(from.sin_addr.s_addr == htonl(0x7f000002));
    auto r = testing::decode(buf, static_cast<size_t>(n));
    REQUIRE(r.ok);
    CHECK(r.rcode == 5);
    REQUIRE(r.id < kQueries);
    CHECK_FALSE(seen[r.id]);
    seen[r.id] = true;
  }
  ::close(fd);
  worker.stop();
  worker.join();
  CHECK(replies == kQueries);
  CHECK(worker.stats().sendFailed.load() == 0);
}

TEST_CASE("tcp: a length prefix promising more than the client sends before closing is counted") {
  Live live;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to = loopback(live.port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  auto packet = query();
  std::vector<uint8_t> framed = {0x01, 0x00};  // 256 bytes promised
  framed.insert(framed.end(), packet.begin(), packet.end());
  REQUIRE(::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(framed.size()));
  ::shutdown(fd, SHUT_WR);
  // The server closes without a reply.
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  uint8_t buf[16];
  CHECK(::recv(fd, buf, sizeof buf, 0) == 0);
  ::close(fd);
  CHECK(live.waitFor(live.worker.stats().malformedDropped, 1));
  CHECK(live.dispatcher.count == 0);
}

}  // namespace
}  // namespace moat::dns::server
