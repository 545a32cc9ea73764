// The query path of one worker: a pool of outgoing UDP sockets on random ports (udp_pool.hpp)
// read through one wait, a pool of TCP connections per upstream, the slot table, and a sweep
// timer for timeouts. Everything here runs on the worker's own event loop; nothing is shared
// with other workers except the atomics in Shared.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "dns/counter.hpp"
#include "dns/secure_random.hpp"
#include "plugins/forward/inflight.hpp"
#include "plugins/forward/metrics.hpp"
#include "plugins/forward/reply_check.hpp"
#include "plugins/forward/shared.hpp"
#include "plugins/forward/udp_pool.hpp"
#include "plugins/handler.hpp"

namespace moat::plugins::forward {

struct TcpConn {
  explicit TcpConn(boost::asio::io_context& loop) : socket(loop) {}
  boost::asio::ip::tcp::socket socket;
  std::vector<uint8_t> out;         // framed request
  std::vector<uint8_t> in;          // reply body
  std::array<uint8_t, 2> length{};  // reply length prefix
  Clock::time_point created{};
  Clock::time_point lastUsed{};
};

// A DNS-over-TLS connection to one upstream, one per worker and upstream, shared by every query
// in flight to it: queries are written as they come (RFC 7766 pipelining) and replies, in any
// order, are matched to their query by ID.
struct TlsConn {
  TlsConn(boost::asio::io_context& loop, boost::asio::ssl::context& ctx) : stream(loop, ctx) {}
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream;
  std::vector<uint8_t> queued;   // framed queries waiting for the next write
  std::vector<uint8_t> writing;  // framed queries of the write in flight
  std::vector<uint8_t> in;       // reply body
  std::array<uint8_t, 2> length{};
  Clock::time_point created{};
  Clock::time_point lastUsed{};  // a query written or a reply read
  Clock::time_point lastRead{};  // a reply read: a timeout with nothing read since is a dead link
  uint32_t inFlight = 0;         // attempts holding an ID on this connection
  bool ready = false;            // handshake done
  bool writeBusy = false;
  bool closed = false;
  bool sessionSaved = false;
};

// A DNS-over-HTTPS connection (HTTP/1.1 over TLS, kept alive): one exchange at a time, pooled
// per worker and upstream while idle, as TCP connections are.
struct DohConn {
  DohConn(boost::asio::io_context& loop, boost::asio::ssl::context& ctx) : stream(loop, ctx) {}
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream;
  std::string request;          // the request as written (headers and body)
  std::vector<uint8_t> reply;   // the response body
  boost::beast::flat_buffer buffer;  // bytes read from the stream, not yet parsed
  Clock::time_point created{};
  Clock::time_point lastUsed{};
  bool sessionSaved = false;
};

// Written only by the worker's thread (dns::bump), readable from any thread (/metrics:
// Forward::collect in metrics.cpp).
struct WorkerStats {
  std::atomic<uint64_t> forwarded{0};  // queries that entered a stanza
  std::atomic<uint64_t> udpSent{0};
  std::atomic<uint64_t> tcpSent{0};
  std::atomic<uint64_t> replies{0};  // accepted upstream replies
  // Replies dropped by the checks, by reason (moat_forward_replies_rejected_total{reason}).
  std::array<std::atomic<uint64_t>, kRejectReasons> rejected{};
  // UDP attempts moved to TCP because a reply for their question failed the checks.
  std::atomic<uint64_t> spoofingSuspected{0};
  std::atomic<uint64_t> socketsUnavailable{0};  // sends with no UDP socket to leave from
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> failedAttempts{0};  // every failed attempt, timeouts included
  std::atomic<uint64_t> servfails{0};       // SERVFAIL after every attempt failed
  std::atomic<uint64_t> refused{0};         // max_concurrent or slot table full
  std::atomic<uint64_t> maxConcurrentRejects{0};  // coredns_forward_max_concurrent_rejects_total
  std::atomic<uint64_t> healthcheckBroken{0};     // coredns_forward_healthcheck_broken_total
  std::atomic<uint64_t> tcpConnects{0};     // new TCP connections (per upstream: ChannelStats)
  std::atomic<uint64_t> tcpReused{0};       // pooled TCP connections reused (ditto)
  std::atomic<uint64_t> tlsSent{0};         // queries written to a TLS connection
  std::atomic<uint64_t> tlsHandshakes{0};   // TLS handshakes completed (moat_forward_tls_handshakes_total)
  std::atomic<uint64_t> tlsResumed{0};      // of which resumed a session (ditto{resumed="true"})
  std::atomic<uint64_t> tlsFailedHandshakes{0};
  std::atomic<uint64_t> keptIn{0};          // queries the egress check kept from a stanza (moat_forward_egress_kept_total)
  std::atomic<uint64_t> sendsStopped{0};    // sends the egress check stopped at the socket (0 unless a bug)
};

class Worker : public std::enable_shared_from_this<Worker> {
 public:
  // Opens the upstream sockets; safe from any thread. Receive loops start in start().
  Worker(boost::asio::io_context& loop, std::shared_ptr<Shared> shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // On the loop: arms the receive loops.
  void start();
  // On the loop, or from any thread once nobody runs it: closes everything. Pending queries
  // are abandoned, never resumed (the handler that owned them is gone).
  void shutdown();

  // The handler's entry: the first stanza from `first` on that matches the query takes it.
  // Next when none does; Pending when an attempt is in flight; Answered when the reply was
  // decided at once (REFUSED for max_concurrent, SERVFAIL when no attempt could start).
  Verdict dispatchFrom(dns::Query& q, size_t first);

  boost::asio::io_context& loop() { return loop_; }
  const WorkerStats& stats() const { return stats_; }
  // Counters of channel `c` (stanza.firstChannel + upstream index).
  const ChannelStats& channelStats(uint32_t c) const { return channelStats_[c]; }
  size_t inFlight() const { return slots_.inUse(); }
  size_t idleTcpConnections() const { return idleConns_; }
  size_t openTlsConnections() const;
  size_t openUdpSockets() const { return pool_.openCount(); }

 private:
  struct SessionFree {
    void operator()(ssl_session_st* s) const;
  };
  struct Channel {
    std::vector<std::shared_ptr<TcpConn>> idle;  // pooled TCP connections, oldest first
    std::shared_ptr<TlsConn> tls;                // the TLS connection queries go out on
    std::vector<std::shared_ptr<DohConn>> dohIdle;  // pooled DoH connections, oldest first
    std::unique_ptr<ssl_session_st, SessionFree> session;  // to resume the next TLS handshake
    uint32_t stanza = 0;
    uint32_t upstream = 0;
  };

  Verdict begin(dns::Query& q, uint32_t stanza);
  void fillOrder(Slot& slot, const StanzaState& st);
  // Starts the next attempt. nullopt: one is in flight. Otherwise the query is finished (slot
  // released, reply written) with that verdict; the caller resumes or returns it.
  std::optional<Verdict> step(uint16_t i);
  std::optional<Failure> sendUdp(uint16_t i);
  void startTcp(uint16_t i);
  std::optional<Failure> sendTls(uint16_t i);
  void flushTls(const std::shared_ptr<TlsConn>& conn);
  void closeTls(const std::shared_ptr<TlsConn>& conn, Failure f);
  boost::asio::awaitable<void> tlsSession(std::shared_ptr<Worker> self, std::shared_ptr<TlsConn> conn,
                                          uint32_t c);
  void onTlsReply(const std::shared_ptr<TlsConn>& conn);
  void expireTls(Clock::time_point now);
  void startDoh(uint16_t i);
  boost::asio::awaitable<void> dohExchange(std::shared_ptr<Worker> self, uint16_t i, uint32_t gen,
                                           uint32_t c);
  // A handshake on a fresh TLS stream to channel `c`'s upstream: name check, session resumed
  // when one is kept, counted. false (reason logged once) when it fails.
  boost::asio::awaitable<bool> handshake(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream,
                                         uint32_t c, boost::system::error_code& ec);
  void keepSession(uint32_t c, ssl_st* ssl);
  bool noteFailure(uint16_t i, Failure f);
  std::optional<Verdict> fail(uint16_t i);
  // Ends the current attempt: its ID, socket or connection let go; `retireSocket` also takes
  // its UDP socket out of use (after a timeout: a late reply must find no query to match).
  void endAttempt(uint16_t i, bool retireSocket = false);
  void release(uint16_t i);
  void finish(dns::Query& q, std::optional<Verdict> v);

  // Async completions.
  void onAttemptError(uint16_t i, Failure f);
  void onReply(uint16_t i, std::span<const uint8_t> reply, bool viaTcp);
  void onPoolReadable(boost::system::error_code ec);
  void drain(uint16_t socket);
  void onDatagram(uint16_t socket, const sockaddr_storage& from, socklen_t fromLen,
                  std::span<const uint8_t> datagram);
  void reject(Reject why) { dns::bump(stats_.rejected[static_cast<size_t>(why)]); }
  void moveToTcp(uint16_t i);
  void failSocket(uint16_t socket, Failure f);
  void onSweep(boost::system::error_code ec);

  void waitPool();
  void armSweep();
  boost::asio::awaitable<void> tcpExchange(std::shared_ptr<Worker> self, uint16_t i, uint32_t gen,
                                           uint32_t c);
  std::shared_ptr<TcpConn> takeIdle(uint32_t c, Clock::time_point now);
  void putIdle(uint32_t c, std::shared_ptr<TcpConn> conn);
  void expireIdle(Clock::time_point now);

  const StanzaState& stanza(const Slot& s) const { return *shared_->stanzas[s.stanza]; }
  const UpstreamState& upstream(const Slot& s) const {
    return *shared_->stanzas[s.stanza]->upstreams[s.current];
  }

  boost::asio::io_context& loop_;
  std::shared_ptr<Shared> shared_;
  std::vector<Channel> channels_;  // fixed after construction: references stay valid
  std::unique_ptr<ChannelStats[]> channelStats_;  // one per channel
  SlotTable slots_;
  IdTable ids_;  // outgoing UDP ID -> slot, over every socket of the pool
  dns::SecureRandom random_;
  UdpPool pool_;
  boost::asio::posix::stream_descriptor poolEvents_;  // the pool's epoll set, as the loop sees it
  bool poolWaiting_ = false;
  std::vector<uint8_t> out_;  // a query as sent when its name's case is randomized
  std::vector<uint32_t> robin_;  // round_robin position per stanza (per worker: no contention)
  boost::asio::steady_timer sweep_;
  bool sweepArmed_ = false;
  bool stopped_ = false;
  size_t idleConns_ = 0;
  std::vector<uint16_t> scratch_;      // slots waiting on a socket, collected before acting
  std::array<uint8_t, 65536> recv_{};  // one datagram at a time, shared by every socket
  WorkerStats stats_;
};

}  // namespace moat::plugins::forward
