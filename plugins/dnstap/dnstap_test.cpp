#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "plugins/dnstap/dnstap.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/plugin_test_util.hpp"
#include "tests/support/server_process.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::dnstap {
namespace {

using moat::testing::stanzasOf;

// ---- a protobuf reader for the test: every field of a message by number, enough to check
// what the encoder wrote without trusting it.
struct Field {
  uint64_t number = 0;
  uint64_t varint = 0;       // varint and fixed32 values
  std::string bytes;         // length-delimited
};

std::optional<std::multimap<uint64_t, Field>> decodeFields(std::string_view in) {
  std::multimap<uint64_t, Field> out;
  size_t at = 0;
  auto varint = [&](uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= in.size()) return false;
      const auto b = static_cast<uint8_t>(in[at++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (at < in.size()) {
    uint64_t key = 0;
    if (!varint(key)) return std::nullopt;
    Field f;
    f.number = key >> 3;
    switch (key & 7) {
      case 0:
        if (!varint(f.varint)) return std::nullopt;
        break;
      case 2: {
        uint64_t len = 0;
        if (!varint(len) || at + len > in.size()) return std::nullopt;
        f.bytes = std::string(in.substr(at, len));
        at += len;
        break;
      }
      case 5:
        if (at + 4 > in.size()) return std::nullopt;
        for (int i = 0; i < 4; ++i) f.varint |= uint64_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
        at += 4;
        break;
      default:
        return std::nullopt;
    }
    out.emplace(f.number, f);
  }
  return out;
}

std::string one(const std::multimap<uint64_t, Field>& m, uint64_t n) {
  REQUIRE(m.count(n) == 1);
  return m.find(n)->second.bytes;
}
uint64_t num(const std::multimap<uint64_t, Field>& m, uint64_t n) {
  REQUIRE(m.count(n) == 1);
  return m.find(n)->second.varint;
}

// ---- a Frame Streams reader that does the bidirectional handshake by hand (READY -> ACCEPT,
// START, data frames, STOP -> FINISH) and keeps the data frames.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path_.c_str(), sizeof sun.sun_path - 1);
    ::unlink(path_.c_str());
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(listener_, 4) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~Reader() {
    ::shutdown(listener_, SHUT_RDWR);
    if (conn_ >= 0) ::shutdown(conn_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
    if (conn_ >= 0) ::close(conn_);
    ::unlink(path_.c_str());
  }
  size_t frames() const { return count_.load(); }
  std::vector<std::string> taken() {
    std::vector<std::string> out;
    std::lock_guard lock(mu_);
    out = frames_;
    return out;
  }
  std::string contentType() {
    std::lock_guard lock(mu_);
    return contentType_;
  }

 private:
  bool readAll(void* p, size_t n) {
    auto* b = static_cast<uint8_t*>(p);
    while (n > 0) {
      const ssize_t got = ::recv(conn_, b, n, 0);
      if (got <= 0) return false;
      b += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  bool read32(uint32_t& v) {
    if (!readAll(&v, 4)) return false;
    v = ntohl(v);
    return true;
  }
  bool control(uint32_t type, std::string_view contentType) {
    std::string payload(4, '\0');
    const uint32_t t = htonl(type);
    std::memcpy(payload.data(), &t, 4);
    if (!contentType.empty()) {
      const uint32_t field = htonl(1);
      const uint32_t len = htonl(static_cast<uint32_t>(contentType.size()));
      payload.append(reinterpret_cast<const char*>(&field), 4);
      payload.append(reinterpret_cast<const char*>(&len), 4);
      payload.append(contentType);
    }
    std::string frame(4, '\0');  // escape: a zero length
    const uint32_t len = htonl(static_cast<uint32_t>(payload.size()));
    frame.append(reinterpret_cast<const char*>(&len), 4);
    frame += payload;
    return ::send(conn_, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size());
  }
  void run() {
    conn_ = ::accept(listener_, nullptr, nullptr);
    if (conn_ < 0) return;
    for (;;) {
      uint32_t len = 0;
      if (!read32(len)) return;
      if (len != 0) {
        std::string data(len, '\0');
        if (!readAll(data.data(), len)) return;
        std::lock_guard lock(mu_);
        frames_.push_back(std::move(data));
        count_.fetch_add(1);
        continue;
      }
      uint32_t clen = 0;
      if (!read32(clen) || clen < 4) return;
      std::string payload(clen, '\0');
      if (!readAll(payload.data(), clen)) return;
      uint32_t type = 0;
      std::memcpy(&type, payload.data(), 4);
      type = ntohl(type);
      if (type == 4) {  // READY: its content type field is what we accept back
        if (clen >= 12) {
          std::lock_guard lock(mu_);
          contentType_ = payload.substr(12);
        }
        if (!control(1, contentType())) return;
      } else if (type == 3) {  // STOP
        control(5, "");
        return;
      }  // START: nothing to answer
    }
  }

  std::string path_;
  int listener_ = -1;
  std::atomic<int> conn_{-1};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> frames_;
  std::string contentType_;
  std::atomic<size_t> count_{0};
};

std::string socketPath(const testing::TempDir& dir) { return dir.path() + "/tap.sock"; }

TapConfig unixTap(const std::string& path, bool full) {
  TapConfig t;
  t.path = path;
  t.endpoint = path;
  t.full = full;
  t.identity = "test-host";
  t.version = "Moat-test";
  return t;
}

std::unique_ptr<dns::Query> query(const std::string& name) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = name, .type = dns::rrtype::A}), dns::Proto::Udp,
                     "192.0.2.7", 40000);
  return q;
}

// ---- the encoder

TEST_CASE("encoder: a CLIENT_QUERY payload, byte for byte") {
  const std::array<uint8_t, 4> addr = {127, 0, 0, 1};
  Message m;
  m.type = MessageType::ClientQuery;
  m.family = AF_INET;
  m.protocol = SocketProtocol::Udp;
  m.queryAddress = addr;
  m.queryPort = 40000;
  m.hasQueryPort = true;
  m.queryTime = {1, 2};
  m.hasQueryTime = true;
  std::array<uint8_t, 64> buf{};
  const size_t n = encode({"a", "b", ""}, m, buf);
  const std::vector<uint8_t> expected = {
      0x0a, 0x01, 'a',                          // identity
      0x12, 0x01, 'b',                          // version
      0x72, 0x17,                               // message, 23 bytes
      0x08, 0x05,                               //   type CLIENT_QUERY
      0x10, 0x01,                               //   socket_family INET
      0x18, 0x01,                               //   socket_protocol UDP
      0x22, 0x04, 0x7f, 0x00, 0x00, 0x01,       //   query_address
      0x30, 0xc0, 0xb8, 0x02,                   //   query_port 40000
      0x40, 0x01,                               //   query_time_sec 1
      0x4d, 0x02, 0x00, 0x00, 0x00,             //   query_time_nsec 2 (fixed32)
      0x78, 0x01,                               // type MESSAGE
  };
  CHECK(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n)) == expected);
  CHECK(encodedSize({"a", "b", ""}, m) == expected.size());
}

TEST_CASE("encoder: a full CLIENT_RESPONSE over TCP/IPv6 decodes back, too small a buffer writes nothing") {
  std::array<uint8_t, 16> addr{};
  addr[15] = 1;
  const std::vector<uint8_t> wire(300, 0xab);  // long enough for a two-byte length
  Message m;
  m.type = MessageType::ClientResponse;
  m.family = AF_INET6;
  m.protocol = SocketProtocol::Tcp;
  m.queryAddress = addr;
  m.queryPort = 53;
  m.hasQueryPort = true;
  m.queryTime = {1700000000, 999999999};
  m.hasQueryTime = true;
  m.responseTime = {1700000001, 5};
  m.hasResponseTime = true;
  m.responseMessage = wire;
  const Envelope env{"host", "Moat-0.1.0", "extra bytes"};
  std::vector<uint8_t> buf(encodedSize(env, m));
  REQUIRE(encode(env, m, buf) == buf.size());

  auto top = decodeFields({reinterpret_cast<const char*>(buf.data()), buf.size()});
  REQUIRE(top);
  CHECK(one(*top, 1) == "host");
  CHECK(one(*top, 2) == "Moat-0.1.0");
  CHECK(one(*top, 3) == "extra bytes");
  CHECK(num(*top, 15) == 1);
  auto msg = decodeFields(one(*top, 14));
  REQUIRE(msg);
  CHECK(num(*msg, 1) == 6);
  CHECK(num(*msg, 2) == 2);
  CHECK(num(*msg, 3) == 2);
  CHECK(one(*msg, 4) == std::string(reinterpret_cast<const char*>(addr.data()), 16));
  CHECK(num(*msg, 6) == 53);
  CHECK(num(*msg, 8) == 1700000000);
  CHECK(num(*msg, 9) == 999999999);
  CHECK(num(*msg, 12) == 1700000001);
  CHECK(num(*msg, 13) == 5);
  CHECK(one(*msg, 14) == std::string(wire.begin(), wire.end()));
  CHECK(msg->count(10) == 0);  // no query message in a response

  std::vector<uint8_t> small(buf.size() - 1);
  CHECK(encode(env, m, small) == 0);
}

// ---- the Corefile

TEST_CASE("parse: CoreDNS's README forms Moat runs") {
  auto p = stanzasOf(". {\n  dnstap /tmp/dnstap.sock\n  dnstap /tmp/a.sock full 1024 2048\n"
                     "  dnstap unix:///tmp/b.sock full\n  dnstap tcp://127.0.0.1:6000 full\n"
                     "  dnstap tcp://example.com:6000\n"
                     "  dnstap tcp://[::1]:6001 {\n    identity my-dns-server1\n    version MyDNSServer-1.2.3\n"
                     "    extra \"upstream: x\"\n    skipverify\n  }\n}\n",
                     "dnstap");
  auto taps = parseConfig(p.stanzas, "the-host");
  REQUIRE_MESSAGE(taps, (taps ? "" : taps.error().str()));
  REQUIRE(taps->size() == 6);
  const auto& t = *taps;
  CHECK(t[0].transport == TapConfig::Transport::Unix);
  CHECK(t[0].path == "/tmp/dnstap.sock");
  CHECK_FALSE(t[0].full);
  CHECK(t[0].identity == "the-host");
  CHECK(t[0].version.rfind("Moat-", 0) == 0);
  CHECK(t[1].full);
  CHECK(t[1].writeBufferMiB == 1024);
  CHECK(t[1].queueMultiple == 2048);
  CHECK(t[2].path == "/tmp/b.sock");
  CHECK(t[3].transport == TapConfig::Transport::Tcp);
  CHECK(t[3].host == "127.0.0.1");
  CHECK(t[3].port == "6000");
  CHECK(t[4].host == "example.com");
  CHECK(t[5].host == "::1");
  CHECK(t[5].port == "6001");
  CHECK(t[5].identity == "my-dns-server1");
  CHECK(t[5].version == "MyDNSServer-1.2.3");
  CHECK(t[5].extra == "upstream: x");
  CHECK(t[5].skipVerify);
}

TEST_CASE("parse: errors at their place") {
  struct Case {
    const char* corefile;
    int line;
    int col;
    const char* says;
  };
  const Case cases[] = {
      {". {\n  dnstap\n}\n", 2, 3, "dnstap"},
      {". {\n  dnstap tls://127.0.0.1:6000 full {\n    skipverify\n  }\n}\n", 2, 10, "tls:// endpoints are not supported"},
      {". {\n  dnstap listen /tmp/x.sock\n}\n", 2, 10, "not implemented by Moat"},
      {". {\n  dnstap /tmp/x.sock ful\n}\n", 2, 22, "'full'"},
      {". {\n  dnstap /tmp/x.sock full 0\n}\n", 2, 27, "write buffer"},
      {". {\n  dnstap /tmp/x.sock full 1 4097\n}\n", 2, 29, "queue"},
      {". {\n  dnstap tcp://127.0.0.1\n}\n", 2, 10, "tcp://HOST:PORT"},
      {". {\n  dnstap tcp://127.0.0.1:70000\n}\n", 2, 10, "tcp://HOST:PORT"},
      {". {\n  dnstap /tmp/x.sock {\n    identiy x\n  }\n}\n", 3, 5, "did you mean 'identity'"},
      {". {\n  dnstap /tmp/x.sock {\n    version\n  }\n}\n", 3, 5, "version"},
      {". {\n  dnstap /tmp/x.sock {\n    tls a b\n  }\n}\n", 3, 5, "dnstap listen"},
      {". {\n  dnstap /tmp/x.sock full 1 1 more\n}\n", 2, 31, "dnstap"},
  };
  for (const Case& c : cases) {
    const std::string corefile = c.corefile;
    CAPTURE(corefile);
    auto p = stanzasOf(c.corefile, "dnstap");
    auto taps = parseConfig(p.stanzas, "h");
    REQUIRE_FALSE(taps);
    CHECK(taps.error().pos.line == c.line);
    CHECK(taps.error().pos.col == c.col);
    CHECK_MESSAGE(taps.error().str().find(c.says) != std::string::npos, taps.error().str());
  }
}

// ---- the arena

TEST_CASE("arena: frames released in any order are reused, a full ring refuses") {
  Arena arena(1024);
  std::vector<std::span<uint8_t>> frames;
  std::vector<void*> headers;
  for (;;) {
    auto f = arena.allocate(100);  // 112 bytes with its header
    if (f.empty()) break;
    frames.push_back(f);
    headers.push_back(arena.lastHeader());
  }
  REQUIRE(frames.size() == 9);
  // The second is done first: the oldest still holds the tail, so there is no room yet.
  Arena::release(frames[1].data(), headers[1]);
  CHECK(arena.allocate(100).empty());
  Arena::release(frames[0].data(), headers[0]);
  auto again = arena.allocate(200);  // needs both
  CHECK_FALSE(again.empty());
  for (size_t i = 2; i < frames.size(); ++i) Arena::release(frames[i].data(), headers[i]);
  Arena::release(again.data(), arena.lastHeader());
  CHECK_FALSE(arena.allocate(1000).empty());
}

// ---- the handler and its sink

TEST_CASE("no reader: queries pass on at once, every frame is dropped and counted, nothing allocated") {
  testing::TempDir dir;
  DnstapHandler h({unixTap(socketPath(dir), true)}, 1);
  auto q = query("example.org.");
  q->reply.reserve(512);
  q->reply.assign(q->requestBytes().begin(), q->requestBytes().end());
  testing::allocations = 0;
  testing::counting = true;
  for (int i = 0; i < 100; ++i) {
    CHECK(h.onQuery(*q) == Verdict::Next);
    h.onReply(*q);
  }
  testing::counting = false;
  CHECK(testing::allocations == 0);
  CHECK(h.dropped() == 200);
  CHECK(h.submitted() == 0);
}

TEST_CASE("a reader: query and response frames arrive with the client's address, no allocation per query") {
  testing::TempDir dir;
  Reader reader(socketPath(dir));
  DnstapHandler h({unixTap(socketPath(dir), true)}, 1);
  // The I/O thread connects on its own; until then frames would be dropped.
  REQUIRE(testing::eventually([&] { return reader.contentType() == "protobuf:dnstap.Dnstap"; }));
  auto q = query("example.org.");
  q->reply.reserve(512);
  q->reply.assign(q->requestBytes().begin(), q->requestBytes().end());
  q->reply[2] |= 0x80;  // QR: a stand-in response
  // Warm: the first frames may meet a sink still finishing its handshake.
  REQUIRE(testing::eventually([&] {
    h.onQuery(*q);
    return h.submitted() > 0;
  }));
  const uint64_t before = h.submitted();
  testing::allocations = 0;
  testing::counting = true;
  for (int i = 0; i < 50; ++i) {
    h.onQuery(*q);
    h.onReply(*q);
  }
  testing::counting = false;
  CHECK(testing::allocations == 0);
  CHECK(h.submitted() - before + h.dropped() == 100);
  const uint64_t sent = h.submitted();
  REQUIRE(testing::eventually([&] { return reader.frames() == sent; }));

  const std::vector<std::string> frames = reader.taken();
  auto top = decodeFields(frames.back());
  REQUIRE(top);
  CHECK(one(*top, 1) == "test-host");
  CHECK(one(*top, 2) == "Moat-test");
  auto msg = decodeFields(one(*top, 14));
  REQUIRE(msg);
  CHECK(num(*msg, 1) == 6);  // CLIENT_RESPONSE
  CHECK(num(*msg, 2) == 1);  // INET
  CHECK(num(*msg, 3) == 1);  // UDP
  CHECK(one(*msg, 4) == std::string("\xc0\x00\x02\x07", 4));
  CHECK(num(*msg, 6) == 40000);
  CHECK(one(*msg, 14) == std::string(q->reply.begin(), q->reply.end()));
  CHECK(num(*msg, 12) >= num(*msg, 8));  // answered after it was asked
  auto first = decodeFields(one(*decodeFields(frames.front()), 14));
  REQUIRE(first);
  CHECK(num(*first, 1) == 5);  // CLIENT_QUERY
  CHECK(one(*first, 10) == std::string(q->requestBytes().begin(), q->requestBytes().end()));

  // A client over TCP and IPv6: INET6, TCP, its 16-byte address.
  auto tcp = std::make_unique<dns::Query>();
  testing::loadQuery(*tcp, testing::makeQuery({.name = "v6.example.org.", .type = dns::rrtype::AAAA}),
                     dns::Proto::Tcp, "2001:db8::53", 5353);
  h.onQuery(*tcp);
  const uint64_t withTcp = h.submitted();
  REQUIRE(testing::eventually([&] { return reader.frames() == withTcp; }));
  auto v6 = decodeFields(one(*decodeFields(reader.taken().back()), 14));
  REQUIRE(v6);
  CHECK(num(*v6, 1) == 5);
  CHECK(num(*v6, 2) == 2);  // INET6
  CHECK(num(*v6, 3) == 2);  // TCP
  CHECK(one(*v6, 4) == std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x53", 16));
  CHECK(num(*v6, 6) == 5353);
}

TEST_CASE("without event loops (lint, explain) nothing connects, explain says where frames go") {
  DnstapHandler h({unixTap("/nonexistent/tap.sock", true), unixTap("/nonexistent/b.sock", false)}, 0);
  auto q = query("example.org.");
  CHECK(h.onQuery(*q) == Verdict::Next);
  CHECK(h.dropped() == 0);
  CHECK(h.submitted() == 0);

  struct Notes : dns::Trace {
    std::vector<std::string> lines;
    void note(std::string_view handler, std::string text) override {
      lines.push_back(std::string(handler) + ": " + text);
    }
    void outcome(std::string_view, std::string_view) override {}
  } notes;
  q->trace = &notes;
  CHECK(h.onQuery(*q) == Verdict::Next);
  h.onReply(*q);
  REQUIRE(notes.lines.size() == 2);
  CHECK(notes.lines[0].starts_with("dnstap: CLIENT_QUERY and CLIENT_RESPONSE to /nonexistent/tap.sock"));
  CHECK(notes.lines[0].find("(full)") != std::string::npos);
  CHECK(notes.lines[1].find("(full)") == std::string::npos);
}

TEST_CASE("the metrics: dropped and sent per endpoint, present at 0") {
  testing::TempDir dir;
  DnstapHandler h({unixTap(socketPath(dir), false)}, 2);
  std::vector<MetricSample> samples;
  h.collect(samples);
  REQUIRE(samples.size() == 2);
  CHECK(samples[0].family == "moat_dnstap_dropped_total");
  CHECK(samples[1].family == "moat_dnstap_sent_total");
  CHECK(samples[0].labels == std::vector<std::pair<std::string, std::string>>{{"endpoint", socketPath(dir)}});
  CHECK(samples[0].value == 0);
}

}  // namespace
}  // namespace moat::plugins::dnstap
