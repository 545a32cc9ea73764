// A TCP listener given a TLS context: DNS over TLS with the TCP framing (several queries in one
// write, every reply back), and the handshakes that fail, counted: garbage at once, silence when
// the read timeout ends it.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "dns/message.hpp"
#include "dns/server/tcp.hpp"
#include "dns/server/worker.hpp"
#include "dns/tls_context.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/tls.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::dns::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Answers every query REFUSED, at once.
class RefuseAll final : public Dispatcher {
 public:
  void dispatch(Query& q) override {
    writeErrorReply(q.reply, q.requestBytes(), &q.view, RCode::Refused);
    q.sink->sendReply(q);
  }
};

struct TlsLive {
  explicit TlsLive(const testing::TestPki& pki) {
    std::string error;
    auto ctx = makeServerTlsContext({pki.serverCert(), pki.serverKey(), ""}, ClientAuth::NoCert, error);
    REQUIRE_MESSAGE(ctx, error);
    TcpLimits limits;
    limits.read = 300ms;
    listener = std::make_unique<TcpListener>(worker, dispatcher, 0, limits, ctx);
    REQUIRE(listener->bind({asio::ip::make_address("127.0.0.1"), port}, error));
    listener->start();
    worker.startThread();
  }
  ~TlsLive() {
    worker.stop();
    worker.join();
  }
  bool handshakesFailed(uint64_t want) const {
    const auto& c = worker.stats().tlsHandshakeFailed;
    for (int i = 0; i < 200 && c.load() < want; ++i) std::this_thread::sleep_for(10ms);
    return c.load() == want;
  }

  Worker worker{0, 16};
  RefuseAll dispatcher;
  std::unique_ptr<TcpListener> listener;
  uint16_t port = testing::freePort();
};

int rawConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// True when the server closes `fd` within `limit` (alerts it sends first are read past).
bool closedWithin(int fd, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  uint8_t buf[256];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) == 1 && ::recv(fd, buf, sizeof buf, 0) <= 0) return true;
  }
  return false;
}

TEST_CASE("tls listener: ten queries in one write over TLS, ten replies with the TCP framing") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  TlsLive live(pki);

  std::string error;
  auto clientCtx = makeClientTlsContext({"", "", pki.ca()}, error);
  REQUIRE_MESSAGE(clientCtx, error);
  asio::io_context io;
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, *clientCtx);
  REQUIRE(tlsVerifyName(stream.native_handle(), testing::TestPki::kServerName));
  stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), live.port});
  stream.handshake(asio::ssl::stream_base::client);

  std::vector<uint8_t> burst;
  for (uint16_t id = 1; id <= 10; ++id) {
    auto q = testing::makeQuery({.name = "example.org.", .id = id});
    burst.push_back(uint8_t(q.size() >> 8));
    burst.push_back(uint8_t(q.size()));
    burst.insert(burst.end(), q.begin(), q.end());
  }
  asio::write(stream, asio::buffer(burst));
  std::vector<bool> seen(11, false);
  for (int i = 0; i < 10; ++i) {
    uint8_t prefix[2];
    asio::read(stream, asio::buffer(prefix));
    std::vector<uint8_t> reply(size_t(prefix[0]) << 8 | prefix[1]);
    asio::read(stream, asio::buffer(reply));
    auto r = testing::decode(reply);
    REQUIRE(r.ok);
    CHECK(r.rcode == 5);
    REQUIRE(r.id >= 1);
    REQUIRE(r.id <= 10);
    CHECK_FALSE(seen[r.id]);
    seen[r.id] = true;
  }
  CHECK(live.worker.stats().tlsHandshakeFailed.load() == 0);
}

// Runs `f` on the worker's thread and waits for it: the allocation counter is per thread.
template <class F>
void onWorker(Worker& worker, F f) {
  std::promise<void> done;
  asio::post(worker.io(), [&] {
    f();
    done.set_value();
  });
  done.get_future().wait();
}

TEST_CASE("tls listener: a query answered over TLS allocates nothing on the worker once the connection is up") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  TlsLive live(pki);
  std::string error;
  auto clientCtx = makeClientTlsContext({"", "", pki.ca()}, error);
  REQUIRE_MESSAGE(clientCtx, error);
  asio::io_context io;
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, *clientCtx);
  stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), live.port});
  stream.handshake(asio::ssl::stream_base::client);

  auto q = testing::makeQuery({.name = "example.org.", .id = 7});
  std::vector<uint8_t> framed = {uint8_t(q.size() >> 8), uint8_t(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  auto roundTrip = [&] {
    asio::write(stream, asio::buffer(framed));
    uint8_t prefix[2];
    asio::read(stream, asio::buffer(prefix));
    std::vector<uint8_t> reply(size_t(prefix[0]) << 8 | prefix[1]);
    asio::read(stream, asio::buffer(reply));
    return testing::decode(reply).rcode;
  };
  for (int i = 0; i < 5; ++i) REQUIRE(roundTrip() == 5);  // buffers and handler memory warmed up
  onWorker(live.worker, [] {
    testing::allocations = 0;
    testing::counting = true;
  });
  for (int i = 0; i < 20; ++i) REQUIRE(roundTrip() == 5);
  size_t seen = 0;
  onWorker(live.worker, [&seen] {
    testing::counting = false;
    seen = testing::allocations;
  });
  CHECK(seen == 0);
}

TEST_CASE("tls listener: garbage closed at once, silence closed by the read timeout, both counted") {
  testing::TempDir dir;
  testing::TestPki pki(dir);
  TlsLive live(pki);

  int garbage = rawConnect(live.port);
  const uint8_t junk[] = {0x00, 0x1d, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};  // plain DNS
  REQUIRE(::send(garbage, junk, sizeof junk, MSG_NOSIGNAL) == sizeof junk);
  CHECK(closedWithin(garbage, 200ms));  // well before the 300 ms read timeout
  ::close(garbage);
  CHECK(live.handshakesFailed(1));

  int silent = rawConnect(live.port);
  const auto start = std::chrono::steady_clock::now();
  CHECK(closedWithin(silent, 3s));
  CHECK(std::chrono::steady_clock::now() - start >= 250ms);
  ::close(silent);
  CHECK(live.handshakesFailed(2));
  CHECK(live.worker.stats().tcpConnections.load() == 0);
}

}  // namespace
}  // namespace moat::dns::server
