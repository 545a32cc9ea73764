// What the process serves over HTTP (health, ready, metrics): a path on a configured address
// and the function that answers it. Plugins register routes; the HTTP server binds each
// address once. Plain data, so dns/ stays free of plugins.
#pragma once

#include <functional>
#include <string>

namespace moat::dns::server {

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string contentType = "text/plain; charset=utf-8";
};

struct HttpRoute {
  std::string address;  // "host:port" as configured; ":8080" = every address
  std::string path;     // "/health"
  std::function<HttpResponse()> handle;  // called on the HTTP server's thread
};

}  // namespace moat::dns::server
