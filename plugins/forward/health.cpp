// Upstream health, as CoreDNS's proxy does it: a failed query starts a probe loop that sends
// `<domain> IN NS` every health_check interval until any DNS reply comes back. Each failed probe
// bumps the upstream's consecutive-failure count; more than max_fails marks it down. Probes run
// as coroutines on the health loop (loops[0]), never on the query path.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/vector_body.hpp>

#include <spdlog/spdlog.h>

#include "dns/counter.hpp"
#include "dns/secure_random.hpp"
#include "dns/tls_context.hpp"
#include "dns/wire.hpp"
#include "plugins/forward/doh_request.hpp"
#include "plugins/forward/shared.hpp"

namespace moat::plugins::forward {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio::ip::udp;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// CoreDNS's health check client waits 1 s for the reply.
constexpr auto kProbeTimeout = std::chrono::seconds(1);

std::vector<uint8_t> probeQuery(const Options& o) {
  std::vector<uint8_t> q(dns::kHeaderSize + o.hcDomain.size() + 4);
  dns::Header h;
  h.id = dns::threadRandom().u16();  // probes are replies an attacker could forge too
  h.flags = o.hcRecursionDesired ? dns::flag::RD : 0;
  h.qdcount = 1;
  h.write(q.data());
  std::copy(o.hcDomain.begin(), o.hcDomain.end(), q.begin() + dns::kHeaderSize);
  dns::put16(q.data() + dns::kHeaderSize + o.hcDomain.size(), dns::rrtype::NS);
  dns::put16(q.data() + dns::kHeaderSize + o.hcDomain.size() + 2, dns::rrclass::IN);
  return q;
}

// Any DNS response to our probe counts, even SERVFAIL or REFUSED: the upstream is alive (as
// CoreDNS). Its ID must be ours and QR set; the rest of the message does not matter.
std::optional<Reject> probeReplyCheck(std::span<const uint8_t> reply,
                                      std::span<const uint8_t> query) {
  if (reply.size() < dns::kHeaderSize) return Reject::Malformed;
  if (dns::get16(reply.data()) != dns::get16(query.data())) return Reject::Id;
  if ((dns::get16(reply.data() + 2) & dns::flag::QR) == 0) return Reject::NotResponse;
  return std::nullopt;
}

void count(SharedStats& stats, Reject why) {
  dns::bump(stats.probeRejected[static_cast<size_t>(why)]);  // only the health loop writes
}

awaitable<bool> probeUdp(const UpstreamAddr& to, const Options& o, SharedStats& stats) {
  auto exec = co_await asio::this_coro::executor;
  udp::socket sock(exec);
  boost::system::error_code ec;
  udp::endpoint ep(to.address, to.port);
  sock.open(ep.protocol(), ec);
  if (!ec && o.sourceAddress) sock.bind(udp::endpoint(*o.sourceAddress, 0), ec);
  if (!ec) sock.non_blocking(true, ec);  // the send below must never stall loops[0]
  if (!ec) sock.connect(ep, ec);         // only replies from the upstream itself count
  if (ec) co_return false;
  auto query = probeQuery(o);
  if (sock.send(asio::buffer(query), 0, ec); ec) co_return false;
  std::array<uint8_t, 512> reply{};  // a header is all that matters; the rest may be cut
  const auto deadline = std::chrono::steady_clock::now() + kProbeTimeout;
  asio::steady_timer timer(exec);
  for (;;) {
    // A reply that is not the answer to this probe is dropped, and the probe keeps waiting
    // until its own deadline.
    timer.expires_at(deadline);
    auto result =
        co_await (sock.async_receive(asio::buffer(reply), kTuple) || timer.async_wait(kTuple));
    if (result.index() != 0) co_return false;
    auto [rec, n] = std::get<0>(result);
    if (rec && rec != asio::error::message_size) co_return false;
    const auto why = probeReplyCheck({reply.data(), std::min(n, reply.size())}, query);
    if (!why) co_return true;
    count(stats, *why);
  }
}

awaitable<bool> tcpExchange(tcp::socket& sock, const tcp::endpoint& ep, std::vector<uint8_t> query,
                            SharedStats& stats) {
  auto [cec] = co_await sock.async_connect(ep, kTuple);
  if (cec) co_return false;
  std::vector<uint8_t> framed(2 + query.size());
  dns::put16(framed.data(), static_cast<uint16_t>(query.size()));
  std::copy(query.begin(), query.end(), framed.begin() + 2);
  auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(framed), kTuple);
  if (wec) co_return false;
  std::array<uint8_t, 2 + dns::kHeaderSize> head{};
  auto [rec, rn] = co_await asio::async_read(sock, asio::buffer(head), kTuple);
  if (rec) co_return false;
  const auto why = probeReplyCheck(std::span<const uint8_t>(head).subspan(2), query);
  if (why) count(stats, *why);
  co_return !why;
}

awaitable<bool> probeTcp(const UpstreamAddr& to, const Options& o, SharedStats& stats) {
  auto exec = co_await asio::this_coro::executor;
  tcp::socket sock(exec);
  tcp::endpoint ep(to.address, to.port);
  boost::system::error_code ec;
  sock.open(ep.protocol(), ec);
  if (!ec && o.sourceAddress) sock.bind(tcp::endpoint(*o.sourceAddress, 0), ec);
  if (ec) co_return false;
  asio::steady_timer timer(exec, kProbeTimeout);
  auto result =
      co_await (tcpExchange(sock, ep, probeQuery(o), stats) || timer.async_wait(kTuple));
  co_return result.index() == 0 && std::get<0>(result);
}

// Over TLS as the queries go: connect, handshake (the certificate checked as for a query),
// one probe. A probe connection is not kept; queries keep their own.
awaitable<bool> tlsProbeExchange(asio::ssl::stream<tcp::socket>& stream, const tcp::endpoint& ep,
                                 const std::string& name, std::vector<uint8_t> query, SharedStats& stats) {
  auto [cec] = co_await stream.next_layer().async_connect(ep, kTuple);
  if (cec) co_return false;
  if (!dns::tlsVerifyName(stream.native_handle(), name)) co_return false;
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) co_return false;
  std::vector<uint8_t> framed(2 + query.size());
  dns::put16(framed.data(), static_cast<uint16_t>(query.size()));
  std::copy(query.begin(), query.end(), framed.begin() + 2);
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(framed), kTuple);
  if (wec) co_return false;
  std::array<uint8_t, 2 + dns::kHeaderSize> head{};
  auto [rec, rn] = co_await asio::async_read(stream, asio::buffer(head), kTuple);
  if (rec) co_return false;
  const auto why = probeReplyCheck(std::span<const uint8_t>(head).subspan(2), query);
  if (why) count(stats, *why);
  co_return !why;
}

// DoH: the probe POSTed as a query is, over a connection of its own. Any DNS reply with ID 0
// (RFC 8484's) and QR set counts, as for the other transports.
awaitable<bool> dohProbeExchange(asio::ssl::stream<tcp::socket>& stream, const tcp::endpoint& ep,
                                 const std::string& name, std::vector<uint8_t> query, SharedStats& stats) {
  auto [cec] = co_await stream.next_layer().async_connect(ep, kTuple);
  if (cec) co_return false;
  if (!dns::tlsVerifyName(stream.native_handle(), name)) co_return false;
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) co_return false;
  dns::put16(query.data(), 0);
  std::string request;
  buildDohRequest(request, name, query, false);
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(request), kTuple);
  if (wec) co_return false;
  beast::flat_buffer buffer;
  http::response_parser<http::vector_body<uint8_t>> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(dns::kMaxMessage);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (rec || parser.get().result() != http::status::ok) co_return false;
  const auto why = probeReplyCheck(parser.get().body(), query);
  if (why) count(stats, *why);
  co_return !why;
}

awaitable<bool> probeOverTls(const UpstreamAddr& to, const Stanza& stanza, SharedStats& stats) {
  auto exec = co_await asio::this_coro::executor;
  asio::ssl::stream<tcp::socket> stream(exec, *stanza.tlsContext);
  tcp::endpoint ep(to.address, to.port);
  boost::system::error_code ec;
  stream.next_layer().open(ep.protocol(), ec);
  if (!ec && stanza.options.sourceAddress) stream.next_layer().bind(tcp::endpoint(*stanza.options.sourceAddress, 0), ec);
  if (ec) co_return false;
  asio::steady_timer timer(exec, kProbeTimeout);
  const auto name = stanza.tlsNameOf(to);
  auto query = probeQuery(stanza.options);
  if (to.doh) {
    auto result = co_await (dohProbeExchange(stream, ep, name, std::move(query), stats) || timer.async_wait(kTuple));
    co_return result.index() == 0 && std::get<0>(result);
  }
  auto result = co_await (tlsProbeExchange(stream, ep, name, std::move(query), stats) || timer.async_wait(kTuple));
  co_return result.index() == 0 && std::get<0>(result);
}

awaitable<void> probeLoop(std::shared_ptr<Shared> shared, uint32_t s, uint32_t u) {
  auto& stanza = *shared->stanzas[s];
  auto& up = *stanza.upstreams[u];
  const auto& o = stanza.config.options;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  // A probe is a query leaving the box like any other: the same egress check applies (setup
  // already refuses a health_check domain it would stop, so this only guards new paths).
  if (shared->keptIn(s, dns::lowercased(o.hcDomain)) != nullptr) {
    shared->stats.probesKeptIn.fetch_add(1, std::memory_order_relaxed);
    up.probing.store(false, std::memory_order_release);
    co_return;
  }
  while (!shared->stopping.load(std::memory_order_relaxed)) {
    // CoreDNS probes over TLS (DoT or DoH) for a tls:// or https:// upstream, over TCP when
    // force_tcp is set, else over UDP. (Statements, not a conditional expression: GCC 12 runs
    // both arms of a nested ?: whose arms co_await.)
    bool alive = false;
    if (up.addr.tls) {
      alive = co_await probeOverTls(up.addr, stanza.config, shared->stats);
    } else if (o.forceTcp) {
      alive = co_await probeTcp(up.addr, o, shared->stats);
    } else {
      alive = co_await probeUdp(up.addr, o, shared->stats);
    }
    if (alive) {
      up.fails.store(0, std::memory_order_relaxed);
      break;
    }
    dns::bump(up.healthcheckFailures);  // probes run only on the health loop's thread
    if (up.fails.load(std::memory_order_relaxed) != UINT32_MAX) {
      up.fails.fetch_add(1, std::memory_order_relaxed);
    }
    pause.expires_after(o.healthCheck);
    co_await pause.async_wait(kTuple);
  }
  up.probing.store(false, std::memory_order_release);
}

}  // namespace

UpstreamState::UpstreamState(UpstreamAddr a) : addr(std::move(a)) {
  static constexpr std::string_view kWhat[kFailureKinds] = {
      "i/o timeout", "connection refused", "network error", "malformed or mismatched reply",
      "tls handshake failed"};
  static constexpr std::string_view kTransport[kTransports] = {"udp ", "tcp ", "tls ", "https "};
  for (size_t t = 0; t < kTransports; ++t) {
    for (size_t f = 0; f < kFailureKinds; ++f) {
      errors[t][f] = std::string(kTransport[t]) + addr.text + ": " + std::string(kWhat[f]);
    }
  }
}

void UpstreamState::noteTlsFailure(const std::string& reason) {
  std::lock_guard lock(tlsLogMutex);
  if (reason == tlsLogged) return;
  tlsLogged = reason;
  spdlog::warn("forward: tls {}: handshake failed: {}", addr.text, reason);
}

void UpstreamState::noteTlsSuccess() {
  std::lock_guard lock(tlsLogMutex);
  tlsLogged.clear();
}

std::shared_ptr<Shared> Shared::build(std::vector<Stanza> stanzas, const EgressConfig& egress) {
  auto shared = std::make_shared<Shared>();
  shared->privateZones = egress.privateZones;
  uint32_t channel = 0;
  for (auto& s : stanzas) {
    auto st = std::make_unique<StanzaState>();
    st->firstChannel = channel;
    for (const auto& a : s.upstreams) st->upstreams.push_back(std::make_unique<UpstreamState>(a));
    channel += static_cast<uint32_t>(s.upstreams.size());
    st->limitError =
        "concurrent queries exceeded maximum " + std::to_string(s.options.maxConcurrent);
    st->scope = EgressScope::narrowed(s.from, egress.blockZones);
    st->config = std::move(s);
    shared->stanzas.push_back(std::move(st));
  }
  shared->channelCount = channel;
  return shared;
}

void requestHealthCheck(const std::shared_ptr<Shared>& shared, uint32_t s, uint32_t u) {
  const auto& stanza = *shared->stanzas[s];
  const auto& o = stanza.config.options;
  if (o.maxFails == 0 || o.healthCheck <= std::chrono::nanoseconds::zero() ||
      shared->healthLoop == nullptr || shared->stopping.load(std::memory_order_relaxed)) {
    return;
  }
  auto& up = *stanza.upstreams[u];
  bool idle = false;
  if (!up.probing.compare_exchange_strong(idle, true, std::memory_order_acq_rel)) return;
  // Post first: the coroutine must be created and started on the health loop's own thread.
  asio::io_context& loop = *shared->healthLoop;
  asio::post(loop, [shared, s, u, &loop] {
    asio::co_spawn(loop, probeLoop(shared, s, u), asio::detached);
  });
}

}  // namespace moat::plugins::forward
