// DNS over sockets bound to a chosen client address, so a test can be 127.0.0.2 or ::1 to the
// server (every 127.0.0.0/8 address is local on Linux), and a check that nothing listens.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::testing {

// One UDP socket bound to `from` (port chosen by the kernel). Queries go out with send(); each
// receive() waits up to its timeout for one datagram (empty: none came).
class UdpClient {
 public:
  explicit UdpClient(const std::string& from);
  ~UdpClient();
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  void send(const std::string& to, uint16_t port, const std::vector<uint8_t>& query);
  std::vector<uint8_t> receive(std::chrono::milliseconds timeout = std::chrono::seconds(2));

 private:
  int fd_ = -1;
};

// One query from `from` to `to`:port and its reply (empty when none came within `timeout`).
std::vector<uint8_t> udpFrom(const std::string& from, const std::string& to, uint16_t port,
                             const std::vector<uint8_t>& query,
                             std::chrono::milliseconds timeout = std::chrono::seconds(2));
std::vector<uint8_t> tcpFrom(const std::string& from, const std::string& to, uint16_t port,
                             const std::vector<uint8_t>& query,
                             std::chrono::milliseconds timeout = std::chrono::seconds(2));

// Whether a TCP connection to address:port is accepted now (a listener is there).
bool tcpListening(const std::string& address, uint16_t port);

}  // namespace moat::testing
