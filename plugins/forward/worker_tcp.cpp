// Forwarding over TCP: one coroutine per exchange (TCP is the rare path, so a frame per query is
// fine there), connections pooled per worker and upstream, one query at a time per connection,
// idle ones closed after `expire` (and after `max_age` of life, when set).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "plugins/forward/worker.hpp"

namespace moat::plugins::forward {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// The peer closed a pooled connection while it sat idle: retry on a fresh one, as CoreDNS does
// with ErrCachedClosed, instead of failing the attempt.
bool closedByPeer(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe;
}

Failure failureOf(const boost::system::error_code& ec) {
  return ec == asio::error::connection_refused ? Failure::Refused : Failure::Network;
}

}  // namespace

void Worker::startTcp(uint16_t i) {
  Slot& slot = slots_[i];
  slot.overTcp = true;
  slot.attemptStart = Clock::now();
  slot.attemptDeadline = slot.attemptStart + stanza(slot).config.options.readTimeout;
  armSweep();
  asio::co_spawn(loop_, tcpExchange(shared_from_this(), i, slot.generation, slot.channel),
                 asio::detached);
}

asio::awaitable<void> Worker::tcpExchange(std::shared_ptr<Worker> self, uint16_t i, uint32_t gen,
                                          uint32_t c) {
  // Still the attempt this coroutine was started for? A timeout or shutdown bumps the
  // generation (and closes the socket), after which nothing here may touch the slot.
  auto current = [this, i, gen] {
    return !stopped_ && slots_[i].inUse && slots_[i].generation == gen;
  };
  // co_spawn runs the coroutine inline up to its first suspension when called on the loop; a
  // synchronous failure would then resume the query inside onQuery. Always suspend first.
  co_await asio::post(loop_, asio::use_awaitable);
  if (!current()) co_return;
  const auto& st = *shared_->stanzas[channels_[c].stanza];
  const auto& to = st.upstreams[channels_[c].upstream]->addr;
  const auto& o = st.config.options;
  // The egress check before any connection, as for UDP (DESIGN.md §4).
  if (shared_->keptIn(channels_[c].stanza, *slots_[i].query) != nullptr) {
    dns::bump(stats_.sendsStopped);
    onAttemptError(i, Failure::Network);
    co_return;
  }
  for (int round = 0; round < 2; ++round) {
    // The second round follows a pooled connection the peer had closed: dial afresh.
    auto conn = round == 0 ? takeIdle(c, Clock::now()) : nullptr;
    const bool pooled = conn != nullptr;
    if (pooled) {
      dns::bump(stats_.tcpReused);
      dns::bump(channelStats_[c].tcpHits);  // coredns_proxy_conn_cache_hits_total{proto="tcp"}
    } else {
      dns::bump(stats_.tcpConnects);
      dns::bump(channelStats_[c].tcpMisses);  // coredns_proxy_conn_cache_misses_total{proto="tcp"}
      conn = std::make_shared<TcpConn>(loop_);
    }
    slots_[i].tcp = conn;
    if (!pooled) {
      tcp::endpoint ep(to.address, to.port);
      boost::system::error_code ec;
      conn->socket.open(ep.protocol(), ec);
      if (!ec && o.sourceAddress) conn->socket.bind(tcp::endpoint(*o.sourceAddress, 0), ec);
      if (!ec) std::tie(ec) = co_await conn->socket.async_connect(ep, kTuple);
      if (!current()) co_return;
      if (ec) {
        onAttemptError(i, failureOf(ec));
        co_return;
      }
      conn->socket.set_option(tcp::no_delay(true), ec);
      conn->created = Clock::now();
    }

    // Frame the request with a fresh ID. The connection owns the bytes, so an aborted write
    // never reads a query that has since been released.
    const dns::Query& q = *slots_[i].query;
    conn->out.resize(2u + q.requestLen);
    dns::put16(conn->out.data(), q.requestLen);
    std::copy_n(q.request.data(), q.requestLen, conn->out.data() + 2);
    dns::put16(conn->out.data() + 2, random_.u16());
    auto [wec, wn] = co_await asio::async_write(conn->socket, asio::buffer(conn->out), kTuple);
    if (!current()) co_return;
    if (wec) {
      slots_[i].tcp.reset();
      if (pooled && closedByPeer(wec)) continue;
      onAttemptError(i, failureOf(wec));
      co_return;
    }
    dns::bump(stats_.tcpSent);

    auto [lec, ln] = co_await asio::async_read(conn->socket, asio::buffer(conn->length), kTuple);
    if (!current()) co_return;
    if (lec) {
      slots_[i].tcp.reset();
      if (pooled && closedByPeer(lec)) continue;
      onAttemptError(i, failureOf(lec));
      co_return;
    }
    const uint16_t length = dns::get16(conn->length.data());
    if (length < dns::kHeaderSize) {
      reject(Reject::Malformed);
      onAttemptError(i, Failure::BadReply);
      co_return;
    }
    conn->in.resize(length);
    auto [bec, bn] = co_await asio::async_read(conn->socket, asio::buffer(conn->in), kTuple);
    if (!current()) co_return;
    if (bec) {
      onAttemptError(i, failureOf(bec));
      co_return;
    }
    const auto why = dns::get16(conn->in.data()) != dns::get16(conn->out.data() + 2)
                         ? std::optional<Reject>(Reject::Id)
                         : checkReply(conn->in, slots_[i].query->view);
    if (why) {
      // On a stream a wrong answer cannot be skipped safely: drop the connection.
      reject(*why);
      onAttemptError(i, Failure::BadReply);
      co_return;
    }
    slots_[i].tcp.reset();
    conn->lastUsed = Clock::now();
    // Pool the connection only after the reply was consumed: onReply may start another
    // exchange at once, which must not reuse these buffers under it.
    onReply(i, conn->in, true);
    if (!stopped_) putIdle(c, std::move(conn));
    co_return;
  }
  // Not reached: only a pooled first round may `continue`, and the second round dials.
  if (current()) onAttemptError(i, Failure::Network);
}

std::shared_ptr<TcpConn> Worker::takeIdle(uint32_t c, Clock::time_point now) {
  auto& idle = channels_[c].idle;
  const auto& o = shared_->stanzas[channels_[c].stanza]->config.options;
  // Oldest first (as CoreDNS), which spreads load over source ports.
  while (!idle.empty()) {
    auto conn = std::move(idle.front());
    idle.erase(idle.begin());
    --idleConns_;
    const bool expired =
        now - conn->lastUsed > o.expire || (o.maxAge.count() > 0 && now - conn->created > o.maxAge);
    if (!expired && conn->socket.is_open()) return conn;
    boost::system::error_code ignored;
    conn->socket.close(ignored);
  }
  return nullptr;
}

void Worker::putIdle(uint32_t c, std::shared_ptr<TcpConn> conn) {
  auto& idle = channels_[c].idle;
  const auto& o = shared_->stanzas[channels_[c].stanza]->config.options;
  if (o.expire.count() == 0 ||
      (o.maxIdleConns > 0 && idle.size() >= static_cast<size_t>(o.maxIdleConns))) {
    boost::system::error_code ignored;
    conn->socket.close(ignored);
    return;
  }
  idle.push_back(std::move(conn));
  ++idleConns_;
  armSweep();  // so expired connections get closed even when no query comes
}

void Worker::expireIdle(Clock::time_point now) {
  if (idleConns_ == 0) return;
  for (auto& ch : channels_) {
    const auto& o = shared_->stanzas[ch.stanza]->config.options;
    std::erase_if(ch.idle, [&](const std::shared_ptr<TcpConn>& conn) {
      const bool expired = now - conn->lastUsed > o.expire ||
                           (o.maxAge.count() > 0 && now - conn->created > o.maxAge);
      if (!expired) return false;
      boost::system::error_code ignored;
      conn->socket.close(ignored);
      --idleConns_;
      return true;
    });
  }
}

}  // namespace moat::plugins::forward
