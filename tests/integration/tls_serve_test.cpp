// DNS over TLS served by the real binary and asked with kdig: the tls README's examples and
// CoreDNS's (plugin/tls/README.md) in one process on loopback ports, the client's checks of the
// certificate, client certificates, hostile connections closed within the `timeouts` read
// limit, and reloads that keep or replace the certificate.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/eventually.hpp"
#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/tls.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace tls_serve_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

// kdig over TLS to 127.0.0.1:port; `extra` are kdig options (+tls-ca=..., +tls-certfile=...).
std::string kdig(uint16_t port, const std::vector<std::string>& extra, const std::string& name) {
  std::vector<std::string> argv = {"/usr/bin/kdig", "@127.0.0.1", "-p", std::to_string(port), "+tls",
                                   "+time=2", "+retry=0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(name);
  argv.push_back("A");
  std::string out;
  runCommand(argv, out, 10s);
  return out;
}

bool answered(const std::string& out) { return out.find("status: NOERROR") != std::string::npos; }

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) text.replace(at, from.size(), to);
  return text;
}

// Replace the Corefile by rename, so the reloader never reads it half-written.
void replaceCorefile(const TempDir& dir, const std::string& text) {
  dir.write("Corefile.new", text);
  std::rename((dir.path() + "/Corefile.new").c_str(), (dir.path() + "/Corefile").c_str());
}

int connectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// How long until the server closes `fd` (reads return 0 or fail); `limit` when it never does.
std::chrono::milliseconds untilClosed(int fd, std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  char buf[512];
  while (std::chrono::steady_clock::now() - start < limit) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;  // a TLS alert may come before the close: read on
    }
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// The files the READMEs name, made by the test PKI (which writes ca.pem itself); hosts.txt for the tls README's first example.
void writeFiles(const TempDir& dir, const TestPki& pki) {
  namespace fs = std::filesystem;
  fs::copy_file(pki.serverCert(), dir.path() + "/cert.pem");
  fs::copy_file(pki.serverKey(), dir.path() + "/key.pem");
  dir.write("hosts.txt", "192.0.2.10 www.example.org\n");
}

}  // namespace

TEST_CASE("DNS over TLS: README examples answer kdig, client checks, hostile clients, reloads") {
  TempDir dir;
  TestPki pki(dir);
  writeFiles(dir, pki);
  const auto examples = pluginCorefiles("tls");
  REQUIRE(examples.size() == 2);
  const uint16_t mtlsPort = freePort(), corednsPort = freePort(), plainPort = freePort(), metricsPort = freePort();

  // Moat's tls README, first example: its port mapped, its upstream the plain block below, and
  // a 1 s read timeout so the stalled handshake below is closed quickly.
  std::string first = joined(examples[0]);
  first = replaceAll(first, "tls://.:853", "tls://.:@PORT@");
  first = replaceAll(first, "192.0.2.53", "127.0.0.1:" + std::to_string(plainPort));
  first = replaceAll(first, "    tls cert.pem key.pem\n",
                     "    tls cert.pem key.pem\n    timeouts {\n        read 1s\n    }\n    prometheus 127.0.0.1:" +
                         std::to_string(metricsPort) + "\n");
  // Its second example: client certificates signed by ca.pem required.
  const std::string second = replaceAll(joined(examples[1]), "tls://.:853", "tls://.:" + std::to_string(mtlsPort));
  // CoreDNS's plugin/tls/README.md, first example (DoT on 5553, forwarding to resolv.conf):
  //   tls://.:5553 {
  //       tls cert.pem key.pem ca.pem
  //       forward . /etc/resolv.conf
  //   }
  // with its port mapped and /etc/resolv.conf the plain block.
  const std::string coredns = "tls://.:" + std::to_string(corednsPort) +
                              " {\n\ttls cert.pem key.pem ca.pem\n\tforward . 127.0.0.1:" + std::to_string(plainPort) +
                              "\n}\n";
  const std::string plain = ".:" + std::to_string(plainPort) + " {\n    hosts {\n        192.0.2.20 up.example.org\n    }\n}\n";
  const std::string corefile = first + "\n" + second + "\n" + coredns + "\n" + plain;
  ServerProcess s(dir, corefile, {"-quiet"});
  const uint16_t port = s.port();
  for (uint16_t p : {mtlsPort, corednsPort, plainPort}) REQUIRE(waitListening(p));
  const std::vector<std::string> trusting = {"+tls-ca=" + pki.ca(), "+tls-hostname=dns.test"};

  // Answers over TLS: from hosts, and through forward for what hosts does not have.
  const std::string www = kdig(port, trusting, "www.example.org");
  CHECK_MESSAGE(answered(www), www);
  CHECK_MESSAGE(www.find("192.0.2.10") != std::string::npos, www);
  const std::string up = kdig(port, trusting, "up.example.org");
  CHECK_MESSAGE(up.find("192.0.2.20") != std::string::npos, up);
  const std::string viaCoredns = kdig(corednsPort, trusting, "up.example.org");
  CHECK_MESSAGE(viaCoredns.find("192.0.2.20") != std::string::npos, viaCoredns);
  // No UDP on a tls:// port.
  CHECK(exchangeUdp(port, {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1}, 300ms).empty());

  // A client that trusts another CA refuses the server's certificate: no answer.
  const std::string unknownCa = kdig(port, {"+tls-ca=" + pki.otherCa(), "+tls-hostname=dns.test"}, "www.example.org");
  CHECK_MESSAGE(!answered(unknownCa), unknownCa);

  // client_auth require_and_verify: no certificate, no answer; kdig's client certificate, an answer.
  const std::string noCert = kdig(mtlsPort, trusting, "whoami.example.org");
  CHECK_MESSAGE(!answered(noCert), noCert);
  std::vector<std::string> withCert = trusting;
  withCert.push_back("+tls-certfile=" + pki.clientCert());
  withCert.push_back("+tls-keyfile=" + pki.clientKey());
  const std::string mtls = kdig(mtlsPort, withCert, "whoami.example.org");
  CHECK_MESSAGE(answered(mtls), mtls);

  // Garbage instead of a ClientHello: closed at once. Silence after connecting: closed by the
  // 1 s read timeout, not before it, and not much after it.
  int garbage = connectTo(port);
  const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::write(garbage, junk, sizeof junk - 1) > 0);
  CHECK(untilClosed(garbage, 5s) < 1500ms);
  ::close(garbage);
  int stalled = connectTo(port);
  const auto waited = untilClosed(stalled, 5s);
  ::close(stalled);
  CHECK(waited >= 800ms);
  CHECK(waited < 2500ms);
  CHECK(answered(kdig(port, trusting, "www.example.org")));  // the server kept answering

  // DoT is "tcp" in metrics, as CoreDNS; the server label names the transport.
  const HttpReply metrics = httpGet(metricsPort, "/metrics");
  CHECK(metrics.body.find("coredns_dns_requests_total{family=\"1\",proto=\"tcp\",server=\"tls://:" +
                          std::to_string(port) + "\"") != std::string::npos);
  // The garbage, the stalled client, the unknown CA and the client without a certificate.
  const std::string failures = "moat_tls_handshake_failures_total ";
  const size_t at = metrics.body.find("\n" + failures);
  REQUIRE_MESSAGE(at != std::string::npos, metrics.body);
  CHECK(std::stoi(metrics.body.substr(at + 1 + failures.size())) >= 3);

  // A reload whose certificate does not load keeps the running configuration and says where.
  const std::string broken = replaceAll(corefile, "tls cert.pem key.pem\n", "tls missing.pem key.pem\n");
  replaceCorefile(dir, replaceAll(broken, "@PORT@", std::to_string(port)));
  REQUIRE(s.signal(SIGUSR1));
  CHECK(s.waitForOutput("reload failed", 1, 5s));
  CHECK_MESSAGE(s.stdoutText().find("Corefile:2:5: tls: cannot load certificate " + dir.path() + "/missing.pem") !=
                    std::string::npos,
                s.stdoutText());
  CHECK(answered(kdig(port, trusting, "www.example.org")));

  // A reload with another certificate (expired): connections after it get that one, and kdig
  // refuses it; the port never stopped listening.
  const std::string expired = replaceAll(corefile, "tls cert.pem key.pem\n", "tls expired.pem key.pem\n");
  replaceCorefile(dir, replaceAll(expired, "@PORT@", std::to_string(port)));
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] { return !answered(kdig(port, trusting, "www.example.org")); }, 5s));
  CHECK(answered(kdig(mtlsPort, withCert, "whoami.example.org")));  // another block, its own certificate

  // A renewal: the file is replaced, the Corefile is not; SIGUSR1 reads the files again.
  std::filesystem::copy_file(pki.serverCert(), dir.path() + "/expired.pem",
                             std::filesystem::copy_options::overwrite_existing);
  REQUIRE(s.signal(SIGUSR1));
  CHECK(eventually([&] { return answered(kdig(port, trusting, "www.example.org")); }, 5s));
}

TEST_CASE("DNS over TLS: a tls:// block without tls, a port both dns:// and tls://, and CoreDNS's grpc:// and https:// examples, refused at start") {
  TempDir dir;
  TestPki pki(dir);
  struct Case {
    std::string corefile;
    std::string message;
  };
  // The last two come from CoreDNS's plugin/tls/README.md (gRPC and DoH examples).
  const Case cases[] = {
      {"tls://.:8853 {\n    whoami\n}\n", "Corefile:1:1: a tls:// server block needs a certificate"},
      {".:8853 {\n    whoami\n}\ntls://example.org:8853 {\n    tls server.pem server.key\n    whoami\n}\n",
       "Corefile:4:1: tls://example.org. is on port 8853, which another block serves as dns://"},
      {"grpc://. {\n\ttls cert.pem key.pem ca.pem\n\tforward . /etc/resolv.conf\n}\n",
       "Corefile:1:1: transport grpc:// is not implemented by Moat"},
      {"https://. {\n\ttls cert.pem key.pem ca.pem\n\tforward . /etc/resolv.conf\n}\n",
       "Corefile:1:1: transport https:// is not implemented by Moat"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    const std::string path = dir.write("Corefile", c.corefile);
    std::string out;
    CHECK(runCommand({MOAT_BINARY, "-conf", path}, out, 10s) == 1);
    CHECK_MESSAGE(out.find(c.message) != std::string::npos, out);
  }
}

}  // namespace tls_serve_test
