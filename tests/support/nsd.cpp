#include "tests/support/nsd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

namespace moat::testing {

bool Nsd::installed() { return ::access(kBinary, X_OK) == 0; }

Nsd::Nsd(const TempDir& dir, uint16_t port, const std::string& zones, const std::string& address)
    : dir_(dir.path()), address_(address), port_(port) {
  REQUIRE_MESSAGE(installed(), "NSD is needed: run .ci/deps");
  const std::string& d = dir_;
  const std::string conf = dir.write(
      "nsd.conf",
      "server:\n"
      "  ip-address: " + address + "@" + std::to_string(port) + "\n"
      "  port: " + std::to_string(port) + "\n"
      "  username: \"\"\n  chroot: \"\"\n"
      "  zonesdir: \"" + d + "\"\n"
      "  pidfile: \"" + d + "/nsd.pid\"\n"
      "  database: \"\"\n"
      "  xfrdfile: \"" + d + "/xfrd.state\"\n"
      "  zonelistfile: \"" + d + "/zone.list\"\n"
      "  logfile: \"" + d + "/nsd.log\"\n"
      "  server-count: 1\n  do-ip6: no\n"
      "remote-control:\n  control-enable: no\n" + zones);
  const std::string out = d + "/nsd.out";
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::close_range(3, ~0U, 0);  // no socket or port lock of the test's outlives it in NSD
    ::execl(kBinary, kBinary, "-d", "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (!waitListening(port_, address_)) {
    const std::string why = log();
    stop();  // a constructor that fails runs no destructor: never leave NSD behind
    FAIL("NSD did not start listening on " << address_ << "@" << port_ << ": " << why);
  }
}

Nsd::~Nsd() { stop(); }

void Nsd::reload() const { REQUIRE(::kill(pid_, SIGHUP) == 0); }

void Nsd::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Nsd::log() const { return readFile(dir_ + "/nsd.log") + readFile(dir_ + "/nsd.out"); }

void writeZoneFile(const TempDir& dir, const std::string& name, const std::string& text, int minutesAhead) {
  const std::string path = dir.write(name, text);
  timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec += minutesAhead * 60;
  times[1] = times[0];
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace moat::testing
