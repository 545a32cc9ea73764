#include "tests/support/tls.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <sstream>

namespace moat::testing {
namespace {

void openssl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  std::string out;
  // Run in `dir` so relative names land there (and the serial file with them).
  for (auto& a : args) {
    if (!a.empty() && a.front() == '@') a = dir + "/" + a.substr(1);
  }
  const int rc = runCommand(args, out);
  REQUIRE_MESSAGE(rc == 0, "openssl " << args[1] << " failed: " << out);
}

void newKeyAndRequest(const std::string& dir, const std::string& name, const std::string& subject) {
  openssl(dir, {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                "@" + name + ".key", "-out", "@" + name + ".csr", "-subj", subject});
}

void newCa(const std::string& dir, const std::string& name, const std::string& subject) {
  openssl(dir, {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "@" + name + ".key", "-out", "@" + name + ".pem", "-days", "30", "-subj",
                subject, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign"});
}

void sign(const std::string& dir, const std::string& csr, const std::string& out,
          const std::string& ext, const std::string& days) {
  openssl(dir, {"x509", "-req", "-in", "@" + csr + ".csr", "-CA", "@ca.pem", "-CAkey", "@ca.key",
                "-CAcreateserial", "-out", "@" + out + ".pem", "-days", days, "-extfile",
                "@" + ext});
}

}  // namespace

TestPki::TestPki(const TempDir& dir) : dir_(dir.path()) {
  newCa(dir_, "ca", "/CN=Moat Test CA");
  newCa(dir_, "other-ca", "/CN=Moat Unknown CA");
  // Besides dns.test, the names CoreDNS's README examples check their public resolvers by, so
  // those examples run as written with only their addresses moved to loopback.
  dir.write("server.ext", std::string("subjectAltName=DNS:") + kServerName +
                              ",DNS:dns.quad9.net,DNS:cloudflare-dns.com,DNS:dns.google"
                              ",IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  dir.write("client.ext", "extendedKeyUsage=clientAuth\n");
  newKeyAndRequest(dir_, "server", std::string("/CN=") + kServerName);
  sign(dir_, "server", "server", "server.ext", "30");
  // -days -1: valid until a day before it was made, i.e. already expired.
  sign(dir_, "server", "expired", "server.ext", "-1");
  newKeyAndRequest(dir_, "client", "/CN=moat test client");
  sign(dir_, "client", "client", "client.ext", "30");
}

bool UnboundDot::installed() { return ::access(kBinary, X_OK) == 0; }

UnboundDot::UnboundDot(const TempDir& dir, uint16_t port, const std::string& cert,
                       const std::string& key, const std::vector<std::string>& localData)
    : dir_(dir.path()), port_(port) {
  REQUIRE_MESSAGE(installed(), "unbound is needed: run .ci/deps");
  const std::string& d = dir_;
  std::string conf =
      "server:\n"
      "  interface: 127.0.0.1@" + std::to_string(port) + "\n"
      "  interface: 127.0.0.2@" + std::to_string(port) + "\n"
      "  tls-port: " + std::to_string(port) + "\n"
      "  tls-service-key: \"" + key + "\"\n"
      "  tls-service-pem: \"" + cert + "\"\n"
      "  username: \"\"\n  chroot: \"\"\n"
      "  directory: \"" + d + "\"\n"
      "  pidfile: \"" + d + "/unbound.pid\"\n"
      "  use-syslog: no\n"
      "  logfile: \"" + d + "/unbound.log\"\n"
      "  do-ip6: no\n  num-threads: 1\n"
      "  access-control: 127.0.0.0/8 allow\n"
      "  module-config: \"iterator\"\n"
      "  local-zone: \".\" static\n"
      "  log-queries: yes\n  verbosity: 1\n";
  for (const auto& rr : localData) conf += "  local-data: \"" + rr + "\"\n";
  conf += "remote-control:\n  control-enable: no\n";
  const std::string path = dir.write("unbound.conf", conf);
  const std::string out = d + "/unbound.out";
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::close_range(3, ~0U, 0);
    ::execl(kBinary, kBinary, "-d", "-c", path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (!waitListening(port_)) {
    const std::string why = log();
    stop();
    FAIL("unbound did not start listening on 127.0.0.1@" << port_ << ": " << why);
  }
}

UnboundDot::~UnboundDot() { stop(); }

void UnboundDot::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string UnboundDot::log() const {
  return readFile(dir_ + "/unbound.log") + readFile(dir_ + "/unbound.out");
}

namespace {
size_t linesWith(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}
}  // namespace

size_t UnboundDot::queriesFor(const std::string& name) const {
  return linesWith(readFile(dir_ + "/unbound.log"), " " + name + " ");
}

size_t UnboundDot::failedHandshakes() const {
  return linesWith(readFile(dir_ + "/unbound.log"), "notice: ssl handshake failed");
}

bool DnsdistDoh::installed() { return ::access(kBinary, X_OK) == 0; }

DnsdistDoh::DnsdistDoh(const TempDir& dir, uint16_t port, const std::string& cert, const std::string& key,
                       const std::vector<std::pair<std::string, std::string>>& answers)
    : dir_(dir.path()), port_(port) {
  REQUIRE_MESSAGE(installed(), "dnsdist is needed: run .ci/deps");
  const std::string& d = dir_;
  // dnsdist always has a plain DNS listener (else it takes port 53): one the tests never use.
  std::string conf = "setSecurityPollSuffix(\"\")\n"
                     "setACL({\"127.0.0.0/8\"})\n"
                     "setLocal(\"127.0.0.1:" + std::to_string(freePort()) + "\")\n"
                     "addDOHLocal(\"127.0.0.1:" + std::to_string(port) + "\", \"" + cert + "\", \"" + key +
                     "\", \"/dns-query\")\n"
                     "addAction(AllRule(), LogAction(\"" + d + "/queries.log\", false, true, false))\n";
  for (const auto& [name, ip] : answers) {
    conf += "addAction(AndRule({QNameRule(\"" + name + "\"), QTypeRule(DNSQType.A)}), SpoofAction(\"" + ip + "\"))\n";
  }
  conf += "addAction(AllRule(), RCodeAction(DNSRCode.NXDOMAIN))\n";
  const std::string path = dir.write("dnsdist.conf", conf);
  const std::string out = d + "/dnsdist.out";
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::close_range(3, ~0U, 0);
    ::execl(kBinary, kBinary, "--supervised", "--disable-syslog", "-C", path.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (!waitListening(port_)) {
    const std::string why = readFile(out);
    stop();
    FAIL("dnsdist did not start listening on 127.0.0.1@" << port_ << ": " << why);
  }
}

DnsdistDoh::~DnsdistDoh() { stop(); }

void DnsdistDoh::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

size_t DnsdistDoh::queriesFor(const std::string& name) const {
  return linesWith(readFile(dir_ + "/queries.log"), " " + name + " ");
}

}  // namespace moat::testing
