#include "dns/server/http.hpp"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace moat::dns::server {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::experimental::awaitable_operators::operator||;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Results as values (error_code first), never exceptions, on every socket operation.
constexpr auto kAsValues = asio::as_tuple(asio::use_awaitable);

// One bound address and the paths it serves.
struct Site {
  Site(asio::io_context& io, std::string addr) : address(std::move(addr)), acceptor(io) {}
  std::string address;
  tcp::acceptor acceptor;
  std::map<std::string, std::function<HttpResponse()>, std::less<>> routes;
};

Response textResponse(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(body);
  return res;
}

Response answer(const Site& site, const Request& req) {
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));  // Go routes on the path alone
  auto it = site.routes.find(target);
  bool readOnly = req.method() == http::verb::get || req.method() == http::verb::head;
  Response res;
  if (it == site.routes.end() || !it->second) {
    // Go's default answer, which probes and scrapers may already match on.
    res = textResponse(http::status::not_found, "404 page not found\n");
  } else if (!readOnly) {
    res = textResponse(http::status::method_not_allowed, "405 method not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
  } else {
    HttpResponse r = it->second();
    res.result(r.status);
    res.set(http::field::content_type, r.contentType);
    res.body() = std::move(r.body);
  }
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (req.method() == http::verb::head) {
    // Same headers as GET, including the length the body would have had.
    size_t length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

// The answer to a request that could not be read whole, or nothing: close without a word.
std::optional<Response> readFailure(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) {
    return textResponse(http::status::request_header_fields_too_large, "431 Request Header Fields Too Large");
  }
  if (ec == http::error::body_limit) {
    return textResponse(http::status::payload_too_large, "413 Request Entity Too Large");
  }
  bool parseError = ec.category() == http::make_error_code(http::error::bad_target).category();
  if (parseError && ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return textResponse(http::status::bad_request, "400 Bad Request");
  }
  return std::nullopt;
}

void logFailure(std::string_view what, const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("http: {}: {}", what, x.what());
  } catch (...) {
    spdlog::error("http: {}: unknown failure", what);
  }
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(HttpLimits l) : limits(l) {}

  bool bind(Site& site, std::string& error);
  asio::awaitable<void> acceptLoop(Site& site);
  asio::awaitable<void> serve(const Site& site, tcp::socket socket);

  HttpLimits limits;
  asio::io_context io{1};  // declared before the sockets that use it, so destroyed after them
  std::vector<std::unique_ptr<Site>> sites;
  std::thread thread;
  unsigned open = 0;  // connections being served; only the server thread touches it
  std::set<tcp::socket*> connections;  // so that stop() can close them
  bool running = false;
};

bool splitHostPort(std::string_view address, std::string& host, uint16_t& port) {
  std::string_view hostText, portText;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') return false;
    hostText = address.substr(1, close - 1);
    portText = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return false;
    hostText = address.substr(0, colon);
    // An IPv6 address needs brackets, as in Go ("too many colons").
    if (hostText.find_first_of(":[]") != std::string_view::npos) return false;
    portText = address.substr(colon + 1);
  }
  if (portText.empty() || portText.size() > 5) return false;
  unsigned value = 0;
  for (char c : portText) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  host.assign(hostText);
  port = static_cast<uint16_t>(value);
  return true;
}

bool HttpServer::Impl::bind(Site& site, std::string& error) {
  std::string host;
  uint16_t port = 0;
  if (!splitHostPort(site.address, host, port)) {
    error = site.address + ": expected host:port";
    return false;
  }
  boost::system::error_code ec;
  std::vector<tcp::endpoint> candidates;
  if (host.empty()) {
    // Every address: dual-stack IPv6 where the host has it, else IPv4 (Go does the same).
    candidates = {tcp::endpoint(tcp::v6(), port), tcp::endpoint(tcp::v4(), port)};
  } else if (auto ip = asio::ip::make_address(host, ec); !ec) {
    candidates.emplace_back(ip, port);
  } else {
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) {
      error = site.address + ": " + ec.message();
      return false;
    }
    // A name listens on one address, IPv4 first, as Go's net.Listen does ("localhost").
    for (bool v4 : {true, false}) {
      for (const auto& entry : results) {
        if (entry.endpoint().address().is_v4() == v4) candidates.push_back(entry.endpoint());
      }
    }
  }
  for (const tcp::endpoint& endpoint : candidates) {
    tcp::acceptor& a = site.acceptor;
    boost::system::error_code ignored;
    a.close(ignored);
    a.open(endpoint.protocol(), ec);
    if (ec) continue;
    a.set_option(asio::socket_base::reuse_address(true), ignored);
    if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
      a.set_option(asio::ip::v6_only(false), ignored);
    }
    a.bind(endpoint, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return true;
  }
  site.acceptor.close(ec);
  error = site.address + ": " + (ec ? ec.message() : std::string("no address to bind"));
  return false;
}

asio::awaitable<void> HttpServer::Impl::acceptLoop(Site& site) {
  asio::steady_timer pause(io);
  for (;;) {
    auto [ec, socket] = co_await site.acceptor.async_accept(kAsValues);
    if (ec == asio::error::operation_aborted || !site.acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: retry shortly instead of spinning.
      spdlog::warn("http: accept on {}: {}", site.address, ec.message());
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(kAsValues);
      continue;
    }
    if (open >= limits.maxConnections) {
      socket.close(ec);  // a probe retries; an idle client holding slots must not starve it
      continue;
    }
    ++open;
    asio::co_spawn(io, serve(site, std::move(socket)), [this](std::exception_ptr e) {
      --open;
      logFailure("connection", e);
    });
  }
}

asio::awaitable<void> HttpServer::Impl::serve(const Site& site, tcp::socket socket) {
  connections.insert(&socket);
  struct Forget {
    std::set<tcp::socket*>& set;
    tcp::socket* socket;
    ~Forget() { set.erase(socket); }
  } forget{connections, &socket};
  asio::steady_timer deadline(io);
  boost::beast::flat_buffer buffer(limits.maxHeaderBytes + limits.maxBodyBytes + 1024);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(limits.maxHeaderBytes));
    parser.body_limit(limits.maxBodyBytes);
    // The deadline runs beside the read; whichever finishes first cancels the other.
    deadline.expires_after(limits.readTimeout);
    auto read = co_await (http::async_read(socket, buffer, parser, kAsValues) || deadline.async_wait(kAsValues));
    if (read.index() == 1) break;  // too slow (or idle on keep-alive): drop it
    auto [readError, readBytes] = std::get<0>(read);
    Response res;
    bool keepAlive = false;
    if (readError) {
      std::optional<Response> failure = readFailure(readError);
      if (!failure) break;
      res = std::move(*failure);
      res.keep_alive(false);
      res.prepare_payload();
    } else {
      res = answer(site, parser.get());
      keepAlive = res.keep_alive();
    }
    deadline.expires_after(limits.writeTimeout);
    auto wrote = co_await (http::async_write(socket, res, kAsValues) || deadline.async_wait(kAsValues));
    if (wrote.index() == 1 || std::get<0>(std::get<0>(wrote)) || !keepAlive) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

HttpServer::HttpServer(HttpLimits limits) : impl_(std::make_unique<Impl>(limits)) {}

HttpServer::~HttpServer() { stop(); }

bool HttpServer::listen(const std::vector<HttpRoute>& routes, std::string& error) {
  for (const HttpRoute& route : routes) {
    Site* site = nullptr;
    for (auto& s : impl_->sites) {
      if (s->address == route.address) site = s.get();
    }
    if (site == nullptr) {
      auto fresh = std::make_unique<Site>(impl_->io, route.address);
      if (!impl_->bind(*fresh, error)) return false;
      site = impl_->sites.emplace_back(std::move(fresh)).get();
    }
    site->routes.emplace(route.path, route.handle);  // keeps the first for a path
  }
  return true;
}

void HttpServer::start() {
  if (impl_->running) return;
  impl_->running = true;
  for (auto& site : impl_->sites) {
    asio::co_spawn(impl_->io, impl_->acceptLoop(*site),
                   [](std::exception_ptr e) { logFailure("accept", e); });
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

void HttpServer::stop() {
  if (!impl_->running) return;
  impl_->running = false;
  // Closing every socket ends every coroutine (their operations fail, they return), and the
  // loop runs out of work: no coroutine frame outlives the thread. Requests being answered are
  // cut; health and ready answers are single short writes, so this is stop-at-once.
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    for (auto& site : impl->sites) site->acceptor.close(ignored);
    for (tcp::socket* socket : impl->connections) {
      socket->shutdown(tcp::socket::shutdown_both, ignored);
      socket->close(ignored);
    }
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<uint16_t> HttpServer::ports() const {
  std::vector<uint16_t> out;
  for (const auto& site : impl_->sites) {
    boost::system::error_code ec;
    auto endpoint = site->acceptor.local_endpoint(ec);
    out.push_back(ec ? 0 : endpoint.port());
  }
  return out;
}

}  // namespace moat::dns::server
