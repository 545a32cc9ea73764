// The process's one HTTP server (health, ready, metrics): its own thread and event loop, each
// configured address bound once, one coroutine per connection, bounded in open connections,
// request size and time per request. It knows routes (http_route.hpp), not plugins.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/server/http_route.hpp"

namespace moat::dns::server {

struct HttpLimits {
  size_t maxHeaderBytes = 8 * 1024;   // request line + headers; more gets 431
  size_t maxBodyBytes = 8 * 1024;     // probes send none; more gets 413
  unsigned maxConnections = 64;       // beyond this, new connections are closed at once
  std::chrono::milliseconds readTimeout{10000};   // to receive one whole request
  std::chrono::milliseconds writeTimeout{10000};  // to send one response
};

// "host:port" as Go's net.SplitHostPort reads it ("[::1]:8080"; ":8080" has an empty host,
// meaning every address), but the port must be a number 0..65535. False when malformed.
bool splitHostPort(std::string_view address, std::string& host, uint16_t& port);

class HttpServer {
 public:
  explicit HttpServer(HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every distinct address of `routes` once; a second route with the same address and
  // path is ignored (the first wins). False with `error` ("ADDR: reason") on the first failure.
  bool listen(const std::vector<HttpRoute>& routes, std::string& error);
  void start();
  void stop();  // idempotent; joins the server thread

  // The bound port of each distinct address, in order of first appearance (tests bind port 0).
  std::vector<uint16_t> ports() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace moat::dns::server
