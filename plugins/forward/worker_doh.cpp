// Forwarding over DNS over HTTPS (RFC 8484) to https:// upstreams: HTTP/1.1 over TLS, the query
// POSTed to /dns-query (or, with doh_method GET, sent base64url-encoded in ?dns=), with ID 0 as
// the RFC asks. One exchange per connection at a time; connections are kept alive and pooled per
// worker and upstream while idle, like TCP's (worker_tcp.cpp), and TLS sessions resume as for
// tls:// upstreams. The response is read by Beast's parser, bounded in header and body size; its
// body must be a DNS reply to the question sent, as on every other path.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/vector_body.hpp>

#include "plugins/forward/doh_request.hpp"
#include "plugins/forward/worker.hpp"

namespace moat::plugins::forward {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
bool closedByPeer(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated ||
         ec == http::error::end_of_stream;
}

}  // namespace

void Worker::startDoh(uint16_t i) {
  Slot& slot = slots_[i];
  slot.overTcp = false;
  slot.overTls = false;
  slot.overDoh = true;
  slot.attemptStart = Clock::now();
  slot.attemptDeadline = slot.attemptStart + stanza(slot).config.options.readTimeout;
  armSweep();
  asio::co_spawn(loop_, dohExchange(shared_from_this(), i, slot.generation, slot.channel), asio::detached);
}

asio::awaitable<void> Worker::dohExchange(std::shared_ptr<Worker> self, uint16_t i, uint32_t gen,
                                          uint32_t c) {
  auto current = [this, i, gen] { return !stopped_ && slots_[i].inUse && slots_[i].generation == gen; };
  co_await asio::post(loop_, asio::use_awaitable);  // never resume the query inside onQuery
  if (!current()) co_return;
  const auto& st = *shared_->stanzas[channels_[c].stanza];
  const auto& up = *st.upstreams[channels_[c].upstream];
  const auto& o = st.config.options;
  // The egress check before any connection (DESIGN.md §4).
  if (shared_->keptIn(channels_[c].stanza, *slots_[i].query) != nullptr) {
    dns::bump(stats_.sendsStopped);
    onAttemptError(i, Failure::Network);
    co_return;
  }
  for (int round = 0; round < 2; ++round) {
    // The second round follows a pooled connection the peer had closed: dial afresh.
    std::shared_ptr<DohConn> conn;
    auto& idle = channels_[c].dohIdle;
    const auto now = Clock::now();
    while (round == 0 && !idle.empty() && !conn) {
      conn = std::move(idle.front());
      idle.erase(idle.begin());
      const bool expired = now - conn->lastUsed > o.expire || (o.maxAge.count() > 0 && now - conn->created > o.maxAge);
      if (expired) {
        boost::system::error_code ignored;
        conn->stream.lowest_layer().close(ignored);
        conn.reset();
      }
    }
    const bool pooled = conn != nullptr;
    dns::bump(pooled ? channelStats_[c].tcpHits : channelStats_[c].tcpMisses);
    if (!pooled) conn = std::make_shared<DohConn>(loop_, *st.config.tlsContext);
    slots_[i].doh = conn;
    boost::system::error_code ec;
    if (!pooled) {
      tcp::endpoint ep(up.addr.address, up.addr.port);
      auto& sock = conn->stream.next_layer();
      sock.open(ep.protocol(), ec);
      if (!ec && o.sourceAddress) sock.bind(tcp::endpoint(*o.sourceAddress, 0), ec);
      if (!ec) std::tie(ec) = co_await sock.async_connect(ep, kTuple);
      if (!current()) co_return;
      if (ec) {
        onAttemptError(i, ec == asio::error::connection_refused ? Failure::Refused : Failure::Network);
        co_return;
      }
      sock.set_option(tcp::no_delay(true), ec);
      const bool ok = co_await handshake(conn->stream, c, ec);
      if (!current()) co_return;
      if (!ok) {
        onAttemptError(i, Failure::Handshake);
        co_return;
      }
      conn->created = Clock::now();
    }

    // RFC 8484 section 4.1: ID 0, so that equal queries are equal requests (HTTP caches). The
    // worker's scratch buffer holds that copy only until the request is built (no suspension).
    const dns::Query& q = *slots_[i].query;
    out_.assign(q.request.data(), q.request.data() + q.requestLen);
    dns::put16(out_.data(), 0);
    buildDohRequest(conn->request, st.config.tlsNameOf(up.addr), out_, o.dohGet);
    auto [wec, wn] = co_await asio::async_write(conn->stream, asio::buffer(conn->request), kTuple);
    if (!current()) co_return;
    if (wec) {
      slots_[i].doh.reset();
      if (pooled && closedByPeer(wec)) continue;
      onAttemptError(i, Failure::Network);
      co_return;
    }
    dns::bump(stats_.tlsSent);

    http::response_parser<http::vector_body<uint8_t>> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(dns::kMaxMessage);
    auto [rec, rn] = co_await http::async_read(conn->stream, conn->buffer, parser, kTuple);
    if (!current()) co_return;
    if (rec) {
      slots_[i].doh.reset();
      if (pooled && closedByPeer(rec) && rn == 0) continue;
      onAttemptError(i, closedByPeer(rec) ? Failure::Network : Failure::BadReply);
      co_return;
    }
    const auto& res = parser.get();
    const auto type = res[http::field::content_type];
    std::optional<Reject> why;
    if (res.result() != http::status::ok || !isDnsMessageType(type) ||
        res.body().size() < dns::kHeaderSize) {
      why = Reject::Malformed;
    } else if (dns::get16(res.body().data()) != 0) {
      why = Reject::Id;
    } else {
      why = checkReply(res.body(), slots_[i].query->view);
    }
    if (why) {
      reject(*why);
      onAttemptError(i, Failure::BadReply);
      co_return;
    }
    if (!conn->sessionSaved) {
      conn->sessionSaved = true;
      keepSession(c, conn->stream.native_handle());
    }
    const bool keep = res.keep_alive();
    conn->reply = std::move(parser.release().body());
    conn->lastUsed = Clock::now();
    slots_[i].doh.reset();
    onReply(i, conn->reply, true);
    if (stopped_) co_return;
    if (keep && o.expire.count() > 0 &&
        (o.maxIdleConns == 0 || idle.size() < static_cast<size_t>(o.maxIdleConns))) {
      channels_[c].dohIdle.push_back(std::move(conn));
      armSweep();
    } else {
      boost::system::error_code ignored;
      conn->stream.lowest_layer().close(ignored);
    }
    co_return;
  }
  if (current()) onAttemptError(i, Failure::Network);
}

}  // namespace moat::plugins::forward
