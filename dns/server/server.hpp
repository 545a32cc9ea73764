// The DNS side of the process: N workers, and on each of them one UDP socket and one TCP
// acceptor per listen address (SO_REUSEPORT). Loops exist from construction so that plugins can
// open their own sockets on them before the server starts.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/query.hpp"
#include "dns/server/tcp.hpp"
#include "dns/server/udp.hpp"
#include "dns/server/worker.hpp"

namespace moat::dns::server {

struct ListenSpec {
  std::string address;  // "" = every address (IPv6 and IPv4)
  uint16_t port = 53;
  uint16_t id = 0;      // copied into Query::listener
  TcpLimits tcp;        // its TCP connections' timeouts and caps
  // Set: DNS over TLS, TCP only (no UDP socket), with this certificate. Null: UDP and TCP.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

struct ServerOptions {
  unsigned workers = 0;      // 0: one per CPU the process may run on
  size_t queriesPerWorker = 4096;
};

struct Totals {
  uint64_t received = 0, malformedDropped = 0, malformedFormErr = 0, notImplemented = 0,
           badVersion = 0, poolExhausted = 0, sendFailed = 0, tcpRejected = 0, tlsHandshakeFailed = 0;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();

  std::span<boost::asio::io_context* const> loops() const { return loops_; }
  unsigned workerCount() const { return static_cast<unsigned>(workers_.size()); }

  // Binds UDP and TCP (TCP alone for TLS) for every spec on every worker; false with `error` on the first failure.
  // Once started (a reload adding listeners), the new sockets start on their loops at once;
  // all or nothing: on failure none of `specs` stays bound.
  bool listen(const std::vector<ListenSpec>& specs, Dispatcher& dispatcher, std::string& error);
  // A reload dropped listener `id`: its sockets close on their own loops. The objects stay
  // until stop(), so a reply still in flight to them fails to send instead of touching freed
  // memory.
  void removeListener(uint16_t id);
  // A reload changed listener `id`'s TCP limits: connections it accepts from now on use them.
  void setTcpLimits(uint16_t id, TcpLimits limits);
  // A reload read listener `id`'s certificate again: connections it accepts from now on use it.
  void setTls(uint16_t id, std::shared_ptr<boost::asio::ssl::context> tls);
  void start();
  void stop();  // idempotent; joins the worker threads
  Totals totals() const;

 private:
  ServerOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<boost::asio::io_context*> loops_;
  std::vector<std::unique_ptr<UdpListener>> udp_;  // null for a TLS listener
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  std::vector<uint16_t> ids_;  // listener id of udp_[i] / tcp_[i]; worker i % workers
  bool running_ = false;
};

}  // namespace moat::dns::server
