#include "tests/support/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/source_address.hpp"

namespace moat::testing {

const char* moatBinary() {
  static const char* const path = [] {
    const char* chosen = std::getenv("MOAT_BINARY");
    return chosen != nullptr && *chosen != '\0' ? chosen : MOAT_BUILT_BINARY;
  }();
  return path;
}


namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

// The kernel's ephemeral range: ports it hands to every socket bound to port 0 or connected
// unbound, Moat's own forward sockets among them (1024 a worker). A test port taken from it
// can be taken by one of those between freePort() and the server's bind, so tests draw theirs
// from outside it.
std::pair<uint32_t, uint32_t> ephemeralRange() {
  uint32_t low = 32768, high = 60999;
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  in >> low >> high;
  return {low, high};
}

// Holds a lock on port's file in /tmp/moat-test-ports for the rest of this process: ctest runs
// tests in parallel processes, and two of them must never hand out the same port. (The files
// stay: removing one another process may be locking would let a third lock a new one.)
bool reserve(uint16_t port) {
  ::mkdir("/tmp/moat-test-ports", 01777);
  std::string path = "/tmp/moat-test-ports/" + std::to_string(port);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return false;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // fd stays open (and locked) until the process exits
}

bool bindsBoth(uint16_t port) {
  sockaddr_in a = loopback(port);
  int u = ::socket(AF_INET, SOCK_DGRAM, 0);
  int t = ::socket(AF_INET, SOCK_STREAM, 0);
  bool ok = ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(u);
  ::close(t);
  return ok;
}

// The loopback addresses of the HTTP sites (health, ready, prometheus) a Corefile names with
// an explicit port: ADDR:PORT or :PORT (wildcard, probed on 127.0.0.1). Defaults (:8080, ...)
// are not probed: tests never use them.
std::vector<std::pair<std::string, uint16_t>> httpSites(const std::string& corefile) {
  std::vector<std::pair<std::string, uint16_t>> sites;
  std::istringstream in(corefile);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string directive, address;
    words >> directive >> address;
    if (directive != "health" && directive != "ready" && directive != "prometheus") continue;
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size()) continue;
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "localhost") host = "127.0.0.1";
    unsigned long port = std::strtoul(address.c_str() + colon + 1, nullptr, 10);
    if (port == 0 || port > 65535) continue;
    sites.emplace_back(host, static_cast<uint16_t>(port));
  }
  return sites;
}

}  // namespace

uint16_t freePort() {
  // Candidates: 10000 up to the ephemeral range, and above it; a random start so processes
  // rarely contend, then the next candidate in order.
  const auto ephemeral = ephemeralRange();
  const uint32_t low = ephemeral.first, high = ephemeral.second;
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  if (low > 10000) spans.push_back({10000, low - 1});
  if (high < 65535) spans.push_back({high + 1, 65535});
  uint32_t total = 0;
  for (auto [a, b] : spans) total += b - a + 1;
  REQUIRE_MESSAGE(total > 0, "no port outside the ephemeral range " << low << "-" << high);
  static std::mt19937 draw(std::random_device{}());
  uint32_t start = draw() % total;
  for (uint32_t i = 0; i < total && i < 5000; ++i) {
    uint32_t n = (start + i) % total;
    uint16_t port = 0;
    for (auto [a, b] : spans) {
      if (n <= b - a) {
        port = static_cast<uint16_t>(a + n);
        break;
      }
      n -= b - a + 1;
    }
    if (reserve(port) && bindsBoth(port)) return port;
  }
  FAIL("no free port");
  return 0;
}

bool waitListening(uint16_t port, const std::string& address, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!tcpListening(address, port)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/moat-test-XXXXXX";
  char* p = ::mkdtemp(tmpl);
  REQUIRE(p != nullptr);
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p) << content;
  return p;
}

ServerProcess::ServerProcess(const TempDir& dir, std::string corefile, std::vector<std::string> extraArgs,
                             std::string readyAddress)
    : ServerProcess(MOAT_BINARY, dir, std::move(corefile), std::move(extraArgs), std::move(readyAddress)) {}

ServerProcess::ServerProcess(std::string binary, const TempDir& dir, std::string corefile,
                             std::vector<std::string> extraArgs, std::string readyAddress) {
  port_ = freePort();
  for (size_t at; (at = corefile.find("@PORT@")) != std::string::npos;) {
    corefile.replace(at, 6, std::to_string(port_));
  }
  std::string conf = dir.write("Corefile", corefile);
  out_ = dir.path() + "/stdout";
  err_ = dir.path() + "/stderr";
  std::vector<std::string> args = {std::move(binary), "-conf", conf};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    // Nothing else of the test's: a socket or pipe it holds must not outlive it in the server.
    ::close_range(3, ~0U, 0);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // Ready once the TCP listener accepts: sockets are bound before the workers start, so from
  // then on queries over either transport are queued for them. (A DNS probe would not do: with
  // a silent upstream configured it would never be answered.)
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("moat exited at start: " << stderrText());
      return;
    }
    if (tcpListening(readyAddress, port_)) {
      // The DNS port binds last (cmd/main.cpp), so the HTTP sites are up by now; waiting for
      // them too says so here rather than trusting that order in every test that probes them.
      for (const auto& [address, port] : httpSites(corefile)) {
        if (!waitListening(port, address, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                deadline - std::chrono::steady_clock::now()))) {
          stop();
          FAIL("moat did not listen on HTTP " << address << " port " << port << ": " << stderrText());
        }
      }
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();  // a constructor that fails runs no destructor: never leave the process behind
  FAIL("moat did not listen on " << readyAddress << " port " << port_ << ": " << stderrText());
}

ServerProcess::~ServerProcess() { stop(); }

std::string ServerProcess::stdoutText() const { return readFile(out_); }
std::string ServerProcess::stderrText() const { return readFile(err_); }

bool ServerProcess::waitForOutput(const std::string& needle, size_t lines,
                                  std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    std::istringstream in(stdoutText());
    size_t found = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find(needle) != std::string::npos) ++found;
    }
    if (found >= lines) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

bool ServerProcess::signal(int sig) const { return pid_ > 0 && ::kill(pid_, sig) == 0; }

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

int runCommand(const std::vector<std::string>& argv, std::string& out, std::chrono::milliseconds timeout) {
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::close_range(3, ~0U, 0);
    std::vector<char*> args;
    std::vector<std::string> copy = argv;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  out.clear();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string dig(uint16_t port, const std::vector<std::string>& args) {
  // A server given in `args` ("@::1") replaces the default: dig uses the first one it sees.
  bool server = std::any_of(args.begin(), args.end(), [](const std::string& a) { return a.rfind('@', 0) == 0; });
  std::vector<std::string> argv = {"dig", "-p", std::to_string(port), "+time=2", "+tries=1"};
  if (!server) argv.insert(argv.begin() + 1, "@127.0.0.1");
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  runCommand(argv, out);
  return out;
}

HttpReply httpGet(uint16_t port, const std::string& path) {
  HttpReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string in;
    char chunk[2048];
    for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) in.append(chunk, static_cast<size_t>(n));
    size_t end = in.find("\r\n\r\n");
    if (in.rfind("HTTP/1.1 ", 0) == 0 && end != std::string::npos) {
      reply.status = std::stoi(in.substr(9, 3));
      reply.body = in.substr(end + 4);
    }
  }
  ::close(fd);
  return reply;
}

std::vector<uint8_t> exchangeUdp(uint16_t port, const std::vector<uint8_t>& query,
                                 std::chrono::milliseconds timeout) {
  return exchangeUdpFrom("127.0.0.1", port, query, timeout);
}

// The server is on loopback of the client address's family.
static std::string loopbackFor(const std::string& source) {
  return source.find(':') != std::string::npos ? "::1" : "127.0.0.1";
}

std::vector<uint8_t> exchangeUdpFrom(const std::string& source, uint16_t port,
                                     const std::vector<uint8_t>& query,
                                     std::chrono::milliseconds timeout) {
  return udpFrom(source, loopbackFor(source), port, query, timeout);
}

std::vector<uint8_t> exchangeTcp(uint16_t port, const std::vector<uint8_t>& query,
                                 std::chrono::milliseconds timeout) {
  return exchangeTcpFrom("127.0.0.1", port, query, timeout);
}

std::vector<uint8_t> exchangeTcpFrom(const std::string& source, uint16_t port,
                                     const std::vector<uint8_t>& query,
                                     std::chrono::milliseconds timeout) {
  return tcpFrom(source, loopbackFor(source), port, query, timeout);
}

}  // namespace moat::testing
