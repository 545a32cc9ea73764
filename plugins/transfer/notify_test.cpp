#include "plugins/transfer/notify.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugins/transfer/test_support.hpp"

namespace moat::plugins::transfer {
namespace {

using namespace moat::plugins::transfer::testing;

// A UDP socket on 127.0.0.1 playing the secondary.
class Secondary {
 public:
  Secondary() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~Secondary() { ::close(fd_); }
  uint16_t port() const { return port_; }

  // The next datagram within `timeout` (empty when none); `from` receives its sender.
  std::vector<uint8_t> receive(std::chrono::milliseconds timeout, sockaddr_in& from) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return {};
    std::vector<uint8_t> buf(4096);
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
  void answer(std::vector<uint8_t> query, const sockaddr_in& to, uint8_t rcode) {
    query[2] |= 0x80;  // QR
    query[3] = static_cast<uint8_t>((query[3] & 0xF0) | rcode);
    ::sendto(fd_, query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

NotifyTarget target(uint16_t port) {
  return {boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), std::nullopt,
          "127.0.0.1:" + std::to_string(port)};
}

TEST_CASE("notify: an answered NOTIFY is not sent again") {
  Secondary secondary;
  Notifier notifier({3, std::chrono::milliseconds(200)});
  notifier.send("example.org.", notifyMessage(*exampleZone(7, 1), 0), {target(secondary.port())});
  sockaddr_in from{};
  auto first = secondary.receive(std::chrono::seconds(5), from);
  REQUIRE(first.size() > dns::kHeaderSize);
  CHECK(dns::Header::read(first.data()).opcode() == 4);
  secondary.answer(first, from, 0);
  // Longer than the second wait would have been: nothing more comes.
  CHECK(secondary.receive(std::chrono::milliseconds(900), from).empty());
}

TEST_CASE("notify: an unanswered or refused NOTIFY is retried, then given up") {
  Secondary secondary;
  Notifier notifier({3, std::chrono::milliseconds(50)});
  notifier.send("example.org.", notifyMessage(*exampleZone(7, 1), 0), {target(secondary.port())});
  sockaddr_in from{};
  auto first = secondary.receive(std::chrono::seconds(5), from);
  REQUIRE_FALSE(first.empty());
  secondary.answer(first, from, 5);  // REFUSED: tried again
  auto second = secondary.receive(std::chrono::seconds(5), from);
  REQUIRE_FALSE(second.empty());
  CHECK(dns::get16(second.data()) == dns::get16(first.data()));  // the same exchange
  CHECK_FALSE(secondary.receive(std::chrono::seconds(5), from).empty());
  CHECK(secondary.receive(std::chrono::milliseconds(600), from).empty());  // three sends, no more
}

}  // namespace
}  // namespace moat::plugins::transfer
