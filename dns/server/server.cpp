#include "dns/server/server.hpp"

#include <boost/asio/post.hpp>

namespace moat::dns::server {

namespace asio = boost::asio;

Server::Server(ServerOptions options) : options_(options) {
  unsigned n = options_.workers != 0 ? options_.workers : cpusAvailable();
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, options_.queriesPerWorker));
    loops_.push_back(&workers_.back()->io());
  }
}

Server::~Server() { stop(); }

bool Server::listen(const std::vector<ListenSpec>& specs, Dispatcher& dispatcher, std::string& error) {
  std::vector<std::unique_ptr<UdpListener>> udps;
  std::vector<std::unique_ptr<TcpListener>> tcps;
  std::vector<uint16_t> ids;
  for (const ListenSpec& spec : specs) {
    boost::system::error_code ec;
    asio::ip::address address = spec.address.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                                     : asio::ip::make_address(spec.address, ec);
    if (ec) {
      error = "bad listen address '" + spec.address + "'";
      return false;
    }
    for (auto& worker : workers_) {
      std::unique_ptr<UdpListener> udp;
      if (!spec.tls) {
        udp = std::make_unique<UdpListener>(*worker, dispatcher, spec.id);
        if (!udp->bind({address, spec.port}, error)) {
          // "Every address" on a host without IPv6 falls back to every IPv4 address.
          if (!spec.address.empty() || !address.is_v6()) return false;
          address = asio::ip::address_v4::any();
          udp = std::make_unique<UdpListener>(*worker, dispatcher, spec.id);
          if (!udp->bind({address, spec.port}, error)) return false;
        }
      }
      auto tcp = std::make_unique<TcpListener>(*worker, dispatcher, spec.id, spec.tcp, spec.tls);
      if (!tcp->bind({address, spec.port}, error)) {
        if (!spec.tls || !spec.address.empty() || !address.is_v6()) return false;
        address = asio::ip::address_v4::any();  // as above, for a listener without UDP
        tcp = std::make_unique<TcpListener>(*worker, dispatcher, spec.id, spec.tcp, spec.tls);
        if (!tcp->bind({address, spec.port}, error)) return false;
      }
      udps.push_back(std::move(udp));
      tcps.push_back(std::move(tcp));
      ids.push_back(spec.id);
    }
  }
  // Every socket bound: keep them (and start them when the loops already run).
  for (size_t i = 0; i < udps.size(); ++i) {
    if (running_) {
      UdpListener* u = udps[i].get();
      TcpListener* t = tcps[i].get();
      asio::post(*loops_[i % workers_.size()], [u, t] {
        if (u != nullptr) u->start();
        t->start();
      });
    }
    udp_.push_back(std::move(udps[i]));
    tcp_.push_back(std::move(tcps[i]));
    ids_.push_back(ids[i]);
  }
  return true;
}

void Server::removeListener(uint16_t id) {
  for (size_t i = 0; i < udp_.size(); ++i) {
    if (ids_[i] != id) continue;
    UdpListener* u = udp_[i].get();
    TcpListener* t = tcp_[i].get();
    if (running_) {
      asio::post(*loops_[i % workers_.size()], [u, t] {
        if (u != nullptr) u->close();
        t->close();
      });
    } else {
      if (u != nullptr) u->close();
      t->close();
    }
  }
}

void Server::setTcpLimits(uint16_t id, TcpLimits limits) {
  for (size_t i = 0; i < tcp_.size(); ++i) {
    if (ids_[i] != id) continue;
    TcpListener* t = tcp_[i].get();
    if (running_) {
      asio::post(*loops_[i % workers_.size()], [t, limits] { t->setLimits(limits); });
    } else {
      t->setLimits(limits);
    }
  }
}

void Server::setTls(uint16_t id, std::shared_ptr<asio::ssl::context> tls) {
  for (size_t i = 0; i < tcp_.size(); ++i) {
    if (ids_[i] != id) continue;
    TcpListener* t = tcp_[i].get();
    if (running_) {
      asio::post(*loops_[i % workers_.size()], [t, tls] { t->setTls(tls); });
    } else {
      t->setTls(tls);
    }
  }
}

void Server::start() {
  // Listeners start on their own loop's thread: Asio objects are used by one thread only.
  for (size_t i = 0; i < udp_.size(); ++i) {
    UdpListener* u = udp_[i].get();
    TcpListener* t = tcp_[i].get();
    asio::post(*loops_[i % workers_.size()], [u, t] {
      if (u != nullptr) u->start();
      t->start();
    });
  }
  for (auto& w : workers_) w->startThread();
  running_ = true;
}

void Server::stop() {
  if (!running_) return;
  running_ = false;
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  for (auto& u : udp_) {
    if (u) u->close();
  }
  for (auto& t : tcp_) t->close();
}

Totals Server::totals() const {
  Totals t;
  for (const auto& w : workers_) {
    const WorkerStats& s = w->stats();
    t.received += s.received.load(std::memory_order_relaxed);
    t.malformedDropped += s.malformedDropped.load(std::memory_order_relaxed);
    t.malformedFormErr += s.malformedFormErr.load(std::memory_order_relaxed);
    t.notImplemented += s.notImplemented.load(std::memory_order_relaxed);
    t.badVersion += s.badVersion.load(std::memory_order_relaxed);
    t.poolExhausted += s.poolExhausted.load(std::memory_order_relaxed);
    t.sendFailed += s.sendFailed.load(std::memory_order_relaxed);
    t.tcpRejected += s.tcpRejected.load(std::memory_order_relaxed);
    t.tlsHandshakeFailed += s.tlsHandshakeFailed.load(std::memory_order_relaxed);
  }
  return t;
}

}  // namespace moat::dns::server
