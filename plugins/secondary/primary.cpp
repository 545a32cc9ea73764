#include "plugins/secondary/primary.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "dns/secure_random.hpp"
#include "dns/wire.hpp"
#include "plugins/secondary/axfr.hpp"

namespace moat::plugins::secondary {

namespace {

constexpr std::chrono::milliseconds kSlice{100};  // how soon a stop request is seen

class Connection {
 public:
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool open(const Primary& primary, std::stop_token stop, std::chrono::milliseconds timeout, std::string& error) {
    fd_ = ::socket(primary.address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return failed(error, "socket");
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&primary.address.addr), primary.address.len) == 0) return true;
    if (errno != EINPROGRESS) return failed(error, "connect");
    if (!wait(POLLOUT, stop, timeout, error)) return false;
    int soError = 0;
    socklen_t len = sizeof soError;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soError, &len);
    if (soError != 0) {
      error = std::string("connect: ") + std::strerror(soError);
      return false;
    }
    return true;
  }

  // Sends one message with its 2-byte length prefix.
  bool send(std::span<const uint8_t> message, std::stop_token stop, std::chrono::milliseconds timeout,
            std::string& error) {
    std::vector<uint8_t> framed{static_cast<uint8_t>(message.size() >> 8), static_cast<uint8_t>(message.size())};
    framed.insert(framed.end(), message.begin(), message.end());
    size_t sent = 0;
    while (sent < framed.size()) {
      const ssize_t n = ::send(fd_, framed.data() + sent, framed.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait(POLLOUT, stop, timeout, error)) return false;
      } else {
        return failed(error, "send");
      }
    }
    return true;
  }

  // Reads one length-prefixed message into `out`. False at EOF (error "closed") or on failure.
  bool receive(std::vector<uint8_t>& out, std::stop_token stop, std::chrono::milliseconds timeout,
               std::string& error) {
    uint8_t prefix[2];
    if (!readExactly(prefix, stop, timeout, error)) return false;
    out.resize(static_cast<size_t>(prefix[0]) << 8 | prefix[1]);
    if (out.empty()) {
      error = "an empty message";
      return false;
    }
    return readExactly(out, stop, timeout, error);
  }

 private:
  bool readExactly(std::span<uint8_t> out, std::stop_token stop, std::chrono::milliseconds timeout,
                   std::string& error) {
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::recv(fd_, out.data() + got, out.size() - got, 0);
      if (n > 0) {
        got += static_cast<size_t>(n);
      } else if (n == 0) {
        error = got == 0 && out.size() == 2 ? "the primary closed the connection"
                                            : "the primary closed the connection in the middle of a message";
        return false;
      } else if (errno == EAGAIN || errno == EINTR) {
        if (!wait(POLLIN, stop, timeout, error)) return false;
      } else {
        return failed(error, "recv");
      }
    }
    return true;
  }

  bool wait(short events, std::stop_token stop, std::chrono::milliseconds timeout, std::string& error) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (stop.stop_requested()) {
        error = "stopped";
        return false;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error = "timed out";
        return false;
      }
      pollfd p{fd_, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min(left, kSlice).count()));
      if (n > 0) return true;  // ready, or an error the next call reports
      if (n < 0 && errno != EINTR) return failed(error, "poll");
    }
  }

  static bool failed(std::string& error, const char* what) {
    error = std::string(what) + ": " + std::strerror(errno);
    return false;
  }

  int fd_ = -1;
};

}  // namespace

std::optional<uint32_t> querySerial(const Primary& primary, std::span<const uint8_t> lowerOrigin,
                                    std::stop_token stop, std::string& error, PrimaryTimeouts timeouts) {
  const uint16_t id = dns::threadRandom().u16();
  Connection c;
  std::vector<uint8_t> reply;
  if (!c.open(primary, stop, timeouts.connect, error) ||
      !c.send(buildRequest(lowerOrigin, dns::rrtype::SOA, id), stop, timeouts.idle, error) ||
      !c.receive(reply, stop, timeouts.idle, error)) {
    return std::nullopt;
  }
  return soaSerialFromReply(reply, lowerOrigin, id, error);
}

file::ZonePtr transferZone(const Primary& primary, std::span<const uint8_t> lowerOrigin, std::stop_token stop,
                           std::string& error, PrimaryTimeouts timeouts) {
  const uint16_t id = dns::threadRandom().u16();
  Connection c;
  if (!c.open(primary, stop, timeouts.connect, error) ||
      !c.send(buildRequest(lowerOrigin, dns::rrtype::AXFR, id), stop, timeouts.idle, error)) {
    return nullptr;
  }
  AxfrReader reader(lowerOrigin, id);
  std::vector<uint8_t> message;
  for (;;) {
    if (!c.receive(message, stop, timeouts.idle, error)) {
      if (reader.messages() > 0) error = "the transfer stopped before the closing SOA (" + error + ")";
      return nullptr;
    }
    switch (reader.add(message)) {
      case AxfrReader::Step::More:
        continue;
      case AxfrReader::Step::Failed:
        error = reader.error();
        return nullptr;
      case AxfrReader::Step::Done:
        return reader.take();
    }
  }
}

}  // namespace moat::plugins::secondary
