#include "dns/server/tcp.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <type_traits>

#include "dns/reply_fit.hpp"

namespace moat::dns::server {

namespace asio = boost::asio;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

namespace {
template <class Ep>
Endpoint toEndpoint(const Ep& ep) {
  Endpoint out;
  std::memcpy(&out.addr, ep.data(), ep.size());
  out.len = static_cast<socklen_t>(ep.size());
  return out;
}

using PlainStream = asio::ip::tcp::socket;
using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

// One client connection. The same code serves plain TCP and TLS: only the stream differs (a TLS
// stream reads and writes through OpenSSL) and a TLS connection starts with a handshake.
template <class Stream>
class TcpConnection final : public ReplySink, public std::enable_shared_from_this<TcpConnection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  TcpConnection(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId, asio::ip::tcp::socket socket,
                TcpLimits limits, std::shared_ptr<asio::ssl::context> tls);
  ~TcpConnection() override;
  void start();

  void sendReply(Query& q) override;
  void dropQuery(Query& q) override;
  bool sendAhead(Query& q, std::span<const uint8_t> message) override;

 private:
  using std::enable_shared_from_this<TcpConnection<Stream>>::shared_from_this;
  static Stream makeStream(asio::ip::tcp::socket&& socket, asio::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }
  void handshake();
  void readLength();
  void readBody(size_t length);
  void armDeadline();  // the wait that applies now: write, read (first query) or idle
  void flush();
  void finishQuery(Query& q);
  void shutdown();
  void closeWhenDone();  // after the client stopped sending: close once every reply is out

  Worker& worker_;
  Dispatcher& dispatcher_;
  uint16_t listenerId_;
  TcpLimits limits_;
  std::shared_ptr<asio::ssl::context> tls_;  // outlives the stream that uses it
  Stream stream_;
  asio::steady_timer deadline_;
  Endpoint client_;
  Endpoint local_;
  uint8_t lengthPrefix_[2] = {0, 0};
  Query* reading_ = nullptr;
  unsigned outstanding_ = 0;
  unsigned received_ = 0;  // queries read so far
  bool closed_ = false;
  bool writing_ = false;
  bool readDone_ = false;
  std::vector<uint8_t> pending_;   // framed replies waiting for the current write
  std::vector<uint8_t> inFlight_;  // the bytes being written now
  std::shared_ptr<TcpConnection> selfWhileBusy_;  // alive while a query is still out
};

}  // namespace

TcpListener::TcpListener(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId, TcpLimits limits,
                         std::shared_ptr<asio::ssl::context> tls)
    : worker_(worker), dispatcher_(dispatcher), listenerId_(listenerId), limits_(limits), tls_(std::move(tls)),
      acceptor_(worker.io()) {}

bool TcpListener::bind(const asio::ip::tcp::endpoint& endpoint, std::string& error) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    acceptor_.set_option(asio::ip::v6_only(false), ec);
  }
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(ReusePort(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "tcp " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) +
            ": " + ec.message();
    return false;
  }
  return true;
}

void TcpListener::start() { acceptNext(); }

void TcpListener::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void TcpListener::acceptNext() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (worker_.stats().tcpConnections.load(std::memory_order_relaxed) >= limits_.maxConnections) {
        bump(worker_.stats().tcpRejected);
        boost::system::error_code ignored;
        socket.close(ignored);
      } else if (tls_) {
        std::make_shared<TcpConnection<TlsStream>>(worker_, dispatcher_, listenerId_, std::move(socket), limits_, tls_)
            ->start();
      } else {
        std::make_shared<TcpConnection<PlainStream>>(worker_, dispatcher_, listenerId_, std::move(socket), limits_,
                                                     nullptr)
            ->start();
      }
    }
    acceptNext();
  });
}

template <class Stream>
TcpConnection<Stream>::TcpConnection(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId,
                                     asio::ip::tcp::socket socket, TcpLimits limits,
                                     std::shared_ptr<asio::ssl::context> tls)
    : worker_(worker), dispatcher_(dispatcher), listenerId_(listenerId), limits_(limits), tls_(std::move(tls)),
      stream_(makeStream(std::move(socket), tls_.get())), deadline_(worker.io()) {
  auto& lowest = stream_.lowest_layer();
  auto& open = worker_.stats().tcpConnections;
  open.store(open.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  boost::system::error_code ec;
  client_ = toEndpoint(lowest.remote_endpoint(ec));
  local_ = toEndpoint(lowest.local_endpoint(ec));
  lowest.set_option(asio::ip::tcp::no_delay(true), ec);
}

template <class Stream>
TcpConnection<Stream>::~TcpConnection() {
  if (reading_ != nullptr) worker_.pool().give(reading_);
  auto& open = worker_.stats().tcpConnections;
  open.store(open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

template <class Stream>
void TcpConnection<Stream>::start() {
  armDeadline();  // the handshake, too, must be over within the read timeout
  if constexpr (kTls) {
    handshake();
  } else {
    readLength();
  }
}

// A client that sends garbage fails here at once; one that stalls is closed by the deadline,
// which aborts the handshake. Either way the connection is counted and closed.
template <class Stream>
void TcpConnection<Stream>::handshake() {
  stream_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) {
      bump(self->worker_.stats().tlsHandshakeFailed);
      return self->shutdown();
    }
    if (self->closed_) return;
    self->readLength();
  });
}

// As miekg/dns (CoreDNS's server): the first query must arrive within `read`, each later one
// within `idle`, and each write of replies must finish within `write`.
template <class Stream>
void TcpConnection<Stream>::armDeadline() {
  deadline_.expires_after(writing_ ? limits_.write : received_ == 0 ? limits_.read : limits_.idle);
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or closed
    if (!self->writing_ && self->outstanding_ > 0) {
      self->armDeadline();  // a slow upstream is not an idle client
      return;
    }
    self->shutdown();  // an idle client, or one that stopped reading its replies
  });
}

template <class Stream>
void TcpConnection<Stream>::readLength() {
  asio::async_read(stream_, asio::buffer(lengthPrefix_),
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                     if (ec) {  // EOF or error: answer what is still out, then close
                       if (n > 0) bump(self->worker_.stats().malformedDropped);  // half a prefix
                       self->readDone_ = true;
                       return self->closeWhenDone();
                     }
                     size_t length = get16(self->lengthPrefix_);
                     if (length < kHeaderSize || length > kMaxRequest) {
                       bump(self->worker_.stats().malformedDropped);
                       return self->shutdown();  // cannot resynchronise the stream
                     }
                     self->readBody(length);
                   });
}

template <class Stream>
void TcpConnection<Stream>::readBody(size_t length) {
  reading_ = worker_.pool().take();
  if (reading_ == nullptr) {
    bump(worker_.stats().poolExhausted);
    return shutdown();
  }
  asio::async_read(stream_, asio::buffer(reading_->request.data(), length),
                   [self = shared_from_this(), length](const boost::system::error_code& ec, size_t) {
                     if (ec) {
                       // The stream ended (or the idle timeout closed it) inside a message: a
                       // length prefix promising more than was sent. Nothing to answer.
                       bump(self->worker_.stats().malformedDropped);
                       return self->shutdown();
                     }
                     Query& q = *self->reading_;
                     self->reading_ = nullptr;
                     q.requestLen = static_cast<uint16_t>(length);
                     q.proto = Proto::Tcp;
                     q.start = std::chrono::steady_clock::now();
                     q.client = self->client_;
                     q.local = self->local_;
                     q.sink = self.get();
                     q.listener = self->listenerId_;
                     self->outstanding_++;
                     self->received_++;
                     self->selfWhileBusy_ = self;
                     if (!self->writing_) self->armDeadline();
                     if (self->limits_.maxQueries != 0 && self->received_ >= self->limits_.maxQueries) {
                       self->readDone_ = true;  // `maxtcpqueries`: close once these are answered
                     } else {
                       self->readLength();  // pipelining: the next query may arrive meanwhile
                     }
                     self->worker_.accept(q, self->dispatcher_);
                   });
}

template <class Stream>
void TcpConnection<Stream>::finishQuery(Query& q) {
  worker_.pool().give(&q);
  if (--outstanding_ == 0) {
    auto keep = std::move(selfWhileBusy_);  // may release the last reference after this call
    if (closed_ && !writing_) keep.reset();
  }
}

template <class Stream>
void TcpConnection<Stream>::sendReply(Query& q) {
  if (!closed_) {
    if (!q.finalized) finalizeReply(q.reply, q.view, Proto::Tcp);
    uint8_t prefix[2];
    put16(prefix, static_cast<uint16_t>(q.reply.size()));
    pending_.insert(pending_.end(), prefix, prefix + 2);
    pending_.insert(pending_.end(), q.reply.begin(), q.reply.end());
  }
  auto self = shared_from_this();
  finishQuery(q);
  flush();
  closeWhenDone();
}

// Queued behind whatever is already waiting, so a transfer's messages leave in order and before
// its final reply. Nothing bounds the queue here: the caller decides how much it hands over.
template <class Stream>
bool TcpConnection<Stream>::sendAhead(Query& q, std::span<const uint8_t> message) {
  (void)q;
  if (closed_ || message.size() < kHeaderSize || message.size() > kMaxMessage) return false;
  uint8_t prefix[2];
  put16(prefix, static_cast<uint16_t>(message.size()));
  pending_.insert(pending_.end(), prefix, prefix + 2);
  pending_.insert(pending_.end(), message.begin(), message.end());
  flush();
  return true;
}

template <class Stream>
void TcpConnection<Stream>::dropQuery(Query& q) {
  auto self = shared_from_this();
  finishQuery(q);
  closeWhenDone();
}

template <class Stream>
void TcpConnection<Stream>::flush() {
  if (writing_ || closed_ || pending_.empty()) return;
  writing_ = true;
  armDeadline();
  inFlight_.swap(pending_);
  pending_.clear();
  asio::async_write(stream_, asio::buffer(inFlight_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      self->inFlight_.clear();
                      if (ec) return self->shutdown();
                      self->flush();
                      if (!self->writing_ && !self->closed_) self->armDeadline();
                      self->closeWhenDone();
                    });
}

template <class Stream>
void TcpConnection<Stream>::closeWhenDone() {
  if (readDone_ && outstanding_ == 0 && !writing_ && pending_.empty()) shutdown();
}

template <class Stream>
void TcpConnection<Stream>::shutdown() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  deadline_.cancel();
  // No TLS close_notify: waiting for the peer's would need another timeout, and a DNS client
  // knows where each message ends.
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.lowest_layer().close(ec);
}

}  // namespace moat::dns::server
