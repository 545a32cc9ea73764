#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <memory>
#include <string>
#include <vector>

#include "conf/parser.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "plugins/loop/loop.hpp"
#include "tests/support/dns_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::loop {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using namespace std::chrono_literals;

struct Recorder {
  std::shared_ptr<std::vector<std::string>> messages = std::make_shared<std::vector<std::string>>();
  LoopDetected callback() {
    auto m = messages;
    return [m](const std::string& msg) { m->push_back(msg); };
  }
};

dns::WireName wire(std::string_view text) { return *dns::nameFromText(text); }

Verdict ask(LoopHandler& h, const std::string& name, uint16_t type, std::string_view ip = "127.0.0.1",
            uint16_t port = 40000) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = name, .type = type}), dns::Proto::Udp, ip, port);
  return h.onQuery(*q);
}

struct Parsed {
  conf::Corefile file;
  std::vector<const conf::Directive*> stanzas;
};

Parsed parse(const std::string& corefile) {
  auto cf = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(cf.ok(), (cf.ok() ? std::string() : cf.error().str()));
  Parsed p{std::move(*cf), {}};
  for (const conf::Directive& d : p.file.blocks.at(0).directives) {
    if (d.name.text == "loop") p.stanzas.push_back(&d);
  }
  return p;
}

SetupContext contextFor(const Parsed& p, std::vector<std::string> zones) {
  SetupContext ctx;
  ctx.block = &p.file.blocks.at(0);
  ctx.stanzas = p.stanzas;
  ctx.zones = std::move(zones);
  return ctx;
}

TEST_CASE("setup: no arguments, no block, errors carry positions") {
  auto ok = parse(". {\n  loop\n}\n");
  auto h = setupLoop(contextFor(ok, {"."}));
  REQUIRE(h.ok());
  CHECK((*h)->name() == "loop");
  CHECK_FALSE((*h)->observesReplies());

  auto arg = parse(". {\n  loop 5s\n}\n");
  auto e1 = setupLoop(contextFor(arg, {"."}));
  REQUIRE_FALSE(e1.ok());
  CHECK(e1.error().str() == "Corefile:2:8: loop: 'loop' takes no arguments, got 1");

  auto blk = parse(". {\n  loop {\n  }\n}\n");
  auto e2 = setupLoop(contextFor(blk, {"."}));
  REQUIRE_FALSE(e2.ok());
  CHECK(e2.error().str() == "Corefile:2:3: loop: 'loop' takes no block");
}

TEST_CASE("the probe name is <n>.<n>.<first zone>, lowercase, and must fit") {
  CHECK(makeProbeName("example.org.", 12, 345) == wire("12.345.example.org."));
  CHECK(makeProbeName(".", 9223372036854775807ULL, 0) == wire("9223372036854775807.0."));
  std::string longZone;
  for (int i = 0; i < 4; ++i) longZone += std::string(60, 'a') + ".";  // 244 bytes of wire
  CHECK_FALSE(makeProbeName(longZone, 9223372036854775807ULL, 9223372036854775807ULL).has_value());

  auto p = parse("Example.ORG:1053 example.net {\n  loop\n}\n");
  auto h = setupLoop(contextFor(p, {"example.org.", "example.net."}));
  REQUIRE(h.ok());
  auto& loop = static_cast<LoopHandler&>(**h);
  std::string text = dns::nameToText(loop.probeName());
  CHECK(text.ends_with(".example.org."));
  CHECK(dns::isSubdomain(loop.probeName(), wire("example.org.")));
  CHECK(loop.probeName().size() > wire("example.org.").size() + 4);

  // Two handlers never share a probe name: a restart must not count the old one's copies.
  auto h2 = setupLoop(contextFor(p, {"example.org."}));
  CHECK(static_cast<LoopHandler&>(**h2).probeName() != loop.probeName());
}

TEST_CASE("the probe goes to the listen address, loopback for a wildcard") {
  CHECK(probeAddress("") == asio::ip::make_address("127.0.0.1"));
  CHECK(probeAddress("0.0.0.0") == asio::ip::make_address("127.0.0.1"));
  CHECK(probeAddress("::") == asio::ip::make_address("::1"));
  CHECK(probeAddress("10.1.2.3") == asio::ip::make_address("10.1.2.3"));
  CHECK(probeAddress("::1") == asio::ip::make_address("::1"));
  CHECK_FALSE(probeAddress("eth0").has_value());
}

TEST_CASE("only the probe name with type HINFO is counted, every query goes on") {
  Recorder rec;
  LoopHandler h("example.org.", wire("1.2.example.org."), ":53", rec.callback());
  CHECK(ask(h, "1.2.example.org.", dns::rrtype::A) == Verdict::Next);
  CHECK(ask(h, "1.2.example.org.", dns::rrtype::TXT) == Verdict::Next);
  CHECK(ask(h, "3.2.example.org.", dns::rrtype::HINFO) == Verdict::Next);
  CHECK(ask(h, "x.1.2.example.org.", dns::rrtype::HINFO) == Verdict::Next);
  CHECK(ask(h, "2.example.org.", dns::rrtype::HINFO) == Verdict::Next);
  CHECK(h.sightings() == 0);
  CHECK(ask(h, "1.2.example.org.", dns::rrtype::HINFO) == Verdict::Next);
  CHECK(h.sightings() == 1);
  // Case does not hide it (a resolver in the loop may randomise it).
  CHECK(ask(h, "1.2.EXAMPLE.Org.", dns::rrtype::HINFO) == Verdict::Next);
  CHECK(h.sightings() == 2);
  CHECK(rec.messages->empty());
}

TEST_CASE("a third sighting is a loop, reported once with addresses, zone and probe") {
  Recorder rec;
  LoopHandler h(".", wire("11.22."), ":1053", rec.callback());
  ask(h, "11.22.", dns::rrtype::HINFO);
  ask(h, "11.22.", dns::rrtype::HINFO);
  CHECK(rec.messages->empty());
  CHECK(ask(h, "11.22.", dns::rrtype::HINFO, "127.0.0.1", 55953) == Verdict::Next);
  REQUIRE(rec.messages->size() == 1);
  const std::string& m = rec.messages->front();
  CHECK(m.starts_with("Loop (127.0.0.1:55953 -> :1053) detected for zone \".\""));
  CHECK(m.find("\"HINFO 11.22.\"") != std::string::npos);
  CHECK(m.find("https://coredns.io/plugins/loop#troubleshooting") != std::string::npos);
  ask(h, "11.22.", dns::rrtype::HINFO);
  CHECK(rec.messages->size() == 1);

  Recorder rec6;
  LoopHandler h6("example.org.", wire("1.2.example.org."), "[::1]:53", rec6.callback());
  for (int i = 0; i < 3; ++i) ask(h6, "1.2.example.org.", dns::rrtype::HINFO, "::1", 4242);
  REQUIRE(rec6.messages->size() == 1);
  CHECK(rec6.messages->front().starts_with("Loop ([::1]:4242 -> [::1]:53) detected for zone \"example.org.\""));

  Recorder recMapped;
  LoopHandler hm(".", wire("1.2."), ":53", recMapped.callback());
  for (int i = 0; i < 3; ++i) ask(hm, "1.2.", dns::rrtype::HINFO, "::ffff:127.0.0.1", 4242);
  REQUIRE(recMapped.messages->size() == 1);
  CHECK(recMapped.messages->front().starts_with("Loop (127.0.0.1:4242 -> :53)"));
}

// A UDP listener on loopback run by the test's io_context, standing in for the server.
class FakeListener {
 public:
  // `onProbe(bytes, from)` sees every datagram; it may answer through `socket()`.
  explicit FakeListener(asio::io_context& io) : sock_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  udp::socket& socket() { return sock_; }
  uint16_t port() const { return sock_.local_endpoint().port(); }
  template <class F>
  void serve(F onDatagram) {
    sock_.async_receive_from(asio::buffer(buf_), from_, [this, onDatagram](boost::system::error_code ec, size_t n) {
      if (ec) return;
      onDatagram(std::vector<uint8_t>(buf_.begin(), buf_.begin() + n), from_);
      serve(onDatagram);
    });
  }

 private:
  udp::socket sock_;
  udp::endpoint from_;
  std::array<uint8_t, 1500> buf_{};
};

TEST_CASE("probing ends at the first reply, afterwards the handler does nothing") {
  asio::io_context io;
  FakeListener server(io);
  Recorder rec;
  LoopHandler h("example.org.", wire("7.8.example.org."), ":53", rec.callback());
  std::vector<testing::Reply> seen;
  server.serve([&](std::vector<uint8_t> bytes, udp::endpoint from) {
    auto d = testing::decode(bytes);
    seen.push_back(d);
    // The server's chain: loop sees it once, then something answers (SERVFAIL is enough).
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, bytes);
    h.onQuery(*q);
    bytes[2] |= 0x80;  // QR
    bytes[3] = (bytes[3] & 0xF0) | 2;
    server.socket().send_to(asio::buffer(bytes), from);
  });
  h.startProbing(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()),
                 {.window = 5s, .replyTimeout = 1s, .retryPause = 100ms});
  CHECK(h.active());
  io.run_for(500ms);
  REQUIRE(seen.size() == 1);  // one try was enough
  CHECK(seen[0].rd);
  CHECK(h.sightings() == 1);
  CHECK_FALSE(h.active());
  for (int i = 0; i < 5; ++i) ask(h, "7.8.example.org.", dns::rrtype::HINFO);
  CHECK(h.sightings() == 1);
  CHECK(rec.messages->empty());
}

TEST_CASE("a reply the handler never saw (an older chain answered) earns one more try") {
  asio::io_context io;
  FakeListener server(io);
  Recorder rec;
  LoopHandler h(".", wire("5.6."), ":53", rec.callback());
  int probes = 0;
  server.serve([&](std::vector<uint8_t> bytes, udp::endpoint from) {
    ++probes;  // answered without passing through `h`
    bytes[2] |= 0x80;
    server.socket().send_to(asio::buffer(bytes), from);
  });
  h.startProbing(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()),
                 {.window = 5s, .replyTimeout = 1s, .retryPause = 50ms});
  io.run_for(500ms);
  CHECK(probes == 2);
  CHECK_FALSE(h.active());
}

TEST_CASE("a probe that keeps coming back is a loop") {
  asio::io_context io;
  FakeListener server(io);
  Recorder rec;
  LoopHandler h(".", wire("5.6."), ":53", rec.callback());
  int hops = 0;
  server.serve([&](std::vector<uint8_t> bytes, udp::endpoint) {
    // loop, then a forward whose upstream is this same listener: the query never ends.
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, bytes);
    h.onQuery(*q);
    if (++hops < 10) server.socket().send_to(asio::buffer(bytes), server.socket().local_endpoint());
  });
  h.startProbing(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()),
                 {.window = 5s, .replyTimeout = 1s, .retryPause = 100ms});
  io.run_for(300ms);
  REQUIRE(rec.messages->size() == 1);
  CHECK(rec.messages->front().starts_with("Loop (127.0.0.1:"));
  CHECK(rec.messages->front().find("-> :53) detected for zone \".\"") != std::string::npos);
}

TEST_CASE("with nothing answering, probing retries, resets the count and stops at the window") {
  asio::io_context io;
  FakeListener server(io);
  Recorder rec;
  LoopHandler h(".", wire("5.6."), ":53", rec.callback());
  int probes = 0;
  server.serve([&](std::vector<uint8_t> bytes, udp::endpoint) {
    ++probes;
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, bytes);
    h.onQuery(*q);  // seen, never answered
  });
  h.startProbing(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()),
                 {.window = 600ms, .replyTimeout = 100ms, .retryPause = 50ms});
  io.run_for(1500ms);
  CHECK(probes >= 3);          // each try sends one query
  CHECK(h.sightings() == 0);   // each failed try wiped the count, so no false loop
  CHECK(rec.messages->empty());
  CHECK_FALSE(h.active());
}

TEST_CASE("setup probes the block's first key's port on loops[0]") {
  asio::io_context io;
  FakeListener server(io);
  std::vector<std::vector<uint8_t>> seen;
  LoopHandler* handler = nullptr;  // the chain the probe passes through, once built
  server.serve([&](std::vector<uint8_t> bytes, udp::endpoint from) {
    seen.push_back(bytes);
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, bytes);
    if (handler != nullptr) handler->onQuery(*q);
    bytes[2] |= 0x80;
    server.socket().send_to(asio::buffer(bytes), from);
  });
  std::string port = std::to_string(server.port());
  auto p = parse("example.org:" + port + " example.net:1 {\n  bind 127.0.0.1\n  loop\n}\n");
  SetupContext ctx = contextFor(p, {"example.org.", "example.net."});
  asio::io_context* loops[] = {&io};
  ctx.loops = loops;
  Recorder rec;
  auto h = setupLoop(ctx, rec.callback(), {.window = 5s, .replyTimeout = 1s, .retryPause = 100ms});
  REQUIRE(h.ok());
  auto& loop = static_cast<LoopHandler&>(**h);
  handler = &loop;
  CHECK(seen.empty());  // nothing is sent before the loop runs
  io.run_for(300ms);
  REQUIRE(seen.size() == 1);
  CHECK_FALSE(loop.active());
  // One question: the handler's own name, HINFO, IN.
  const auto& d = seen[0];
  const auto& name = loop.probeName();
  REQUIRE(d.size() == dns::kHeaderSize + name.size() + 4);
  CHECK(dns::get16(d.data() + 4) == 1);
  CHECK(std::equal(name.begin(), name.end(), d.begin() + dns::kHeaderSize));
  CHECK(dns::get16(d.data() + dns::kHeaderSize + name.size()) == dns::rrtype::HINFO);
  CHECK(dns::get16(d.data() + dns::kHeaderSize + name.size() + 2) == dns::rrclass::IN);
}

TEST_CASE("without event loops (a validation run) nothing is sent and the handler still works") {
  auto p = parse(".:1053 {\n  loop\n}\n");
  Recorder rec;
  auto h = setupLoop(contextFor(p, {"."}), rec.callback(), {});
  REQUIRE(h.ok());
  auto& loop = static_cast<LoopHandler&>(**h);
  CHECK(loop.active());
  std::string probe = dns::nameToText(loop.probeName());
  for (int i = 0; i < 3; ++i) ask(loop, probe, dns::rrtype::HINFO);
  REQUIRE(rec.messages->size() == 1);
  CHECK(rec.messages->front().starts_with("Loop (127.0.0.1:40000 -> :1053) detected for zone \".\""));
}

TEST_CASE("a handler dropped mid-probe stops its prober") {
  asio::io_context io;
  FakeListener server(io);
  int probes = 0;
  server.serve([&](std::vector<uint8_t>, udp::endpoint) { ++probes; });
  {
    Recorder rec;
    LoopHandler h(".", wire("5.6."), ":53", rec.callback());
    h.startProbing(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()),
                   {.window = 10s, .replyTimeout = 50ms, .retryPause = 10ms});
    io.run_for(30ms);
  }
  int before = probes;
  io.run_for(300ms);
  CHECK(probes <= before + 1);  // at most the try already under way
}

}  // namespace
}  // namespace moat::plugins::loop
