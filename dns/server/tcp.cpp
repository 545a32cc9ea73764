#include "dns/server/tcp.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

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
}  // namespace

TcpListener::TcpListener(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId, TcpLimits limits)
    : worker_(worker), dispatcher_(dispatcher), listenerId_(listenerId), limits_(limits),
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
      } else {
        std::make_shared<TcpConnection>(worker_, dispatcher_, listenerId_, std::move(socket), limits_)
            ->start();
      }
    }
    acceptNext();
  });
}

TcpConnection::TcpConnection(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId,
                             asio::ip::tcp::socket socket, TcpLimits limits)
    : worker_(worker), dispatcher_(dispatcher), listenerId_(listenerId), limits_(limits),
      socket_(std::move(socket)), deadline_(worker.io()) {
  auto& open = worker_.stats().tcpConnections;
  open.store(open.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  boost::system::error_code ec;
  client_ = toEndpoint(socket_.remote_endpoint(ec));
  local_ = toEndpoint(socket_.local_endpoint(ec));
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

TcpConnection::~TcpConnection() {
  if (reading_ != nullptr) worker_.pool().give(reading_);
  auto& open = worker_.stats().tcpConnections;
  open.store(open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void TcpConnection::start() {
  armDeadline();
  readLength();
}

// As miekg/dns (CoreDNS's server): the first query must arrive within `read`, each later one
// within `idle`, and each write of replies must finish within `write`.
void TcpConnection::armDeadline() {
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

void TcpConnection::readLength() {
  asio::async_read(socket_, asio::buffer(lengthPrefix_),
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

void TcpConnection::readBody(size_t length) {
  reading_ = worker_.pool().take();
  if (reading_ == nullptr) {
    bump(worker_.stats().poolExhausted);
    return shutdown();
  }
  asio::async_read(socket_, asio::buffer(reading_->request.data(), length),
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

void TcpConnection::finishQuery(Query& q) {
  worker_.pool().give(&q);
  if (--outstanding_ == 0) {
    auto keep = std::move(selfWhileBusy_);  // may release the last reference after this call
    if (closed_ && !writing_) keep.reset();
  }
}

void TcpConnection::sendReply(Query& q) {
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
bool TcpConnection::sendAhead(Query& q, std::span<const uint8_t> message) {
  (void)q;
  if (closed_ || message.size() < kHeaderSize || message.size() > kMaxMessage) return false;
  uint8_t prefix[2];
  put16(prefix, static_cast<uint16_t>(message.size()));
  pending_.insert(pending_.end(), prefix, prefix + 2);
  pending_.insert(pending_.end(), message.begin(), message.end());
  flush();
  return true;
}

void TcpConnection::dropQuery(Query& q) {
  auto self = shared_from_this();
  finishQuery(q);
  closeWhenDone();
}

void TcpConnection::flush() {
  if (writing_ || closed_ || pending_.empty()) return;
  writing_ = true;
  armDeadline();
  inFlight_.swap(pending_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(inFlight_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->writing_ = false;
                      self->inFlight_.clear();
                      if (ec) return self->shutdown();
                      self->flush();
                      if (!self->writing_ && !self->closed_) self->armDeadline();
                      self->closeWhenDone();
                    });
}

void TcpConnection::closeWhenDone() {
  if (readDone_ && outstanding_ == 0 && !writing_ && pending_.empty()) shutdown();
}

void TcpConnection::shutdown() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  deadline_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace moat::dns::server
