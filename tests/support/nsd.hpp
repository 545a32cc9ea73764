// NSD 4 (/usr/sbin/nsd, installed by .ci/deps) in the foreground on a loopback address and port:
// the real primary Moat's secondary pulls from, or the real secondary that pulls from Moat's
// transfer. Stopped by PID when the test ends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tests/support/server_process.hpp"

namespace moat::testing {

class Nsd {
 public:
  static constexpr const char* kBinary = "/usr/sbin/nsd";
  static bool installed();

  // Writes dir/nsd.conf (NSD on address@port, its state and logs in `dir`, one server process,
  // IPv4 only, no remote control) followed by `zones`, the "zone:" sections verbatim; starts NSD
  // and waits until it accepts TCP there. What NSD sends for a zone (NOTIFY, transfer requests)
  // leaves from the kernel's pick unless the zone says `outgoing-interface: ADDRESS`.
  Nsd(const TempDir& dir, uint16_t port, const std::string& zones, const std::string& address = "127.0.0.1");
  ~Nsd();
  Nsd(const Nsd&) = delete;
  Nsd& operator=(const Nsd&) = delete;

  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  // SIGHUP: NSD re-reads zone files whose mtime changed and NOTIFYs the zone's notify list.
  void reload() const;
  void stop();
  // NSD's log file and its stdout/stderr, for a failure's message.
  std::string log() const;

 private:
  std::string dir_, address_;
  uint16_t port_;
  pid_t pid_ = -1;
};

// Writes a zone file and moves its mtime `minutesAhead` minutes on, so NSD's mtime check sees a
// change even within the same second as the previous write.
void writeZoneFile(const TempDir& dir, const std::string& name, const std::string& text, int minutesAhead);

}  // namespace moat::testing
