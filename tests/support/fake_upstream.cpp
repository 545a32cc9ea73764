// Hand-written packets on purpose: the fake must not share code (or bugs) with the server's own
// wire handling, and it only needs headers, one question and A records.
#include "tests/support/fake_upstream.hpp"

#include <arpa/inet.h>
#include <fcntl.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace moat::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kKeep = 10000;

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void wr16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void wr32(std::vector<uint8_t>& out, uint32_t v) {
  wr16(out, static_cast<uint16_t>(v >> 16));
  wr16(out, static_cast<uint16_t>(v));
}

struct ParsedQuery {
  uint16_t id = 0, flags = 0, type = 0, klass = 0;
  std::vector<uint8_t> qname;  // wire, as sent
  std::string text;
  bool hasNxLabel = false;
  bool hasOpt = false;
};

std::optional<ParsedQuery> parse(const uint8_t* p, size_t n) {
  if (n < 12 || rd16(p + 4) != 1) return std::nullopt;
  ParsedQuery q;
  q.id = rd16(p);
  q.flags = rd16(p + 2);
  size_t off = 12;
  while (true) {
    if (off >= n) return std::nullopt;
    const uint8_t len = p[off];
    if (len > 63 || off + 1 + len > n) return std::nullopt;  // no compression in questions
    q.qname.push_back(len);
    if (len == 0) break;
    std::string label(reinterpret_cast<const char*>(p + off + 1), len);
    q.qname.insert(q.qname.end(), p + off + 1, p + off + 1 + len);
    q.text += label + ".";
    std::string lower = label;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    q.hasNxLabel = q.hasNxLabel || lower == "nx";
    off += 1 + len;
  }
  if (q.text.empty()) q.text = ".";
  off += 1;
  if (off + 4 > n) return std::nullopt;
  q.type = rd16(p + off);
  q.klass = rd16(p + off + 2);
  off += 4;
  // An OPT record in the additional section (root owner, type 41).
  if (rd16(p + 10) > 0 && off + 3 <= n && p[off] == 0 && rd16(p + off + 1) == 41) q.hasOpt = true;
  return q;
}

std::vector<uint8_t> build(const ParsedQuery& q, const std::vector<uint8_t>& qname, uint16_t id,
                           uint8_t rcode, bool tc, const std::vector<uint32_t>& addresses) {
  std::vector<uint8_t> out;
  out.reserve(64 + addresses.size() * 16);
  wr16(out, id);
  uint16_t flags = 0x8000 | (q.flags & 0x7800) | (q.flags & 0x0100) | 0x0080 | rcode;
  if (tc) flags |= 0x0200;
  wr16(out, flags);
  wr16(out, 1);
  wr16(out, static_cast<uint16_t>(addresses.size()));
  wr16(out, 0);
  wr16(out, q.hasOpt ? 1 : 0);
  out.insert(out.end(), qname.begin(), qname.end());
  wr16(out, q.type);
  wr16(out, q.klass);
  for (uint32_t a : addresses) {
    wr16(out, 0xC00C);  // the question's name
    wr16(out, 1);       // A
    wr16(out, 1);       // IN
    wr32(out, 300);
    wr16(out, 4);
    wr32(out, a);
  }
  if (q.hasOpt) {
    out.push_back(0);
    wr16(out, 41);
    wr16(out, 4096);
    wr32(out, 0);
    wr16(out, 0);
  }
  return out;
}

// Sockets of the test process must not leak into the `moat` it forks and execs: a child holding
// the fake's port would keep it "alive" after the fake is gone (and keep the port busy).
template <class Socket>
void closeOnExec(Socket& s) {
  if (s.is_open()) ::fcntl(s.native_handle(), F_SETFD, FD_CLOEXEC);
}

uint32_t parseV4(std::string_view text) {
  in_addr a{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &a) != 1) {
    throw std::invalid_argument("FakeUpstream: not an IPv4 address");
  }
  return ntohl(a.s_addr);
}

}  // namespace

struct FakeUpstream::Impl {
  explicit Impl(FakeUpstream& owner) : self(owner), udpSocket(io), acceptor(io) {}

  FakeUpstream& self;
  asio::io_context io;
  udp::socket udpSocket;
  tcp::acceptor acceptor;
  std::array<uint8_t, 65536> buf{};
  udp::endpoint peer;
  uint64_t udpIndex = 0;  // of the UDP query respond() saw last (this thread only)

  // The replies to send for one query, in order (spoof modes send two).
  std::vector<std::vector<uint8_t>> respond(const uint8_t* p, size_t n, bool overTcp,
                                            uint16_t sourcePort = 0) {
    auto q = parse(p, n);
    if (!q) return {};
    const uint64_t before = (overTcp ? self.tcpQueries_ : self.udpQueries_).fetch_add(1);
    if (!overTcp) udpIndex = before;
    const uint32_t nth = static_cast<uint32_t>(++self.numbered_);
    {
      std::lock_guard lock(self.mutex_);
      if (self.received_.size() >= kKeep) self.received_.erase(self.received_.begin());
      self.received_.push_back({q->text, q->type, q->id, overTcp, (q->flags & 0x0100) != 0, sourcePort,
                                 std::vector<uint8_t>(p, p + n)});
    }
    const Mode mode = self.mode_.load();
    const std::vector<uint32_t> one{self.answerAddress_.load()};
    const std::vector<uint32_t> none;
    auto normal = [&] {
      if (q->hasNxLabel) return build(*q, q->qname, q->id, 3, false, none);
      return build(*q, q->qname, q->id, 0, false, q->type == 1 ? one : none);
    };
    const std::vector<uint32_t> spoof{parseV4(kSpoofAddress)};
    switch (mode) {
      case Mode::Answer:
        return {normal()};
      case Mode::Silent:
        return {};
      case Mode::Truncate:
        if (overTcp) return {normal()};
        return {build(*q, q->qname, q->id, 0, true, none)};
      case Mode::ServFail:
        return {build(*q, q->qname, q->id, 2, false, none)};
      case Mode::Refused:
        return {build(*q, q->qname, q->id, 5, false, none)};
      case Mode::Large: {
        std::vector<uint32_t> many;
        for (unsigned k = 0; k < self.largeCount_.load(); ++k) many.push_back(0xC0000201 + k);
        return {build(*q, q->qname, q->id, 0, false, q->type == 1 ? many : none)};
      }
      case Mode::SpoofId:
        if (overTcp) return {normal()};
        return {build(*q, q->qname, static_cast<uint16_t>(q->id ^ 0x5A5A), 0, false, spoof),
                normal()};
      case Mode::SpoofQuestion: {
        if (overTcp) return {normal()};
        const std::vector<uint8_t> other{7,   's', 'p', 'o', 'o', 'f', 'e', 'd', 7,
                                         'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
        return {build(*q, other, q->id, 0, false, spoof), normal()};
      }
      case Mode::Numbered:
        return {build(*q, q->qname, q->id, 0, false,
                      q->type == 1 ? std::vector<uint32_t>{0xC0000200 + nth} : none)};
      case Mode::CaseFold: {
        if (overTcp) return {normal()};
        auto lower = q->qname;
        for (auto& b : lower) b = static_cast<uint8_t>(std::tolower(b));
        return {build(*q, lower, q->id, 0, false, q->type == 1 ? one : none)};
      }
      case Mode::Garbage: {
        std::vector<uint8_t> junk;
        wr16(junk, q->id);
        wr16(junk, 0x8180);
        wr16(junk, 1);  // one question, one answer claimed
        wr16(junk, 1);
        wr16(junk, 0);
        wr16(junk, 0);
        junk.push_back(63);  // a 63-byte label with 5 bytes behind it
        junk.insert(junk.end(), 5, 0xFF);
        return {junk};
      }
    }
    return {};
  }

  void receiveUdp() {
    udpSocket.async_receive_from(asio::buffer(buf), peer,
                                 [this](boost::system::error_code ec, size_t n) {
                                   if (ec == asio::error::operation_aborted) return;
                                   if (!ec) sendUdp(respond(buf.data(), n, false, peer.port()), peer);
                                   receiveUdp();
                                 });
  }

  void sendUdp(std::vector<std::vector<uint8_t>> replies, udp::endpoint to) {
    const auto delay = self.delayFor(udpIndex);
    if (delay.count() == 0) {
      boost::system::error_code ignored;
      for (const auto& r : replies) udpSocket.send_to(asio::buffer(r), to, 0, ignored);
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    timer->async_wait([this, timer, replies = std::move(replies), to](boost::system::error_code) {
      boost::system::error_code ignored;
      for (const auto& r : replies) udpSocket.send_to(asio::buffer(r), to, 0, ignored);
    });
  }

  void acceptTcp() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        closeOnExec(socket);
        asio::co_spawn(io, serveTcp(std::move(socket)), asio::detached);
      }
      acceptTcp();
    });
  }

  asio::awaitable<void> serveTcp(tcp::socket socket) {
    std::array<uint8_t, 2> len{};
    std::vector<uint8_t> body;
    asio::steady_timer timer(io);
    for (;;) {
      auto [lec, ln] = co_await asio::async_read(socket, asio::buffer(len), kTuple);
      if (lec) co_return;
      body.resize(rd16(len.data()));
      auto [bec, bn] = co_await asio::async_read(socket, asio::buffer(body), kTuple);
      if (bec) co_return;
      auto replies = respond(body.data(), body.size(), true);
      if (auto delay = self.delayMs_.load(); delay > 0 && !replies.empty()) {
        timer.expires_after(std::chrono::milliseconds(delay));
        co_await timer.async_wait(kTuple);
      }
      for (const auto& r : replies) {
        std::vector<uint8_t> framed;
        wr16(framed, static_cast<uint16_t>(r.size()));
        framed.insert(framed.end(), r.begin(), r.end());
        auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(framed), kTuple);
        if (wec) co_return;
      }
    }
  }
};

FakeUpstream::FakeUpstream(uint16_t port) : impl_(std::make_unique<Impl>(*this)) {
  const auto loopback = asio::ip::make_address_v4("127.0.0.1");
  // Find a port free for both transports: take the UDP one, then ask TCP for the same.
  for (int tries = 0; tries < 50; ++tries) {
    boost::system::error_code ec;
    impl_->udpSocket.open(udp::v4(), ec);
    closeOnExec(impl_->udpSocket);
    if (!ec) impl_->udpSocket.bind(udp::endpoint(loopback, port), ec);
    if (ec) {
      impl_->udpSocket.close(ec);
      if (port != 0) throw std::runtime_error("FakeUpstream: UDP port busy");
      continue;
    }
    const uint16_t chosen = impl_->udpSocket.local_endpoint().port();
    impl_->acceptor.open(tcp::v4(), ec);
    closeOnExec(impl_->acceptor);
    if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(tcp::endpoint(loopback, chosen), ec);
    if (!ec) impl_->acceptor.listen(64, ec);
    if (!ec) {
      port_ = chosen;
      break;
    }
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->udpSocket.close(ignored);
    if (port != 0) throw std::runtime_error("FakeUpstream: TCP port busy");
  }
  if (port_ == 0) throw std::runtime_error("FakeUpstream: no free port");
  impl_->receiveUdp();
  impl_->acceptTcp();
  thread_ = std::thread([this] { impl_->io.run(); });
}

FakeUpstream::~FakeUpstream() {
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeUpstream::setAnswerAddress(std::string_view ipv4) { answerAddress_.store(parseV4(ipv4)); }

std::string FakeUpstream::answerAddress() const {
  in_addr a{};
  a.s_addr = htonl(answerAddress_.load());
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}

std::vector<FakeUpstream::Received> FakeUpstream::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<std::string> FakeUpstream::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(received_.size());
  for (const auto& r : received_) out.push_back(r.name);
  return out;
}

void FakeUpstream::clear() {
  std::lock_guard lock(mutex_);
  received_.clear();
  udpQueries_.store(0);
  tcpQueries_.store(0);
}

}  // namespace moat::testing

namespace moat::testing {

void FakeUpstream::setDelays(std::vector<std::chrono::milliseconds> delays) {
  std::lock_guard lock(mutex_);
  delays_ = std::move(delays);
}

std::chrono::milliseconds FakeUpstream::delayFor(uint64_t udpIndex) const {
  std::lock_guard lock(mutex_);
  if (delays_.empty()) return std::chrono::milliseconds(delayMs_.load());
  return delays_[std::min<size_t>(udpIndex, delays_.size() - 1)];
}

}  // namespace moat::testing
