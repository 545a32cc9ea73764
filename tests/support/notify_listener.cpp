#include "tests/support/notify_listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <sstream>

#include "dns/wire.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::testing {

namespace {

constexpr int kOpcodeNotify = 4;

// The serial of a record in ldns's text form, when it is an SOA ("owner ttl IN SOA mname rname
// SERIAL ..."); 0 otherwise.
uint32_t soaSerial(const std::string& record) {
  std::istringstream in(record);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() < 7 || words[3] != "SOA") return 0;
  return static_cast<uint32_t>(std::stoul(words[6]));
}

std::string addressText(const sockaddr_storage& from) {
  char text[INET6_ADDRSTRLEN] = {};
  if (from.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(from).sin6_addr, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(from).sin_addr, text, sizeof text);
  }
  return text;
}

}  // namespace

NotifyListener::NotifyListener(const std::string& address) {
  sockaddr_storage local{};
  socklen_t len = 0;
  if (address.find(':') != std::string::npos) {
    auto& a = reinterpret_cast<sockaddr_in6&>(local);
    a.sin6_family = AF_INET6;
    REQUIRE(::inet_pton(AF_INET6, address.c_str(), &a.sin6_addr) == 1);
    len = sizeof a;
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(local);
    a.sin_family = AF_INET;
    REQUIRE(::inet_pton(AF_INET, address.c_str(), &a.sin_addr) == 1);
    len = sizeof a;
  }
  fd_ = ::socket(local.ss_family, SOCK_DGRAM, 0);
  REQUIRE(fd_ >= 0);
  REQUIRE_MESSAGE(::bind(fd_, reinterpret_cast<sockaddr*>(&local), len) == 0, "bind to " << address);
  REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len) == 0);
  port_ = ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(local).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(local).sin_port);
}

NotifyListener::~NotifyListener() { ::close(fd_); }

bool NotifyListener::awaitSerial(uint32_t serial, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
    std::vector<uint8_t> buf(4096);
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < static_cast<ssize_t>(dns::kHeaderSize)) continue;
    buf.resize(static_cast<size_t>(n));
    const auto header = dns::Header::read(buf.data());
    if (header.opcode() != kOpcodeNotify) continue;
    received++;
    senders.push_back(addressText(from));
    auto reply = buf;
    reply[2] |= 0x80;  // QR, NOERROR
    ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    const Reply decoded = decode(buf);
    if (!decoded.ok || decoded.answer.empty()) continue;
    lastQuestionOk = header.qdcount == 1 && (header.flags & dns::flag::AA) != 0;
    if (soaSerial(decoded.answer[0]) == serial) return true;
  }
}

}  // namespace moat::testing
