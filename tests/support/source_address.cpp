#include "tests/support/source_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

namespace moat::testing {

namespace {

// address:port as a socket address of its family; REQUIREs a valid literal.
sockaddr_storage endpoint(const std::string& address, uint16_t port, socklen_t& len) {
  sockaddr_storage s{};
  if (address.find(':') != std::string::npos) {
    auto& a = reinterpret_cast<sockaddr_in6&>(s);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    REQUIRE_MESSAGE(inet_pton(AF_INET6, address.c_str(), &a.sin6_addr) == 1, address);
    len = sizeof a;
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(s);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    REQUIRE_MESSAGE(inet_pton(AF_INET, address.c_str(), &a.sin_addr) == 1, address);
    len = sizeof a;
  }
  return s;
}

// A socket of `type` bound to `from`, port 0.
int boundSocket(const std::string& from, int type) {
  socklen_t len = 0;
  sockaddr_storage local = endpoint(from, 0, len);
  int fd = ::socket(local.ss_family, type, 0);
  REQUIRE(fd >= 0);
  REQUIRE_MESSAGE(::bind(fd, reinterpret_cast<sockaddr*>(&local), len) == 0, "bind to " << from);
  return fd;
}

}  // namespace

UdpClient::UdpClient(const std::string& from) : fd_(boundSocket(from, SOCK_DGRAM)) {}

UdpClient::~UdpClient() {
  if (fd_ >= 0) ::close(fd_);
}

void UdpClient::send(const std::string& to, uint16_t port, const std::vector<uint8_t>& query) {
  socklen_t len = 0;
  sockaddr_storage remote = endpoint(to, port, len);
  ::sendto(fd_, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&remote), len);
}

std::vector<uint8_t> UdpClient::receive(std::chrono::milliseconds timeout) {
  std::vector<uint8_t> reply(65535);
  pollfd p{fd_, POLLIN, 0};
  ssize_t n = -1;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) > 0) n = ::recv(fd_, reply.data(), reply.size(), 0);
  reply.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return reply;
}

std::vector<uint8_t> udpFrom(const std::string& from, const std::string& to, uint16_t port,
                             const std::vector<uint8_t>& query, std::chrono::milliseconds timeout) {
  UdpClient client(from);
  client.send(to, port, query);
  return client.receive(timeout);
}

std::vector<uint8_t> tcpFrom(const std::string& from, const std::string& to, uint16_t port,
                             const std::vector<uint8_t>& query, std::chrono::milliseconds timeout) {
  int fd = boundSocket(from, SOCK_STREAM);
  socklen_t len = 0;
  sockaddr_storage remote = endpoint(to, port, len);
  std::vector<uint8_t> reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), len) != 0) {
    ::close(fd);
    return reply;
  }
  std::vector<uint8_t> framed = {static_cast<uint8_t>(query.size() >> 8), static_cast<uint8_t>(query.size())};
  framed.insert(framed.end(), query.begin(), query.end());
  ::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL);
  std::vector<uint8_t> buf;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buf.insert(buf.end(), chunk, chunk + n);
    const size_t want = size_t(buf[0]) << 8 | (buf.size() > 1 ? buf[1] : 0);
    if (buf.size() >= 2 && buf.size() >= 2 + want) {
      reply.assign(buf.begin() + 2, buf.begin() + 2 + static_cast<long>(want));
      break;
    }
  }
  ::close(fd);
  return reply;
}

bool tcpListening(const std::string& address, uint16_t port) {
  socklen_t len = 0;
  sockaddr_storage remote = endpoint(address, port, len);
  int fd = ::socket(remote.ss_family, SOCK_STREAM, 0);
  const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&remote), len) == 0;
  ::close(fd);
  return up;
}

}  // namespace moat::testing
