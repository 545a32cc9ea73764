// The outgoing socket pool: queries spread over many random ports, no socket outlives
// kMaxUses queries or kMaxAge, a retired socket takes nothing new, and a socket moves between
// upstreams only when idle. No datagram is sent: connecting a UDP socket sends nothing.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <map>
#include <set>

#include "plugins/forward/udp_pool.hpp"

namespace moat::plugins::forward {
namespace {

using Clock = UdpPool::Clock;
namespace ip = boost::asio::ip;

UdpTarget loopbackTarget(uint16_t port) {
  return UdpTarget::of(ip::make_address("127.0.0.1"), port, std::nullopt);
}

uint16_t localPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return ntohs(a.sin_port);
}

uint16_t peerPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  REQUIRE(::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return ntohs(a.sin_port);
}

ino_t inode(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return st.st_ino;
}

TEST_CASE("udp pool: queries leave from many sockets on random ports") {
  UdpPool pool({loopbackTarget(5301)});
  dns::SecureRandom random;
  const auto now = Clock::now();
  std::set<uint16_t> ports, entries;
  for (uint16_t slot = 0; slot < 200; ++slot) {
    const uint16_t e = pool.acquire(0, random, now);
    REQUIRE(e != UdpPool::kNone);
    ports.insert(localPort(pool.fd(e)));
    entries.insert(e);
    CHECK(peerPort(pool.fd(e)) == 5301);
    pool.attach(e, slot);
    pool.detach(e, slot);
  }
  // 200 picks among 1024 sockets land on about 182 different ones; every socket has its own port.
  CHECK(entries.size() >= 150);
  CHECK(ports.size() == entries.size());
  CHECK(pool.openCount() == entries.size());
}

TEST_CASE("udp pool: no socket carries more than kMaxUses queries") {
  UdpPool pool({loopbackTarget(5301)});
  dns::SecureRandom random;
  const auto now = Clock::now();
  std::map<uint16_t, int> uses;  // per entry, since it was last opened
  int replaced = 0;
  for (int k = 0; k < 200000; ++k) {
    const uint16_t e = pool.acquire(0, random, now);
    REQUIRE(e != UdpPool::kNone);
    pool.attach(e, 7);
    pool.detach(e, 7);
    if (++uses[e] == UdpPool::kMaxUses) {
      CHECK_FALSE(pool.open(e));  // used up: closed as its last query left
      uses[e] = 0;
      ++replaced;
    }
    CHECK(uses[e] < UdpPool::kMaxUses);
  }
  CHECK(replaced > 1000);
}

TEST_CASE("udp pool: no socket carries more than kMaxWaiting queries at once") {
  UdpPool pool({loopbackTarget(5301)});
  dns::SecureRandom random;
  const auto now = Clock::now();
  std::map<uint16_t, int> waiting;
  // Far more queries in flight than the pool has sockets: the busiest reach the bound.
  for (uint16_t slot = 0; slot < 12000; ++slot) {
    const uint16_t e = pool.acquire(0, random, now);
    REQUIRE(e != UdpPool::kNone);
    pool.attach(e, slot);
    ++waiting[e];
  }
  int full = 0;
  for (const auto& [e, n] : waiting) {
    CHECK(n <= UdpPool::kMaxWaiting);
    CHECK(pool.waiting(e).size() == static_cast<size_t>(n));
    full += n == UdpPool::kMaxWaiting;
  }
  CHECK(full > 0);
}

TEST_CASE("udp pool: a retired socket takes no new query and closes when its last one leaves") {
  UdpPool pool({loopbackTarget(5301)});
  dns::SecureRandom random;
  const auto now = Clock::now();
  const uint16_t e = pool.acquire(0, random, now);
  pool.attach(e, 1);
  pool.attach(e, 2);
  pool.retire(e);  // as after a timeout: a late reply must find nothing new to match
  CHECK(pool.open(e));
  for (int k = 0; k < 5000; ++k) CHECK(pool.acquire(0, random, now) != e);
  pool.detach(e, 1);
  CHECK(pool.open(e));
  CHECK(pool.waiting(e).size() == 1);
  pool.detach(e, 2);
  CHECK_FALSE(pool.open(e));
}

TEST_CASE("udp pool: a socket older than kMaxAge is replaced when picked") {
  UdpPool pool({loopbackTarget(5301)});
  dns::SecureRandom random;
  const auto start = Clock::now();
  const uint16_t e = pool.acquire(0, random, start);
  const ino_t first = inode(pool.fd(e));
  const auto later = start + UdpPool::kMaxAge;
  bool picked = false;
  for (int k = 0; k < 100000 && !picked; ++k) {
    const uint16_t got = pool.acquire(0, random, later);
    picked = got == e;
    if (!picked) pool.retire(got);  // keep other sockets from piling up
  }
  REQUIRE(picked);
  CHECK(inode(pool.fd(e)) != first);
}

TEST_CASE("udp pool: an idle socket moves to another upstream, a busy one does not") {
  UdpPool pool({loopbackTarget(5301), loopbackTarget(5302)});
  dns::SecureRandom random;
  const auto now = Clock::now();
  const uint16_t busy = pool.acquire(0, random, now);
  pool.attach(busy, 1);
  std::set<uint16_t> toSecond;
  for (uint16_t slot = 2; slot < 3000; ++slot) {
    const uint16_t e = pool.acquire(1, random, now);
    REQUIRE(e != UdpPool::kNone);
    CHECK(e != busy);
    CHECK(pool.channel(e) == 1);
    CHECK(peerPort(pool.fd(e)) == 5302);
    toSecond.insert(e);
  }
  CHECK(pool.channel(busy) == 0);
  CHECK(peerPort(pool.fd(busy)) == 5301);
  // Idle sockets of the first upstream were taken over: nothing stays pinned to one upstream.
  pool.detach(busy, 1);
  bool moved = false;
  for (int k = 0; k < 100000 && !moved; ++k) moved = pool.acquire(1, random, now) == busy;
  CHECK(moved);
  CHECK(peerPort(pool.fd(busy)) == 5302);
}

TEST_CASE("udp pool: sources are checked by address and port") {
  const auto target = loopbackTarget(5301);
  sockaddr_storage from{};
  auto& a = reinterpret_cast<sockaddr_in&>(from);
  a.sin_family = AF_INET;
  a.sin_port = htons(5301);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(target.isPeer(from, sizeof a));
  a.sin_port = htons(5302);
  CHECK_FALSE(target.isPeer(from, sizeof a));
  a.sin_port = htons(5301);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
  CHECK_FALSE(target.isPeer(from, sizeof a));
  const auto v6 = UdpTarget::of(ip::make_address("::1"), 5301, std::nullopt);
  CHECK_FALSE(v6.isPeer(from, sizeof a));
}

}  // namespace
}  // namespace moat::plugins::forward
