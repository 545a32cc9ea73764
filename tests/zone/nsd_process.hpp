// NSD, the reference authoritative server, run by the test itself: a config of its own in a
// temp dir, a free loopback port, the foreground process stopped by PID when the test ends.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/server_process.hpp"

namespace moat::testing::zone {

inline constexpr const char* kNsdBinary = "/usr/sbin/nsd";

class NsdProcess {
 public:
  // Serves `zonefile` as `origin` from `dir` (its config, pid, state and log files go there).
  NsdProcess(const TempDir& dir, const std::string& origin, const std::string& zonefile)
      : dir_(dir.path()), port_(freePort()) {
    REQUIRE_MESSAGE(::access(kNsdBinary, X_OK) == 0,
                    kNsdBinary << " is missing: install Debian's nsd (.ci/deps does) to run the NSD diff");
    const std::string conf = dir.write("nsd.conf", config(origin, zonefile));
    const std::string output = dir_ + "/nsd.out";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setpgid(0, 0);  // its server and xfrd children share the group, for the SIGKILL fallback
      int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::close_range(3, ~0U, 0);
      ::execl(kNsdBinary, kNsdBinary, "-d", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (!waitListening(port_)) {
      const std::string why = log();
      stop();  // the destructor does not run for an object whose constructor threw
      FAIL("nsd did not listen on " << port_ << ": " << why);
    }
  }

  ~NsdProcess() { stop(); }
  NsdProcess(const NsdProcess&) = delete;
  NsdProcess& operator=(const NsdProcess&) = delete;

  uint16_t port() const { return port_; }

  // Its log file and its stdout/stderr, for failure messages.
  std::string log() const { return read(dir_ + "/nsd.log") + read(dir_ + "/nsd.out"); }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

 private:
  std::string config(const std::string& origin, const std::string& zonefile) const {
    const std::string port = std::to_string(port_);
    std::ostringstream c;
    c << "server:\n"
      << "  ip-address: 127.0.0.1@" << port << "\n"
      << "  port: " << port << "\n"
      << "  do-ip6: no\n"
      << "  username: \"\"\n"
      << "  chroot: \"\"\n"
      << "  zonesdir: \"" << dir_ << "\"\n"
      << "  pidfile: \"" << dir_ << "/nsd.pid\"\n"
      << "  database: \"\"\n"
      << "  xfrdfile: \"" << dir_ << "/xfrd.state\"\n"
      << "  zonelistfile: \"" << dir_ << "/zone.list\"\n"
      << "  logfile: \"" << dir_ << "/nsd.log\"\n"
      << "  verbosity: 1\n"
      << "  server-count: 1\n"
      << "  hide-version: yes\n"
      // Debian builds NSD with response rate limiting on (200 qps a source by default): the
      // test's thousands of queries from 127.0.0.1 would be dropped or truncated.
      << "  rrl-ratelimit: 0\n"
      << "  rrl-whitelist-ratelimit: 0\n"
      << "  rrl-size: 1024\n"
      // Its default EDNS size is 1232: signed answers asked with a 4096 buffer would truncate.
      << "  ipv4-edns-size: 4096\n"
      << "remote-control:\n"
      << "  control-enable: no\n"
      << "zone:\n"
      << "  name: \"" << origin << "\"\n"
      << "  zonefile: \"" << zonefile << "\"\n";
    return c.str();
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace moat::testing::zone
