#include "plugins/loop/loop.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <vector>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "dns/log.hpp"
#include "dns/wire.hpp"

namespace moat::plugins::loop {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::udp;

// Shared by the handler (every worker reads it) and the prober (loops[0]); the prober keeps it
// alive on its own, so a handler dropped mid-probe leaves nothing dangling.
struct LoopHandler::State {
  State(std::string z, dns::WireName p, std::string l, LoopDetected cb)
      : zone(std::move(z)), probe(std::move(p)), listen(std::move(l)), onLoop(std::move(cb)) {}

  const std::string zone;
  const dns::WireName probe;
  const std::string listen;
  const LoopDetected onLoop;
  std::atomic<bool> active{true};     // false once probing ended: the handler is inert
  std::atomic<bool> stopping{false};  // the handler is gone: the prober quits
  std::atomic<int> sightings{0};
  std::atomic<bool> reported{false};  // onLoop runs once even if workers race past the limit
};

namespace {

constexpr std::string_view kPlugin = "loop";
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// "host:port" as Go's net.JoinHostPort writes it: IPv6 in brackets, empty host kept empty.
std::string joinHostPort(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  return out + ":" + std::to_string(port);
}

std::vector<uint8_t> probeQuery(const dns::WireName& name, uint16_t id) {
  std::vector<uint8_t> q(dns::kHeaderSize + name.size() + 4);
  dns::Header h;
  h.id = id;
  h.flags = dns::flag::RD;  // as miekg/dns's SetQuestion, which CoreDNS's probe uses
  h.qdcount = 1;
  h.write(q.data());
  std::copy(name.begin(), name.end(), q.begin() + dns::kHeaderSize);
  dns::put16(q.data() + dns::kHeaderSize + name.size(), dns::rrtype::HINFO);
  dns::put16(q.data() + dns::kHeaderSize + name.size() + 2, dns::rrclass::IN);
  return q;
}

// One exchange: true when a reply to this query (any rcode, even truncated) came back in time.
awaitable<bool> exchange(const dns::WireName& name, const udp::endpoint& target,
                         std::chrono::steady_clock::duration timeout, uint16_t id) {
  using namespace asio::experimental::awaitable_operators;
  auto exec = co_await asio::this_coro::executor;
  udp::socket sock(exec);
  boost::system::error_code ec;
  sock.open(target.protocol(), ec);
  if (!ec) sock.non_blocking(true, ec);  // a send must never stall loops[0], a worker
  if (!ec) sock.connect(target, ec);     // only datagrams from our own listener count
  if (ec) co_return false;
  auto query = probeQuery(name, id);
  if (sock.send(asio::buffer(query), 0, ec); ec) co_return false;

  asio::steady_timer timer(exec, timeout);
  // The header decides; a longer reply is cut, which is fine. On the heap, not in the frame:
  // a large frame let GCC 12 fold asio's frame allocation to aligned_alloc and warn about its
  // class operator delete (-Wmismatched-new-delete), as with probeLoop's generator below.
  std::vector<uint8_t> reply(512);
  for (;;) {
    auto result = co_await (sock.async_receive(asio::buffer(reply), kTuple) || timer.async_wait(kTuple));
    if (result.index() != 0) co_return false;  // timed out
    auto [rec, n] = std::get<0>(result);
    // Refused (nothing listens) and other socket errors are a failed exchange, as in CoreDNS.
    if (rec && rec != asio::error::message_size) co_return false;
    if (n < dns::kHeaderSize) continue;
    dns::Header h = dns::Header::read(reply.data());
    if (h.id == id && (h.flags & dns::flag::QR) != 0) co_return true;
  }
}

awaitable<void> probeLoop(std::shared_ptr<LoopHandler::State> s, udp::endpoint target,
                          ProbeTiming timing) {
  auto exec = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + timing.window;
  // A small generator: a probe ID needs no more, and std::mt19937's 5 KB made this frame big
  // enough that GCC 12 saw asio's frame allocation fold down to aligned_alloc and warned
  // (-Wmismatched-new-delete) about the class operator delete on its error path.
  std::minstd_rand rng(std::random_device{}());
  asio::steady_timer pause(exec);
  bool unseenReply = false;
  while (std::chrono::steady_clock::now() < deadline && !s->stopping.load(std::memory_order_relaxed)) {
    bool answered = co_await exchange(s->probe, target, timing.replyTimeout,
                                      static_cast<uint16_t>(rng()));
    // On a reload the configuration is built (and this started) just before it is published,
    // so the first probe may be answered by the old chain without this handler seeing it. One
    // more try settles it; a second unseen reply means a plugin before `loop` answers the
    // probe name (kubernetes in its zone), where CoreDNS too would stop at the first reply.
    if (answered && (s->sightings.load(std::memory_order_relaxed) > 0 || unseenReply)) break;
    if (answered) {
      unseenReply = true;
      pause.expires_after(timing.retryPause);
      co_await pause.async_wait(kTuple);
      continue;
    }
    // A try that got nothing back starts the count afresh (CoreDNS resets it too), so copies of
    // an earlier probe still in flight cannot add up with the next one's.
    s->sightings.store(0, std::memory_order_relaxed);
    pause.expires_after(timing.retryPause);
    co_await pause.async_wait(kTuple);
  }
  // An answer proves the probe does not come back forever; from now on a query for the probe
  // name (someone replaying it) must not be able to kill the server.
  s->active.store(false, std::memory_order_release);
}

std::string probeText(const dns::WireName& probe) { return dns::nameToText(probe); }

}  // namespace

void exitOnLoop(const std::string& message) {
  spdlog::critical("plugin/loop: {}", message);
  logging::flush();
  std::fflush(stdout);
  std::fflush(stderr);
  // Fatal as in CoreDNS (log.Fatalf): no orderly shutdown, a looping server must just stop.
  std::_Exit(1);
}

LoopHandler::LoopHandler(std::string zone, dns::WireName probe, std::string listen, LoopDetected onLoop)
    : state_(std::make_shared<State>(std::move(zone), std::move(probe), std::move(listen),
                                     onLoop ? std::move(onLoop) : LoopDetected(exitOnLoop))) {}

LoopHandler::~LoopHandler() { state_->stopping.store(true, std::memory_order_relaxed); }

Verdict LoopHandler::onQuery(dns::Query& q) {
  const dns::Question& question = q.view.question;
  // Every query but a HINFO costs this one comparison.
  if (question.qtype != dns::rrtype::HINFO) return Verdict::Next;
  State& s = *state_;
  if (!s.active.load(std::memory_order_acquire)) return Verdict::Next;
  auto name = question.lowerName();
  if (!std::equal(name.begin(), name.end(), s.probe.begin(), s.probe.end())) return Verdict::Next;

  int seen = s.sightings.fetch_add(1, std::memory_order_relaxed) + 1;
  if (seen > kMaxSightings && !s.reported.exchange(true)) {
    std::array<char, 64> buf;
    std::string_view host = q.client.addressText(buf);
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; Go prints them plainly.
    if (host.starts_with("::ffff:") && host.find('.') != std::string_view::npos) host.remove_prefix(7);
    std::string from = joinHostPort(host, q.client.port());
    std::string msg = "Loop (" + from + " -> " + s.listen + ") detected for zone \"" + s.zone +
                      "\": the probe \"HINFO " + probeText(s.probe) + "\" came back " +
                      std::to_string(seen) +
                      " times; see https://coredns.io/plugins/loop#troubleshooting";
    s.onLoop(msg);
  }
  // Passed on either way: the loop is made by what follows (forward), and CoreDNS does the same.
  return Verdict::Next;
}

void LoopHandler::startProbing(asio::io_context& loop, const udp::endpoint& target, ProbeTiming timing) {
  // co_spawn only queues the coroutine; it first runs on the loop's own thread.
  asio::co_spawn(loop, probeLoop(state_, target, timing), asio::detached);
}

bool LoopHandler::active() const { return state_->active.load(std::memory_order_acquire); }
int LoopHandler::sightings() const { return state_->sightings.load(std::memory_order_relaxed); }
const dns::WireName& LoopHandler::probeName() const { return state_->probe; }

std::optional<dns::WireName> makeProbeName(std::string_view zone, uint64_t a, uint64_t b) {
  std::string text = std::to_string(a) + "." + std::to_string(b) + ".";
  if (zone != ".") text += zone;
  auto wire = dns::nameFromText(text);
  if (!wire) return std::nullopt;
  dns::lowercaseInPlace(*wire);
  return wire;
}

std::optional<asio::ip::address> probeAddress(std::string_view bindAddress) {
  if (bindAddress.empty()) return asio::ip::make_address_v4("127.0.0.1");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(std::string(bindAddress), ec);
  if (ec) return std::nullopt;
  // A wildcard listener takes datagrams on loopback too; a wildcard is no destination.
  if (addr.is_unspecified()) {
    if (addr.is_v4()) return asio::ip::address(asio::ip::address_v4::loopback());
    return asio::ip::address(asio::ip::address_v6::loopback());
  }
  return addr;
}

conf::Result<HandlerPtr> setupLoop(const SetupContext& ctx) { return setupLoop(ctx, nullptr, {}); }

conf::Result<HandlerPtr> setupLoop(const SetupContext& ctx, LoopDetected onLoop, ProbeTiming timing) {
  for (const conf::Directive* stanza : ctx.stanzas) {
    if (auto n = conf::expectArgs(*stanza, kPlugin, 0, 0); !n) return n.error();
    if (stanza->hasBlock) return conf::errorAt(stanza->name, kPlugin, "'loop' takes no block");
  }
  // CoreDNS probes below the first zone of the block's first key.
  std::string zone = ctx.zones.empty() ? std::string(".") : ctx.zones.front();

  // Go's rand.Int(): non-negative 63-bit numbers; random_device so restarts differ.
  std::random_device rd;
  auto draw = [&rd] { return ((uint64_t{rd()} << 32) | rd()) >> 1; };
  std::optional<dns::WireName> probe = makeProbeName(zone, draw(), draw());

  // The listener: the block's first bind address (or every address) and its first key's port.
  std::string bindAddress;
  uint16_t port = 53;
  if (ctx.block != nullptr) {
    for (const conf::Directive& d : ctx.block->directives) {
      if (d.name.text == "bind" && !d.args.empty()) {
        bindAddress = d.args.front().text;
        break;
      }
    }
    if (!ctx.block->keys.empty()) {
      // A key without a port gets 53 here: SetupContext does not carry -dns.port.
      auto keys = conf::parseServerKey(ctx.block->keys.front(), 53);
      if (keys && !keys->empty()) port = keys->front().port;
    }
  }
  std::string listen = joinHostPort(bindAddress, port);

  auto handler = std::make_shared<LoopHandler>(zone, probe.value_or(dns::WireName{}), listen,
                                               std::move(onLoop));
  if (!probe) {
    // The zone leaves no room for the two numbers; CoreDNS would fail every try for 30 s.
    if (ctx.warnings != nullptr && !ctx.stanzas.empty()) {
      ctx.warnings->push_back(conf::Diag{ctx.stanzas.front()->name.pos,
                                         "loop: zone \"" + zone + "\" is too long for a probe name; not probing",
                                         conf::Severity::Warning});
    }
    return HandlerPtr(handler);
  }
  auto address = probeAddress(bindAddress);
  if (!ctx.loops.empty() && address) {
    handler->startProbing(*ctx.loops.front(), udp::endpoint(*address, port), timing);
  }
  return HandlerPtr(handler);
}

}  // namespace moat::plugins::loop
