// Integration tests run the real `moat` binary: a Corefile written to a temp dir, a free
// loopback port, stdout/stderr captured to files, SIGTERM at the end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::testing {

// The moat binary the tests run: $MOAT_BINARY when it is set (CI runs these tests against its
// ThreadSanitizer build of the server that way), else the one this build made.
const char* moatBinary();
#define MOAT_BINARY (::moat::testing::moatBinary())

// A loopback port free for both UDP and TCP right now, outside the kernel's ephemeral range
// (so no socket bound to port 0 takes it before the server does) and never handed out twice
// to processes running at the same time.
uint16_t freePort();

// Waits until a TCP connection to address:port is accepted (a listener is bound there); false
// after `timeout`. For tests that use a listener other than the one ServerProcess waited for.
bool waitListening(uint16_t port, const std::string& address = "127.0.0.1",
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The whole file as text ("" when it cannot be read).
std::string readFile(const std::string& path);

// A fresh directory under /tmp, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;  // returns path

 private:
  std::string path_;
};

class ServerProcess {
 public:
  // Replaces @PORT@ in `corefile` with a free port, writes it to dir/Corefile, starts
  // `moat -conf dir/Corefile` (plus `extraArgs`) and waits until the port accepts TCP on
  // `readyAddress` (a server bound elsewhere than 127.0.0.1, e.g. only ::1, names its own).
  ServerProcess(const TempDir& dir, std::string corefile, std::vector<std::string> extraArgs = {},
                std::string readyAddress = "127.0.0.1");
  // The same with another `moat` binary (tests/deploy runs the installed one).
  ServerProcess(std::string binary, const TempDir& dir, std::string corefile,
                std::vector<std::string> extraArgs = {}, std::string readyAddress = "127.0.0.1");
  ~ServerProcess();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string stdoutText() const;
  std::string stderrText() const;
  // Waits until stdout holds at least `lines` lines containing `needle` (bounded).
  bool waitForOutput(const std::string& needle, size_t lines = 1,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // SIGTERM and wait; returns the exit status (or -1).
  int stop();
  // Sends `sig` (e.g. SIGUSR1); false when the process is gone.
  bool signal(int sig) const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string out_, err_;
};

// Runs a program to completion with a time bound; returns its exit code, stdout in `out`.
int runCommand(const std::vector<std::string>& argv, std::string& out,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));

// dig @127.0.0.1 -p PORT <args...> +time=2 +tries=1 (an "@server" in args replaces 127.0.0.1);
// returns dig's stdout.
std::string dig(uint16_t port, const std::vector<std::string>& args);

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
};

// One GET to 127.0.0.1:port over a fresh connection (Connection: close), read to EOF. A raw
// socket: there is no curl on these machines.
HttpReply httpGet(uint16_t port, const std::string& path);

// Sends one query over UDP or TCP to 127.0.0.1:port, returns the raw reply (empty on timeout).
std::vector<uint8_t> exchangeUdp(uint16_t port, const std::vector<uint8_t>& query,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(3));
// The same over UDP from the loopback address `source` ("127.0.0.2", "::1") to `server`
// (127.0.0.1 or ::1, the family of `source`): how tests play clients of several networks.
std::vector<uint8_t> exchangeUdpFrom(const std::string& source, uint16_t port,
                                     const std::vector<uint8_t>& query,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(3));
std::vector<uint8_t> exchangeTcp(uint16_t port, const std::vector<uint8_t>& query,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(3));
std::vector<uint8_t> exchangeTcpFrom(const std::string& source, uint16_t port,
                                     const std::vector<uint8_t>& query,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace moat::testing
