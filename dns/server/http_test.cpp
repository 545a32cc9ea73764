// The HTTP server over real loopback sockets, spoken to byte by byte so that what goes on the
// wire (status line, headers, keep-alive, closes) is what is checked.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "dns/server/http.hpp"

namespace moat::dns::server {
namespace {

using namespace std::chrono_literals;

// A blocking client socket with a receive timeout, so a broken server fails the test, not hangs it.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  void send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  // One response: headers, then Content-Length bytes of body (none for HEAD). Empty when the
  // server closed (or said nothing within the timeout) first.
  std::string response(bool head = false) {
    for (;;) {
      size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        size_t at = buffer_.find("Content-Length: ");
        if (at != std::string::npos && at < end) length = std::stoul(buffer_.substr(at + 16));
        size_t total = end + 4 + (head ? 0 : length);
        if (buffer_.size() >= total) {
          std::string out = buffer_.substr(0, total);
          buffer_.erase(0, total);
          return out;
        }
      }
      if (!fill()) return {};
    }
  }

  // True when the server closes the connection (EOF or reset) before the timeout.
  bool closedByServer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string get(const std::string& path, const std::string& method = "GET", const std::string& extra = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string bodyOf(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

struct Fixture {
  explicit Fixture(HttpLimits limits = {}) : server(limits) {
    std::vector<HttpRoute> routes = {
        {"127.0.0.1:0", "/health", [] { return HttpResponse{200, "OK"}; }},
        {"127.0.0.1:0", "/ready", [this] { return HttpResponse{ready ? 200u : 503u, ready ? "OK" : "kubernetes"}; }},
        {"127.0.0.1:0", "/health", [] { return HttpResponse{500, "second"}; }},  // ignored
    };
    std::string error;
    REQUIRE_MESSAGE(server.listen(routes, error), error);
    server.start();
    port = server.ports().at(0);
  }
  HttpServer server;
  uint16_t port = 0;
  std::atomic<bool> ready{false};
};

TEST_CASE("GET on a route answers with the route's status, body and content type") {
  Fixture f;
  Client c(f.port);
  REQUIRE(c.connected());
  c.send(get("/health"));
  std::string r = c.response();
  CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r.find("Content-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  CHECK(r.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(bodyOf(r) == "OK");
}

TEST_CASE("the first route for an address and path wins, the handler is asked on every request") {
  Fixture f;
  Client c(f.port);
  c.send(get("/ready"));
  std::string r = c.response();
  CHECK(r.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(bodyOf(r) == "kubernetes");
  f.ready = true;
  c.send(get("/ready") + get("/health"));  // pipelined on one connection
  CHECK(bodyOf(c.response()) == "OK");
  CHECK(bodyOf(c.response()) == "OK");
}

TEST_CASE("unknown paths get Go's 404, other methods 405, a query string is ignored") {
  Fixture f;
  Client c(f.port);
  c.send(get("/nope"));
  std::string r = c.response();
  CHECK(r.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(bodyOf(r) == "404 page not found\n");
  c.send(get("/health", "POST", "Content-Length: 0\r\n"));
  r = c.response();
  CHECK(r.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(r.find("Allow: GET, HEAD\r\n") != std::string::npos);
  c.send(get("/health?verbose=1"));
  CHECK(c.response().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("HEAD has GET's headers and no body, the connection stays usable") {
  Fixture f;
  Client c(f.port);
  c.send(get("/health", "HEAD"));
  std::string r = c.response(/*head=*/true);
  CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(bodyOf(r).empty());
  c.send(get("/health"));
  CHECK(bodyOf(c.response()) == "OK");
}

TEST_CASE("keep-alive by default in HTTP/1.1, Connection: close and HTTP/1.0 close after the answer") {
  Fixture f;
  Client c(f.port);
  for (int i = 0; i < 2; ++i) {
    c.send(get("/health"));
    CHECK(bodyOf(c.response()) == "OK");
  }
  c.send(get("/health", "GET", "Connection: close\r\n"));
  CHECK(c.response().find("Connection: close\r\n") != std::string::npos);
  CHECK(c.closedByServer());

  Client old(f.port);
  old.send("GET /health HTTP/1.0\r\n\r\n");
  CHECK(bodyOf(old.response()) == "OK");
  CHECK(old.closedByServer());
}

TEST_CASE("a header beyond the limit gets 431 and a close, garbage gets 400") {
  Fixture f;
  Client c(f.port);
  c.send(get("/health", "GET", "X-Big: " + std::string(9000, 'a') + "\r\n"));
  std::string r = c.response();
  CHECK(r.rfind("HTTP/1.1 431 ", 0) == 0);
  CHECK(c.closedByServer());

  Client bad(f.port);
  bad.send("NOT HTTP AT ALL\r\n\r\n");
  CHECK(bad.response().rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  CHECK(bad.closedByServer());
}

TEST_CASE("a body beyond the limit gets 413") {
  HttpLimits limits;
  limits.maxBodyBytes = 16;
  Fixture f(limits);
  Client c(f.port);
  c.send(get("/health", "POST", "Content-Length: 100\r\n") + std::string(100, 'x'));
  CHECK(c.response().rfind("HTTP/1.1 413 ", 0) == 0);
}

TEST_CASE("connections beyond the cap are closed at once, a freed slot is reused") {
  HttpLimits limits;
  limits.maxConnections = 2;
  Fixture f(limits);
  auto first = std::make_unique<Client>(f.port);
  Client second(f.port);
  for (Client* c : {first.get(), &second}) {
    c->send(get("/health"));
    REQUIRE(bodyOf(c->response()) == "OK");  // both accepted and held open
  }
  Client third(f.port);
  CHECK(third.closedByServer());
  first.reset();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    Client again(f.port);
    again.send(get("/health"));
    served = bodyOf(again.response()) == "OK";
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
}

TEST_CASE("a client that sends nothing, or stalls mid-request, is dropped at the read deadline") {
  HttpLimits limits;
  limits.readTimeout = 200ms;
  Fixture f(limits);
  Client idle(f.port);
  auto start = std::chrono::steady_clock::now();
  CHECK(idle.closedByServer());
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);

  Client stalled(f.port);
  stalled.send("GET /health HTTP/1.1\r\nHost: x\r\n");  // no blank line yet
  CHECK(stalled.closedByServer());
}

TEST_CASE("every distinct address is bound once, a taken address fails listen with its name") {
  HttpServer server;
  std::string error;
  std::vector<HttpRoute> routes = {
      {"127.0.0.1:0", "/a", [] { return HttpResponse{200, "a"}; }},
      {"[::1]:0", "/b", [] { return HttpResponse{200, "b"}; }},
      {"127.0.0.1:0", "/c", [] { return HttpResponse{200, "c"}; }},
  };
  bool ipv6 = server.listen(routes, error);
  if (!ipv6) {  // no IPv6 loopback on this host
    MESSAGE("skipping [::1]: " << error);
    routes.erase(routes.begin() + 1);
    REQUIRE(server.listen(routes, error));
  }
  server.start();
  std::vector<uint16_t> ports = server.ports();
  REQUIRE(ports.size() == (ipv6 ? 2u : 1u));
  Client c(ports[0]);
  c.send(get("/a") + get("/c") + get("/b"));
  CHECK(bodyOf(c.response()) == "a");
  CHECK(bodyOf(c.response()) == "c");
  CHECK(c.response().rfind("HTTP/1.1 404", 0) == 0);

  HttpServer clash;
  std::string clashError;
  std::string taken = "127.0.0.1:" + std::to_string(ports[0]);
  CHECK_FALSE(clash.listen({{taken, "/x", [] { return HttpResponse{}; }}}, clashError));
  CHECK(clashError.rfind(taken + ": ", 0) == 0);

  HttpServer malformed;
  CHECK_FALSE(malformed.listen({{"8080", "/x", [] { return HttpResponse{}; }}}, clashError));
  CHECK(clashError == "8080: expected host:port");
}

TEST_CASE("stop is idempotent and does not wait for open connections") {
  Fixture f;
  Client c(f.port);
  c.send(get("/health"));
  REQUIRE(bodyOf(c.response()) == "OK");
  auto start = std::chrono::steady_clock::now();
  f.server.stop();
  f.server.stop();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(c.closedByServer());
}

TEST_CASE("splitHostPort reads host:port as Go does, with a numeric port") {
  struct Case {
    std::string_view in;
    bool ok;
    std::string_view host;
    uint16_t port;
  };
  const Case cases[] = {
      {":8080", true, "", 8080},          {"localhost:9153", true, "localhost", 9153},
      {"127.0.0.1:8181", true, "127.0.0.1", 8181}, {"[::1]:8080", true, "::1", 8080},
      {"[::]:0", true, "::", 0},          {"8080", false, "", 0},
      {"localhost", false, "", 0},        {"::1:8080", false, "", 0},
      {"[::1]8080", false, "", 0},        {"[::1:8080", false, "", 0},
      {"host:", false, "", 0},            {"host:http", false, "", 0},
      {"host:65536", false, "", 0},       {"host:123456", false, "", 0},
  };
  for (const Case& c : cases) {
    std::string host = "unchanged";
    uint16_t port = 1;
    CAPTURE(c.in);
    CHECK(splitHostPort(c.in, host, port) == c.ok);
    if (c.ok) {
      CHECK(host == c.host);
      CHECK(port == c.port);
    }
  }
}

}  // namespace
}  // namespace moat::dns::server
