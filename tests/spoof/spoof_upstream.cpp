// A slow upstream with an off-path attacker beside it, for tests/integration/spoof_test.cpp.
//
// It listens on 127.0.0.1 (UDP and TCP, one port, printed as "PORT n" once both are bound) and
// plays two roles that only share a socket, the way a spoofer shares the upstream's address:
// - the upstream answers `A` queries with 192.0.2.1; names starting with "victim" only after
//   --delay-ms over UDP (the window an attacker races), everything else at once;
// - the attacker remembers the source port of the previous forwarded query (a "probe" name it
//   asked through the server itself) and, as each victim query arrives, sends --forged replies
//   for it from the upstream's own address to that port, each with another random ID, answering
//   6.6.6.6 with a long TTL. With --include-real-id it knows the victim's port and ID (an
//   attacker on the path, to exercise detection): its first forgery has a wrong ID, and one
//   later forgery carries the right ID.
// A TXT query for "stats." (sent straight to this port) is answered with what happened:
// "forged=F attempts=A port_hits=P id_hits=I tcp=T": P victim queries came from the port the
// attacker aimed at, I of those had their ID among the forgeries (each such one would have been
// accepted without any further check), T queries arrived over TCP.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<uint8_t>;

struct Options {
  int forged = 1000;
  int delayMs = 150;
  bool includeRealId = false;
};

struct Question {
  uint16_t id = 0;
  std::string name;  // lowercased presentation form, no trailing dot
  size_t end = 0;    // offset past the question
  uint16_t type = 0;
};

bool readQuestion(const Bytes& m, Question& q) {
  if (m.size() < 12 || (m[2] & 0x80) != 0) return false;
  q.id = static_cast<uint16_t>(m[0] << 8 | m[1]);
  size_t off = 12;
  q.name.clear();
  while (off < m.size() && m[off] != 0) {
    const size_t len = m[off];
    if (len > 63 || off + 1 + len >= m.size()) return false;
    if (!q.name.empty()) q.name += '.';
    for (size_t k = 0; k < len; ++k) q.name += static_cast<char>(std::tolower(m[off + 1 + k]));
    off += 1 + len;
  }
  if (off + 5 > m.size()) return false;
  q.type = static_cast<uint16_t>(m[off + 1] << 8 | m[off + 2]);
  q.end = off + 5;
  return true;
}

// A reply to `query` (its question copied as sent) with `id`, and an A record when `address`
// is given (TTL `ttl`), or a TXT record when `txt` is.
Bytes reply(const Bytes& query, const Question& q, uint16_t id, const char* address, uint32_t ttl,
            const std::string& txt = {}) {
  Bytes r(query.begin(), query.begin() + static_cast<long>(q.end));
  r[0] = static_cast<uint8_t>(id >> 8);
  r[1] = static_cast<uint8_t>(id);
  r[2] = static_cast<uint8_t>(0x84 | (query[2] & 0x01));  // QR, AA, RD copied
  r[3] = 0x80;                                             // RA, NOERROR
  std::fill(r.begin() + 4, r.begin() + 12, 0);
  r[5] = 1;
  const bool answer = address != nullptr || !txt.empty();
  if (answer) r[7] = 1;
  if (!answer) return r;
  const uint16_t type = address != nullptr ? 1 : 16;
  const uint8_t rr[] = {0xC0, 0x0C, 0, static_cast<uint8_t>(type), 0, 1,
                        static_cast<uint8_t>(ttl >> 24), static_cast<uint8_t>(ttl >> 16),
                        static_cast<uint8_t>(ttl >> 8), static_cast<uint8_t>(ttl)};
  r.insert(r.end(), std::begin(rr), std::end(rr));
  if (address != nullptr) {
    uint8_t a[4];
    inet_pton(AF_INET, address, a);
    r.insert(r.end(), {0, 4, a[0], a[1], a[2], a[3]});
  } else {
    const auto n = static_cast<uint8_t>(std::min<size_t>(txt.size(), 255));
    r.insert(r.end(), {0, static_cast<uint8_t>(n + 1), n});
    r.insert(r.end(), txt.begin(), txt.begin() + n);
  }
  return r;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

uint64_t randomWord() {
  uint64_t v = 0;
  while (getrandom(&v, sizeof v, 0) != sizeof v) {
  }
  return v;
}

// `n` distinct random IDs, never `avoid` (when given).
std::vector<uint16_t> distinctIds(int n, int avoid) {
  std::vector<uint16_t> all(65536);
  std::iota(all.begin(), all.end(), 0);
  for (size_t k = all.size() - 1; k > 0; --k) std::swap(all[k], all[randomWord() % (k + 1)]);
  std::vector<uint16_t> out;
  for (uint16_t id : all) {
    if (static_cast<int>(out.size()) == n) break;
    if (id != avoid) out.push_back(id);
  }
  return out;
}

struct Pending {
  Clock::time_point due;
  Bytes bytes;
  sockaddr_in to;
};

struct TcpConn {
  int fd;
  Bytes in;
};

class Upstream {
 public:
  Upstream(Options o) : o_(o) {}

  // UDP on a port the kernel picks, then TCP on the same one; when something else already holds
  // that TCP port (other tests run in parallel), both are given up and the next port tried.
  bool bind() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      sockaddr_in a = loopback(0);
      socklen_t len = sizeof a;
      if (::bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
      getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len);
      tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      int one = 1;
      setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(tcp_, 64) == 0) {
        port_ = ntohs(a.sin_port);
        return true;
      }
      close(tcp_);
      close(udp_);
    }
    return false;
  }
  uint16_t port() const { return port_; }

  void run() {
    for (;;) {
      std::vector<pollfd> fds{{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      for (auto& c : conns_) fds.push_back({c.fd, POLLIN, 0});
      int timeout = -1;
      if (!pending_.empty()) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(pending_.front().due -
                                                                          Clock::now());
        timeout = static_cast<int>(std::max<int64_t>(0, wait.count()));
      }
      poll(fds.data(), fds.size(), timeout);
      sendDue();
      if (fds[0].revents & POLLIN) readUdp();
      if (fds[1].revents & POLLIN) accept();
      for (size_t k = 2; k < fds.size(); ++k) {
        if (fds[k].revents != 0) readTcp(fds[k].fd);
      }
    }
  }

 private:
  void sendDue() {
    const auto now = Clock::now();
    while (!pending_.empty() && pending_.front().due <= now) {
      auto& p = pending_.front();
      sendto(udp_, p.bytes.data(), p.bytes.size(), 0, reinterpret_cast<sockaddr*>(&p.to),
             sizeof p.to);
      pending_.erase(pending_.begin());
    }
  }

  void readUdp() {
    Bytes m(65535);
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(udp_, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      Bytes query(m.begin(), m.begin() + n);
      Question q;
      if (!readQuestion(query, q)) continue;
      const uint16_t fromPort = ntohs(from.sin_port);
      if (q.name == "stats") {
        send(from, reply(query, q, q.id, nullptr, 0, stats()));
      } else if (q.name.rfind("victim", 0) == 0) {
        attack(query, q, fromPort);
        pending_.push_back({Clock::now() + std::chrono::milliseconds(o_.delayMs),
                            reply(query, q, q.id, q.type == 1 ? "192.0.2.1" : nullptr, 60), from});
      } else {
        if (q.name.rfind("probe", 0) == 0) lastPort_ = fromPort;
        send(from, reply(query, q, q.id, q.type == 1 ? "192.0.2.1" : nullptr, 60));
      }
    }
  }

  // The forgeries for one victim query, aimed at the port the attacker knows.
  void attack(const Bytes& query, const Question& q, uint16_t fromPort) {
    ++attempts_;
    const uint16_t target = o_.includeRealId ? fromPort : lastPort_;
    if (target == 0) return;
    auto ids = distinctIds(o_.forged, o_.includeRealId ? q.id : -1);
    if (o_.includeRealId && ids.size() > 1) ids[ids.size() / 2] = q.id;
    if (target == fromPort) {
      ++portHits_;
      if (std::find(ids.begin(), ids.end(), q.id) != ids.end()) ++idHits_;
    }
    sockaddr_in to = loopback(target);
    for (uint16_t id : ids) {
      auto forged = reply(query, q, id, "6.6.6.6", 86400);
      // The target's receive buffer fills faster than a server drains it: wait for room
      // rather than lose forgeries in our own send queue.
      while (sendto(udp_, forged.data(), forged.size(), 0, reinterpret_cast<sockaddr*>(&to),
                    sizeof to) < 0 &&
             (errno == EAGAIN || errno == ENOBUFS)) {
        pollfd p{udp_, POLLOUT, 0};
        poll(&p, 1, 10);
      }
      ++forged_;
    }
  }

  void send(const sockaddr_in& to, const Bytes& bytes) {
    sendto(udp_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

  std::string stats() const {
    return "forged=" + std::to_string(forged_) + " attempts=" + std::to_string(attempts_) +
           " port_hits=" + std::to_string(portHits_) + " id_hits=" + std::to_string(idHits_) +
           " tcp=" + std::to_string(tcpQueries_);
  }

  void accept() {
    int fd = ::accept4(tcp_, nullptr, nullptr, SOCK_NONBLOCK);
    if (fd >= 0) conns_.push_back({fd, {}});
  }

  void readTcp(int fd) {
    auto it = std::find_if(conns_.begin(), conns_.end(), [fd](const TcpConn& c) { return c.fd == fd; });
    uint8_t chunk[4096];
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      close(fd);
      conns_.erase(it);
      return;
    }
    it->in.insert(it->in.end(), chunk, chunk + n);
    while (it->in.size() >= 2) {
      const size_t len = static_cast<size_t>(it->in[0] << 8 | it->in[1]);
      if (it->in.size() < 2 + len) break;
      Bytes query(it->in.begin() + 2, it->in.begin() + 2 + static_cast<long>(len));
      it->in.erase(it->in.begin(), it->in.begin() + 2 + static_cast<long>(len));
      Question q;
      if (!readQuestion(query, q)) continue;
      ++tcpQueries_;
      Bytes r = reply(query, q, q.id, q.type == 1 ? "192.0.2.1" : nullptr, 60);
      Bytes framed{static_cast<uint8_t>(r.size() >> 8), static_cast<uint8_t>(r.size())};
      framed.insert(framed.end(), r.begin(), r.end());
      ::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL);
    }
  }

  Options o_;
  int udp_ = -1;
  int tcp_ = -1;
  uint16_t port_ = 0;
  uint16_t lastPort_ = 0;
  std::vector<Pending> pending_;
  std::vector<TcpConn> conns_;
  uint64_t forged_ = 0, attempts_ = 0, portHits_ = 0, idHits_ = 0, tcpQueries_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a == "--forged" && k + 1 < argc) {
      o.forged = std::atoi(argv[++k]);
    } else if (a == "--delay-ms" && k + 1 < argc) {
      o.delayMs = std::atoi(argv[++k]);
    } else if (a == "--include-real-id") {
      o.includeRealId = true;
    } else {
      std::fprintf(stderr, "usage: spoof_upstream [--forged N] [--delay-ms MS] [--include-real-id]\n");
      return 2;
    }
  }
  Upstream up(o);
  if (!up.bind()) {
    std::perror("spoof_upstream: bind");
    return 1;
  }
  std::printf("PORT %u\n", up.port());
  std::fflush(stdout);
  up.run();
}
