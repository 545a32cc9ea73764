#include "plugins/forward/udp_pool.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace moat::plugins::forward {

namespace {

socklen_t fill(sockaddr_storage& out, const boost::asio::ip::address& address, uint16_t port) {
  std::memset(&out, 0, sizeof out);
  if (address.is_v4()) {
    auto& a = reinterpret_cast<sockaddr_in&>(out);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(&a.sin_addr, bytes.data(), bytes.size());
    return sizeof(sockaddr_in);
  }
  auto& a = reinterpret_cast<sockaddr_in6&>(out);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  const auto v6 = address.to_v6();
  const auto bytes = v6.to_bytes();
  std::memcpy(&a.sin6_addr, bytes.data(), bytes.size());
  a.sin6_scope_id = static_cast<uint32_t>(v6.scope_id());
  return sizeof(sockaddr_in6);
}

}  // namespace

UdpTarget UdpTarget::of(const boost::asio::ip::address& address, uint16_t port,
                        const std::optional<boost::asio::ip::address>& source) {
  UdpTarget t;
  t.peerLen = fill(t.peer, address, port);
  t.source = source;
  return t;
}

bool UdpTarget::compatible(const UdpTarget& o) const {
  return peer.ss_family == o.peer.ss_family && source == o.source;
}

bool UdpTarget::isPeer(const sockaddr_storage& from, socklen_t len) const {
  if (from.ss_family != peer.ss_family) return false;
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(from);
    const auto& b = reinterpret_cast<const sockaddr_in&>(peer);
    return len >= sizeof a && a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
  const auto& b = reinterpret_cast<const sockaddr_in6&>(peer);
  return len >= sizeof a && a.sin6_port == b.sin6_port &&
         std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
}

UdpPool::UdpPool(std::vector<UdpTarget> targets)
    : targets_(std::move(targets)), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {}

UdpPool::~UdpPool() {
  closeAll();
  if (epoll_ >= 0) ::close(epoll_);
}

uint16_t UdpPool::acquire(uint32_t channel, dns::SecureRandom& random, Clock::time_point now) {
  bool mayOpen = epoll_ >= 0;
  for (int tries = 0; tries < 8; ++tries) {
    const auto e = static_cast<uint16_t>(random.below(kSize));
    if (take(e, channel, now, mayOpen)) return e;
  }
  // Eight busy picks in a row: nearly every socket carries queries to other upstreams, or the
  // process is out of descriptors. Any socket that can take this query will do.
  const uint32_t start = random.below(kSize);
  for (uint32_t k = 0; k < kSize; ++k) {
    const auto e = static_cast<uint16_t>((start + k) % kSize);
    if (take(e, channel, now, mayOpen)) return e;
  }
  return kNone;
}

bool UdpPool::take(uint16_t e, uint32_t channel, Clock::time_point now, bool& mayOpen) {
  Entry& x = entries_[e];
  if (x.fd >= 0 && !x.retiring && now - x.opened >= kMaxAge) retire(e);
  if (x.retiring) return false;
  if (x.fd < 0) {
    if (!mayOpen) return false;
    // One failed open per query is enough to learn the process is out of descriptors.
    if (openEntry(e, channel, now)) return true;
    mayOpen = false;
    return false;
  }
  if (x.waitingCount == kMaxWaiting) return false;
  if (x.channel == channel) return true;
  if (x.waitingCount != 0 || !targets_[x.channel].compatible(targets_[channel])) return false;
  // Idle and of the same kind: point it at this upstream (a late reply from the old one is
  // then dropped by the kernel, which is what it deserves).
  const UdpTarget& t = targets_[channel];
  if (::connect(x.fd, reinterpret_cast<const sockaddr*>(&t.peer), t.peerLen) != 0) {
    closeEntry(e);
    return false;
  }
  x.channel = channel;
  return true;
}

bool UdpPool::openEntry(uint16_t e, uint32_t channel, Clock::time_point now) {
  const UdpTarget& t = targets_[channel];
  const int fd = ::socket(t.peer.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = true;
  if (t.source) {
    sockaddr_storage local{};
    const socklen_t len = fill(local, *t.source, 0);
    ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&local), len) == 0;
  }
  // Connecting binds an unbound socket to a random port of the ephemeral range (the kernel draws
  // it from its CSPRNG), and from then on the kernel drops datagrams from any other source and
  // reports the upstream's ICMP errors on this socket.
  if (ok) ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&t.peer), t.peerLen) == 0;
  if (ok) {
    epoll_event ev{};
    // Edge-triggered: a socket is reported once per arrival, not polled again at every wait
    // while it has data (with 1024 sockets those polls were a measurable share of a query).
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u32 = e;
    ok = ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) == 0;
  }
  if (!ok) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return false;
  }
  Entry& x = entries_[e];
  x.fd = fd;
  x.channel = channel;
  x.opened = now;
  x.uses = 0;
  x.waitingCount = 0;
  x.retiring = false;
  ++openCount_;
  return true;
}

void UdpPool::closeEntry(uint16_t e) {
  Entry& x = entries_[e];
  if (x.fd < 0) return;
  ::close(x.fd);  // also leaves the epoll set
  x.fd = -1;
  x.retiring = false;
  x.waitingCount = 0;
  x.uses = 0;
  --openCount_;
}

void UdpPool::attach(uint16_t e, uint16_t slot) {
  Entry& x = entries_[e];
  x.waiting[x.waitingCount++] = slot;
  if (++x.uses >= kMaxUses) x.retiring = true;
}

void UdpPool::detach(uint16_t e, uint16_t slot) {
  Entry& x = entries_[e];
  for (uint8_t k = 0; k < x.waitingCount; ++k) {
    if (x.waiting[k] == slot) {
      x.waiting[k] = x.waiting[--x.waitingCount];
      break;
    }
  }
  if (x.retiring && x.waitingCount == 0) closeEntry(e);
}

void UdpPool::retire(uint16_t e) {
  Entry& x = entries_[e];
  if (x.fd < 0) return;
  x.retiring = true;
  if (x.waitingCount == 0) closeEntry(e);
}

size_t UdpPool::ready(std::span<uint16_t> out) {
  std::array<epoll_event, kReadyBatch> events;
  const int max = static_cast<int>(std::min(out.size(), events.size()));
  const int n = ::epoll_wait(epoll_, events.data(), max, 0);
  size_t count = 0;
  for (int k = 0; k < n; ++k) out[count++] = static_cast<uint16_t>(events[k].data.u32);
  return count;
}

void UdpPool::rearm(uint16_t e) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u32 = e;
  // Modifying an edge-triggered entry re-checks readiness: queued data is reported once more.
  if (entries_[e].fd >= 0) ::epoll_ctl(epoll_, EPOLL_CTL_MOD, entries_[e].fd, &ev);
}

void UdpPool::closeAll() {
  for (uint16_t e = 0; e < kSize; ++e) closeEntry(e);
}

}  // namespace moat::plugins::forward
