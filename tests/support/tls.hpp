// What the TLS tests stand on: certificates made by the real `openssl` command, and unbound
// (installed by .ci/deps) serving DNS over TLS on a loopback port, the stand-in for a public
// DoT resolver such as 1.1.1.1:853.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/server_process.hpp"

namespace moat::testing {

// A test certificate authority and what it signed, as PEM files in `dir`:
//   ca.pem                    the CA a client is told to trust
//   server.pem, server.key    a server certificate for dns.test and 127.0.0.1 (and the names of
//                             dns.quad9.net, cloudflare-dns.com, dns.google), signed by ca.pem
//   expired.pem               the same server key and names, certificate expired yesterday
//   other-ca.pem              a second CA that signed nothing of the above (an unknown CA)
//   client.pem, client.key    a client certificate (clientAuth), signed by ca.pem
// EC P-256 keys: quick to make. Valid for 30 days.
class TestPki {
 public:
  static constexpr const char* kServerName = "dns.test";
  explicit TestPki(const TempDir& dir);
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string otherCa() const { return dir_ + "/other-ca.pem"; }
  std::string serverCert() const { return dir_ + "/server.pem"; }
  std::string serverKey() const { return dir_ + "/server.key"; }
  std::string expiredCert() const { return dir_ + "/expired.pem"; }
  std::string clientCert() const { return dir_ + "/client.pem"; }
  std::string clientKey() const { return dir_ + "/client.key"; }

 private:
  std::string dir_;
};

// unbound -d on 127.0.0.1@port and 127.0.0.2@port (two upstreams for tests that need them)
// speaking DNS over TLS only (tls-port), with `cert`/`key` as its
// certificate. It recurses nowhere: "." is a static local zone holding `localData` (unbound
// local-data lines, e.g. "www.example.org. 300 IN A 192.0.2.10"), so any other name is
// NXDOMAIN. Queries and failed handshakes go to its log. Stopped by PID.
class UnboundDot {
 public:
  static constexpr const char* kBinary = "/usr/sbin/unbound";
  static bool installed();

  UnboundDot(const TempDir& dir, uint16_t port, const std::string& cert, const std::string& key,
             const std::vector<std::string>& localData);
  ~UnboundDot();
  UnboundDot(const UnboundDot&) = delete;
  UnboundDot& operator=(const UnboundDot&) = delete;

  uint16_t port() const { return port_; }
  void stop();
  std::string log() const;
  // Lines of the log naming `name` as a query ("127.0.0.1 www.example.org. A IN").
  size_t queriesFor(const std::string& name) const;
  // Handshakes unbound saw fail ("ssl handshake failed").
  size_t failedHandshakes() const;

 private:
  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

// dnsdist --supervised as a DNS-over-HTTPS server (its h2o frontend, HTTP/1.1 and 2) on
// 127.0.0.1@port, path /dns-query, with `cert`/`key`. It answers `answers` (name -> IPv4, A
// queries) itself and NXDOMAIN to everything else; no backend. Every query is logged, so a test
// can count what reached it. Stopped by PID.
class DnsdistDoh {
 public:
  static constexpr const char* kBinary = "/usr/bin/dnsdist";
  static bool installed();

  DnsdistDoh(const TempDir& dir, uint16_t port, const std::string& cert, const std::string& key,
             const std::vector<std::pair<std::string, std::string>>& answers);
  ~DnsdistDoh();
  DnsdistDoh(const DnsdistDoh&) = delete;
  DnsdistDoh& operator=(const DnsdistDoh&) = delete;

  uint16_t port() const { return port_; }
  void stop();
  // Queries for `name` ("www.example.org.") it received.
  size_t queriesFor(const std::string& name) const;

 private:
  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

}  // namespace moat::testing
