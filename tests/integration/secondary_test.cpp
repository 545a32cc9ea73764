// secondary against a real primary: NSD 4 serves the zones (installed by .ci/deps). Moat pulls
// them by AXFR, takes NSD's NOTIFY when a zone changes, keeps serving while NSD is down, and
// answers SERVFAIL once a zone's SOA expire has passed without a refresh.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

using namespace moat::testing;

namespace {

constexpr const char* kNsd = "/usr/sbin/nsd";

// example.org changes by NOTIFY only: its refresh (an hour) never fires during the test.
std::string exampleZone(uint32_t serial, const std::string& www) {
  return "$ORIGIN example.org.\n$TTL 300\n"
         "@ IN SOA ns1.example.org. hostmaster.example.org. " + std::to_string(serial) + " 3600 600 86400 300\n"
         "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A " + www + "\n";
}

// short.example expires 3 s after the last refresh that reached NSD.
const std::string kShortZone =
    "$ORIGIN short.example.\n$TTL 60\n"
    "@ IN SOA ns1.short.example. hostmaster.short.example. 1 1 1 3 60\n"
    "@ IN NS ns1\nns1 IN A 192.0.2.1\nhost IN A 192.0.2.30\n";

// NSD in the foreground (-d) on a loopback port, stopped by PID when the test ends.
class Nsd {
 public:
  Nsd(const TempDir& dir, uint16_t port, uint16_t notifyPort) : port_(port) {
    const std::string d = dir.path();
    const std::string conf = dir.write(
        "nsd.conf",
        "server:\n"
        "  ip-address: 127.0.0.1@" + std::to_string(port) + "\n"
        "  port: " + std::to_string(port) + "\n"
        "  username: \"\"\n  chroot: \"\"\n"
        "  zonesdir: \"" + d + "\"\n"
        "  pidfile: \"" + d + "/nsd.pid\"\n"
        "  database: \"\"\n"
        "  xfrdfile: \"" + d + "/xfrd.state\"\n"
        "  zonelistfile: \"" + d + "/zone.list\"\n"
        "  logfile: \"" + d + "/nsd.log\"\n"
        "  server-count: 1\n  do-ip6: no\n"
        "remote-control:\n  control-enable: no\n"
        "zone:\n  name: example.org\n  zonefile: example.org.zone\n"
        "  provide-xfr: 127.0.0.0/8 NOKEY\n"
        "  notify: 127.0.0.1@" + std::to_string(notifyPort) + " NOKEY\n"
        "zone:\n  name: short.example\n  zonefile: short.example.zone\n"
        "  provide-xfr: 127.0.0.0/8 NOKEY\n");
    const std::string log = d + "/nsd.out";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(kNsd, kNsd, "-d", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE_MESSAGE(waitListening(port_), "NSD did not start listening; see " << log);
  }
  ~Nsd() { stop(); }

  // SIGHUP: NSD re-reads zone files whose mtime changed and NOTIFYs the zone's notify list.
  void reload() const { REQUIRE(::kill(pid_, SIGHUP) == 0); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
};

// Writes a zone file and moves its mtime a minute on, so NSD's mtime check sees the change
// even within the same second as the previous write.
void writeZone(const TempDir& dir, const std::string& name, const std::string& text, int minutesAhead) {
  const std::string path = dir.write(name, text);
  timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec += minutesAhead * 60;
  times[1] = times[0];
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

std::string answer(uint16_t port, const std::string& name) { return dig(port, {name, "A", "+short"}); }
std::string status(uint16_t port, const std::string& name) { return dig(port, {name, "A"}); }

}  // namespace

TEST_CASE("secondary: AXFR from NSD, NOTIFY picks up a change, served while NSD is down, SERVFAIL once expired") {
  REQUIRE_MESSAGE(::access(kNsd, X_OK) == 0, "NSD is needed as the primary: run .ci/deps");
  TempDir nsdDir, moatDir;
  writeZone(nsdDir, "example.org.zone", exampleZone(1, "192.0.2.10"), 0);
  writeZone(nsdDir, "short.example.zone", kShortZone, 0);
  const uint16_t nsdPort = freePort();

  ServerProcess moat(moatDir, "example.org:@PORT@ short.example:@PORT@ {\n"
                              "  bind 127.0.0.1\n"
                              "  secondary {\n"
                              "    transfer from 127.0.0.1:" + std::to_string(nsdPort) + "\n"
                              "  }\n"
                              "}\n");
  Nsd nsd(nsdDir, nsdPort, moat.port());

  // The first transfer: Moat retries until NSD is up, then answers from the zone.
  CHECK(eventually([&] { return answer(moat.port(), "www.example.org") == "192.0.2.10\n"; }));
  CHECK(eventually([&] { return answer(moat.port(), "host.short.example") == "192.0.2.30\n"; }));
  CHECK(status(moat.port(), "nope.example.org").find("status: NXDOMAIN") != std::string::npos);

  // A change on the primary reaches Moat by NOTIFY (the refresh timer is an hour away).
  writeZone(nsdDir, "example.org.zone", exampleZone(2, "192.0.2.20"), 1);
  nsd.reload();
  CHECK(eventually([&] { return answer(moat.port(), "www.example.org") == "192.0.2.20\n"; }));
  CHECK(eventually([&] { return moat.stdoutText().find("NOTIFY for example.org.") != std::string::npos ||
                                moat.stderrText().find("NOTIFY for example.org.") != std::string::npos; }));

  // The primary goes away: the last good copy is still served...
  nsd.stop();
  CHECK(answer(moat.port(), "www.example.org") == "192.0.2.20\n");
  // ...until a zone's expire passes without a refresh: then SERVFAIL, as CoreDNS.
  CHECK(eventually([&] { return status(moat.port(), "host.short.example").find("status: SERVFAIL") != std::string::npos; },
                   std::chrono::seconds(8), std::chrono::milliseconds(200)));
  CHECK(answer(moat.port(), "www.example.org") == "192.0.2.20\n");  // its expire is a day
}
