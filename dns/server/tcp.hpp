// A worker's TCP acceptor for one listener and its connections: 2-byte length framing, several
// queries in flight per connection (replies in completion order), read, write and idle
// timeouts, an optional cap on queries per connection, and a cap on open connections per worker.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

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
  TcpListener(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId, TcpLimits limits);
  bool bind(const boost::asio::ip::tcp::endpoint& endpoint, std::string& error);
  void start();
  void close();
  // Connections accepted from now on use `limits` (a reload); on the listener's own loop.
  void setLimits(TcpLimits limits) { limits_ = limits; }

 private:
  void acceptNext();

  Worker& worker_;
  Dispatcher& dispatcher_;
  uint16_t listenerId_;
  TcpLimits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

class TcpConnection final : public ReplySink, public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(Worker& worker, Dispatcher& dispatcher, uint16_t listenerId,
                boost::asio::ip::tcp::socket socket, TcpLimits limits);
  ~TcpConnection() override;
  void start();

  void sendReply(Query& q) override;
  void dropQuery(Query& q) override;
  bool sendAhead(Query& q, std::span<const uint8_t> message) override;

 private:
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
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
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

}  // namespace moat::dns::server
