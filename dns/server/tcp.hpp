// A worker's TCP acceptor for one listener and its connections: 2-byte length framing, several
// queries in flight per connection (replies in completion order), read, write and idle
// timeouts, an optional cap on queries per connection, and a cap on open connections per worker.
// Given a TLS context, the listener serves DNS over TLS (RFC 7858): the same connections, each
// starting with a handshake that must finish within the read timeout.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace boost::asio::ssl {
class context;
}

#include "dns/query.hpp"
#include "dns/server/worker.hpp"

namespace moat::dns::server {

// CoreDNS's defaults (its server.go), which the `timeouts` plugin changes per listener.
struct TcpLimits {
  std::chrono::milliseconds read{3000};    // from accept until the first query is in
  std::chrono::milliseconds write{5000};   // for one write of replies to complete
  std::chrono::milliseconds idle{10000};   // for each later query to arrive
  unsigned maxQueries = 0;                 // queries read per connection; 0: unlimited
  unsigned maxConnections = 256;           // per worker
};

class TcpListener {
 public:
  // `tls` null: plain DNS over TCP; otherwise DNS over TLS with that context.
  TcpListener(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId, TcpLimits limits,
              std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  bool bind(const boost::asio::ip::tcp::endpoint& endpoint, std::string& error);
  void start();
  void close();
  // Connections accepted from now on use `limits` (a reload); on the listener's own loop.
  void setLimits(TcpLimits limits) { limits_ = limits; }
  // Connections accepted from now on handshake with `tls` (a reload read the certificate again);
  // those open keep the context they started with. On the listener's own loop.
  void setTls(std::shared_ptr<boost::asio::ssl::context> tls) { tls_ = std::move(tls); }

 private:
  void acceptNext();

  Worker& worker_;
  Dispatcher& dispatcher_;
  uint16_t listenerId_;
  TcpLimits limits_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace moat::dns::server
