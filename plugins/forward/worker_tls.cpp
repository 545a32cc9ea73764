// Forwarding over TLS (DNS over TLS, RFC 7858): one connection per worker and upstream, kept
// open and shared by every query to that upstream. A query is framed into the connection's
// queue and written at once, or with the next write when one is in flight (RFC 7766
// pipelining); one reader per connection matches replies, in any order, to their query by ID.
// The ID table is the worker's (the one UDP uses), so an ID is unique on the connection and the
// lookup costs what it costs for UDP. Sessions are resumed: a reconnect after the upstream
// closed an idle connection costs one round trip, not a full handshake.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "dns/tls_context.hpp"
#include "plugins/forward/worker.hpp"

namespace moat::plugins::forward {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Why a handshake failed, for the log: the certificate check's verdict when that is what
// failed ("certificate has expired", "hostname mismatch"), else the TLS error.
std::string handshakeFailure(SSL* ssl, const boost::system::error_code& ec) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) return std::string("certificate rejected: ") + X509_verify_cert_error_string(verify);
  return ec.message();
}

}  // namespace

void Worker::SessionFree::operator()(ssl_session_st* s) const { SSL_SESSION_free(s); }

size_t Worker::openTlsConnections() const {
  size_t n = 0;
  for (const auto& ch : channels_) n += (ch.tls != nullptr) + ch.dohIdle.size();
  return n;
}

std::optional<Failure> Worker::sendTls(uint16_t i) {
  Slot& slot = slots_[i];
  const uint32_t c = slot.channel;
  const auto& st = stanza(slot);
  slot.overTcp = false;
  slot.overTls = true;
  // The egress check before the query reaches a connection (DESIGN.md §4), as for UDP.
  if (shared_->keptIn(slot.stanza, *slot.query) != nullptr) {
    dns::bump(stats_.sendsStopped);
    return Failure::Network;
  }
  const auto now = Clock::now();
  auto& ch = channels_[c];
  const auto& o = st.config.options;
  if (ch.tls && !ch.tls->closed && o.maxAge.count() > 0 && now - ch.tls->created > o.maxAge &&
      ch.tls->inFlight == 0) {
    // Old enough to be replaced (max_age): close it quietly, nothing waits on it.
    boost::system::error_code ignored;
    ch.tls->closed = true;
    ch.tls->stream.lowest_layer().close(ignored);
    ch.tls.reset();
  }
  if (!ch.tls || ch.tls->closed) {
    dns::bump(channelStats_[c].tcpMisses);
    ch.tls = std::make_shared<TlsConn>(loop_, *st.config.tlsContext);
    ch.tls->created = now;
    ch.tls->lastRead = now;
    asio::co_spawn(loop_, tlsSession(shared_from_this(), ch.tls, c), asio::detached);
  } else {
    dns::bump(channelStats_[c].tcpHits);
  }
  TlsConn& conn = *ch.tls;
  auto id = ids_.take(i, random_);
  if (!id) return Failure::Network;
  slot.outId = *id;
  slot.tlsIdHeld = true;
  slot.tls = &conn;
  ++conn.inFlight;
  conn.lastUsed = now;
  const dns::Query& q = *slot.query;
  const size_t at = conn.queued.size();
  conn.queued.resize(at + 2u + q.requestLen);
  dns::put16(conn.queued.data() + at, q.requestLen);
  std::copy_n(q.request.data(), q.requestLen, conn.queued.data() + at + 2);
  dns::put16(conn.queued.data() + at + 2, *id);
  dns::bump(stats_.tlsSent);
  slot.attemptStart = now;
  slot.attemptDeadline = now + o.readTimeout;
  armSweep();
  if (conn.ready && !conn.writeBusy) flushTls(ch.tls);
  return std::nullopt;
}

void Worker::flushTls(const std::shared_ptr<TlsConn>& conn) {
  conn->writing.swap(conn->queued);
  conn->queued.clear();
  conn->writeBusy = true;
  asio::async_write(conn->stream, asio::buffer(conn->writing),
                    [self = shared_from_this(), conn](boost::system::error_code ec, size_t) {
                      conn->writeBusy = false;
                      if (self->stopped_ || conn->closed) return;
                      if (ec) {
                        self->closeTls(conn, Failure::Network);
                        return;
                      }
                      if (!conn->queued.empty()) self->flushTls(conn);
                    });
}

// Fails every attempt still waiting on `conn`; each may go on to another attempt (and another
// connection) at once.
void Worker::closeTls(const std::shared_ptr<TlsConn>& conn, Failure f) {
  if (!conn->closed) {
    conn->closed = true;
    boost::system::error_code ignored;
    conn->stream.lowest_layer().close(ignored);
  }
  for (auto& ch : channels_) {
    if (ch.tls == conn) ch.tls.reset();
  }
  if (conn->inFlight == 0 || stopped_) return;
  std::vector<uint16_t> waiting;  // the rare path: a connection lost with queries on it
  for (size_t k = 0; k < slots_.size(); ++k) {
    const auto i = static_cast<uint16_t>(k);
    if (slots_[i].inUse && slots_[i].tls == conn.get()) waiting.push_back(i);
  }
  for (uint16_t i : waiting) {
    if (slots_[i].inUse && slots_[i].tls == conn.get()) onAttemptError(i, f);
  }
}

asio::awaitable<bool> Worker::handshake(asio::ssl::stream<tcp::socket>& stream, uint32_t c,
                                        boost::system::error_code& ec) {
  const auto& st = *shared_->stanzas[channels_[c].stanza];
  auto& up = *st.upstreams[channels_[c].upstream];
  SSL* ssl = stream.native_handle();
  if (!dns::tlsVerifyName(ssl, st.config.tlsNameOf(up.addr))) {
    up.noteTlsFailure("server name '" + st.config.tlsNameOf(up.addr) + "' is not usable");
    co_return false;
  }
  if (channels_[c].session) SSL_set_session(ssl, channels_[c].session.get());
  std::tie(ec) = co_await stream.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (stopped_ || ec == asio::error::operation_aborted) co_return false;  // closed under it
  if (ec) {
    dns::bump(stats_.tlsFailedHandshakes);
    up.noteTlsFailure(handshakeFailure(ssl, ec));
    channels_[c].session.reset();  // a session the server no longer takes is not tried again
    co_return false;
  }
  dns::bump(stats_.tlsHandshakes);
  if (SSL_session_reused(ssl) == 1) dns::bump(stats_.tlsResumed);
  up.noteTlsSuccess();
  co_return true;
}

// TLS 1.3 sends its session tickets after the handshake: by the first reply they are in. A
// copy is kept: OpenSSL marks a connection's own session not resumable when the connection ends
// without a close_notify, which is how idle connections end here.
void Worker::keepSession(uint32_t c, ssl_st* ssl) {
  if (SSL_SESSION* own = SSL_get1_session(ssl)) {
    channels_[c].session.reset(SSL_SESSION_dup(own));
    SSL_SESSION_free(own);
  }
}

asio::awaitable<void> Worker::tlsSession(std::shared_ptr<Worker> self, std::shared_ptr<TlsConn> conn,
                                         uint32_t c) {
  // Suspend first: co_spawn runs inline up to the first suspension, and a failure here must not
  // resume a query inside the handler that is still sending it.
  co_await asio::post(loop_, asio::use_awaitable);
  if (stopped_ || conn->closed) co_return;
  const auto& st = *shared_->stanzas[channels_[c].stanza];
  auto& up = *st.upstreams[channels_[c].upstream];
  const auto& o = st.config.options;
  auto& sock = conn->stream.next_layer();
  tcp::endpoint ep(up.addr.address, up.addr.port);
  boost::system::error_code ec;
  sock.open(ep.protocol(), ec);
  if (!ec && o.sourceAddress) sock.bind(tcp::endpoint(*o.sourceAddress, 0), ec);
  if (!ec) std::tie(ec) = co_await sock.async_connect(ep, kTuple);
  if (stopped_ || conn->closed) co_return;
  if (ec) {
    closeTls(conn, ec == asio::error::connection_refused ? Failure::Refused : Failure::Network);
    co_return;
  }
  sock.set_option(tcp::no_delay(true), ec);

  if (!co_await handshake(conn->stream, c, ec)) {
    if (!stopped_ && !conn->closed) closeTls(conn, Failure::Handshake);
    co_return;
  }
  if (stopped_ || conn->closed) co_return;
  SSL* ssl = conn->stream.native_handle();
  conn->ready = true;
  if (!conn->queued.empty() && !conn->writeBusy) flushTls(conn);

  for (;;) {
    auto [lec, ln] = co_await asio::async_read(conn->stream, asio::buffer(conn->length), kTuple);
    if (stopped_ || conn->closed) co_return;
    if (lec) break;
    const uint16_t length = dns::get16(conn->length.data());
    if (length < dns::kHeaderSize) {
      reject(Reject::Malformed);
      closeTls(conn, Failure::BadReply);
      co_return;
    }
    conn->in.resize(length);
    auto [bec, bn] = co_await asio::async_read(conn->stream, asio::buffer(conn->in), kTuple);
    if (stopped_ || conn->closed) co_return;
    if (bec) break;
    conn->lastRead = conn->lastUsed = Clock::now();
    if (!conn->sessionSaved) {
      conn->sessionSaved = true;
      keepSession(c, ssl);
    }
    onTlsReply(conn);
  }
  // The upstream closed the connection (an idle timeout, or a restart): whatever still waits
  // on it is retried, as a closed pooled TCP connection is.
  closeTls(conn, Failure::Network);
}

void Worker::onTlsReply(const std::shared_ptr<TlsConn>& conn) {
  const uint16_t i = ids_.lookup(dns::get16(conn->in.data()));
  // A reply after its attempt timed out (or to an ID never sent) finds no query: dropped.
  if (i == kNoSlot || i >= slots_.size() || !slots_[i].inUse || slots_[i].tls != conn.get()) {
    reject(Reject::Id);
    return;
  }
  if (const auto why = checkReply(conn->in, slots_[i].query->view)) {
    // A reply to this ID that does not answer the question: on a stream nothing can be trusted
    // after that, so the connection goes (as for TCP).
    reject(*why);
    onAttemptError(i, Failure::BadReply);
    closeTls(conn, Failure::BadReply);
    return;
  }
  onReply(i, conn->in, true);
}

// Closes TLS and DoH connections idle for longer than `expire` (nothing in flight), or older
// than `max_age`, as pooled TCP connections are.
void Worker::expireTls(Clock::time_point now) {
  for (auto& ch : channels_) {
    const auto& opt = shared_->stanzas[ch.stanza]->config.options;
    std::erase_if(ch.dohIdle, [&](const std::shared_ptr<DohConn>& conn) {
      const bool expired = now - conn->lastUsed > opt.expire ||
                           (opt.maxAge.count() > 0 && now - conn->created > opt.maxAge);
      if (expired) {
        boost::system::error_code ignored;
        conn->stream.lowest_layer().close(ignored);
      }
      return expired;
    });
    if (!ch.tls || ch.tls->inFlight != 0) continue;
    const auto& o = shared_->stanzas[ch.stanza]->config.options;
    if (now - ch.tls->lastUsed <= o.expire) continue;
    boost::system::error_code ignored;
    ch.tls->closed = true;
    ch.tls->stream.lowest_layer().close(ignored);
    ch.tls.reset();
  }
}

}  // namespace moat::plugins::forward
