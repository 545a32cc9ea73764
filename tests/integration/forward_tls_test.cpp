// forward to tls:// upstreams against a real DoT server: unbound, with certificates the openssl
// command made for the test (tests/support/tls.hpp). What a user of `forward . tls://1.1.1.1 {
// tls_servername cloudflare-dns.com }` relies on: answers over a connection that is reused and
// pipelined, sessions resumed, every certificate problem a SERVFAIL in bounded time with its
// reason logged once, and a private name that never opens a connection.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/tls.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace forward_tls_test {

using namespace moat::testing;
using namespace std::chrono_literals;

namespace {

const std::string kRecord = "www.example.org. 300 IN A 192.0.2.10";

// The sum of every sample whose line starts with `prefix` ("name{" or "name{label=\"v\"") and
// whose labels contain `labelPart` (e.g. the block's port).
double metricSum(uint16_t metricsPort, const std::string& prefix, const std::string& labelPart) {
  HttpReply r = httpGet(metricsPort, "/metrics");
  REQUIRE(r.status == 200);
  std::istringstream in(r.body);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0 || line.find(labelPart) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string status(const std::string& digOutput) {
  const auto at = digOutput.find("status: ");
  return at == std::string::npos ? "no reply" : digOutput.substr(at + 8, digOutput.find(',', at) - at - 8);
}

// Sets an environment variable for the processes the test starts, and puts it back after.
struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  const char* name_;
};

}  // namespace

TEST_CASE("forward tls://: unbound answers over one reused, pipelined connection per worker, sessions resume, and a private name opens no connection") {
  REQUIRE(UnboundDot::installed());
  TempDir dir, unboundDir;
  TestPki pki(dir);
  UnboundDot unbound(unboundDir, freePort(), pki.serverCert(), pki.serverKey(), {kRecord});
  const std::string up = "127.0.0.1:" + std::to_string(unbound.port());
  const uint16_t metrics = freePort(), clientCert = freePort(), resume = freePort(), privateOnly = freePort();
  // `tls` without arguments trusts the system's roots, which OpenSSL takes from SSL_CERT_FILE.
  ScopedEnv roots("SSL_CERT_FILE", pki.ca());
  ServerProcess s(dir,
                  ".:@PORT@ {\n  forward . tls://" + up + " {\n    tls\n    tls_servername dns.test\n  }\n"
                  "  prometheus 127.0.0.1:" + std::to_string(metrics) + "\n}\n"
                  ".:" + std::to_string(clientCert) + " {\n  forward . tls://127.0.0.1%dns.test:" +
                      std::to_string(unbound.port()) + " {\n    tls " + pki.clientCert() + " " +
                      pki.clientKey() + " " + pki.ca() + "\n  }\n}\n"
                  ".:" + std::to_string(resume) + " {\n  forward . tls://" + up + " {\n    tls " + pki.ca() +
                      "\n    tls_servername dns.test\n    expire 100ms\n  }\n}\n"
                  ".:" + std::to_string(privateOnly) + " {\n  forward . tls://" + up + " {\n    tls " +
                      pki.ca() + "\n    tls_servername dns.test\n  }\n}\n");
  REQUIRE(waitListening(metrics));

  {
    // Each form of `tls` reaches unbound and gets its answer.
    CHECK(dig(s.port(), {"+short", "www.example.org"}) == "192.0.2.10\n");
    CHECK(dig(clientCert, {"+short", "www.example.org"}) == "192.0.2.10\n");
    CHECK(status(dig(s.port(), {"nothing.example.org"})) == "NXDOMAIN");
    CHECK(dig(s.port(), {"+tcp", "+short", "www.example.org"}) == "192.0.2.10\n");
  }
  {
    // 64 queries at once: each worker keeps one connection and writes queries as they come, so
    // the handshakes stay at one per worker, not one per query.
    std::vector<std::future<std::vector<uint8_t>>> replies;
    for (uint16_t k = 0; k < 64; ++k) {
      replies.push_back(std::async(std::launch::async, [&s, k] {
        return exchangeUdp(s.port(), makeQuery({.name = "www.example.org.", .id = static_cast<uint16_t>(k + 1)}));
      }));
    }
    size_t answered = 0;
    for (auto& f : replies) {
      auto r = decode(f.get());
      answered += r.ok && r.rcode == 0 && r.answer.size() == 1;
    }
    CHECK(answered == 64);
    const std::string block = ":" + std::to_string(s.port()) + "\"";
    const double handshakes = metricSum(metrics, "moat_forward_tls_handshakes_total{", block);
    MESSAGE("67 queries to one upstream took " << handshakes << " TLS handshakes");
    CHECK(handshakes >= 1);
    CHECK(handshakes <= 4);  // one per worker (two or so here), each connection reused
    CHECK(unbound.queriesFor("www.example.org.") >= 66);
  }
  {
    // expire 100ms closes the idle connection; the next query's handshake resumes the session.
    const std::string block = ":" + std::to_string(resume) + "\"";
    const auto resumed = [&] {
      return metricSum(metrics, "moat_forward_tls_handshakes_total{resumed=\"true\"", block);
    };
    CHECK(eventually([&] {
      CHECK(dig(resume, {"+short", "www.example.org"}) == "192.0.2.10\n");
      return resumed() >= 1;
    }, 10s, 50ms));
  }
  {
    // A private name (internal. is built in) gets its NXDOMAIN here and opens no TLS connection;
    // the first public name then does, so the counter read is the one that would have moved.
    const std::string block = ":" + std::to_string(privateOnly) + "\"";
    CHECK(status(dig(privateOnly, {"api.internal"})) == "NXDOMAIN");
    CHECK(status(dig(privateOnly, {"+tcp", "db.corp.internal"})) == "NXDOMAIN");
    CHECK(metricSum(metrics, "moat_forward_tls_handshakes_total{", block) == 0);
    CHECK(metricSum(metrics, "coredns_proxy_conn_cache_misses_total{", block) == 0);
    CHECK(unbound.queriesFor("api.internal.") == 0);
    CHECK(unbound.queriesFor("db.corp.internal.") == 0);
    CHECK(dig(privateOnly, {"+short", "www.example.org"}) == "192.0.2.10\n");
    CHECK(metricSum(metrics, "moat_forward_tls_handshakes_total{", block) == 1);
  }
}

TEST_CASE("forward tls://: a wrong server name, an unknown CA and an expired certificate each give SERVFAIL at once, the reason logged once") {
  REQUIRE(UnboundDot::installed());
  TempDir dir, goodDir, expiredDir;
  TestPki pki(dir);
  UnboundDot good(goodDir, freePort(), pki.serverCert(), pki.serverKey(), {kRecord});
  UnboundDot expired(expiredDir, freePort(), pki.expiredCert(), pki.serverKey(), {kRecord});
  const uint16_t unknownCa = freePort(), stale = freePort();
  ServerProcess s(dir,
                  ".:@PORT@ {\n  forward . tls://127.0.0.1%wrong.test:" + std::to_string(good.port()) +
                      " {\n    tls " + pki.ca() + "\n  }\n  errors\n}\n"
                  ".:" + std::to_string(unknownCa) + " {\n  forward . tls://127.0.0.1:" +
                      std::to_string(good.port()) + " {\n    tls " + pki.otherCa() +
                      "\n    tls_servername dns.test\n  }\n}\n"
                  ".:" + std::to_string(stale) + " {\n  forward . tls://127.0.0.1%dns.test:" +
                      std::to_string(expired.port()) + " {\n    tls " + pki.ca() + "\n  }\n}\n");
  REQUIRE(waitListening(stale));
  // dig waits 2 s (+time=2 +tries=1): an answer at all is the bound.
  for (int round = 0; round < 3; ++round) {
    CHECK(status(dig(s.port(), {"www.example.org"})) == "SERVFAIL");
    CHECK(status(dig(unknownCa, {"www.example.org"})) == "SERVFAIL");
    CHECK(status(dig(stale, {"www.example.org"})) == "SERVFAIL");
  }
  CHECK(good.queriesFor("www.example.org.") == 0);  // no query crossed a rejected handshake
  CHECK(expired.queriesFor("www.example.org.") == 0);
  const std::string err = s.stderrText() + s.stdoutText();
  CHECK(count(err, "handshake failed: certificate rejected: hostname mismatch") == 1);
  CHECK(count(err, "handshake failed: certificate rejected: unable to get local issuer certificate") == 1);
  CHECK(count(err, "handshake failed: certificate rejected: certificate has expired") == 1);
  CHECK(count(err, "tls 127.0.0.1:" + std::to_string(good.port()) + ": tls handshake failed") >= 3);  // errors

  // A CA file that does not load is a load error at the `tls` line.
  TempDir bad;
  const std::string corefile = bad.write("Corefile", ".:" + std::to_string(freePort()) +
                                                         " {\n  forward . tls://127.0.0.1 {\n    tls " +
                                                         bad.path() + "/nope.pem\n  }\n}\n");
  std::string out;
  CHECK(runCommand({MOAT_BINARY, "-conf", corefile}, out) != 0);
  INFO(out);
  CHECK(out.find(corefile + ":3:5") != std::string::npos);
  CHECK(out.find("cannot load CA " + bad.path() + "/nope.pem: No such file or directory") != std::string::npos);
}

// The DoT examples of CoreDNS's plugin/forward/README.md, as written apart from their addresses:
// each public resolver is the local unbound (1.0.0.1 and 8.8.4.4 on 127.0.0.2, the others on
// 127.0.0.1), whose certificate carries the names the examples check (dns.quad9.net,
// cloudflare-dns.com, dns.google), trusted as a system root through SSL_CERT_FILE. The DoH
// example (https://9.9.9.9) is left out: Moat has no DoH upstream.
TEST_CASE("forward tls://: the DoT examples of CoreDNS's forward README answer through unbound") {
  REQUIRE(UnboundDot::installed());
  TempDir dir, unboundDir;
  TestPki pki(dir);
  UnboundDot unbound(unboundDir, freePort(), pki.serverCert(), pki.serverKey(), {kRecord});
  const std::string u = ":" + std::to_string(unbound.port());
  const std::string a = "tls://127.0.0.1" + u, b = "tls://127.0.0.2" + u;
  ScopedEnv roots("SSL_CERT_FILE", pki.ca());
  const uint16_t domain = freePort(), two = freePort(), split = freePort(), google = freePort(),
                 cloudflare = freePort();
  auto port = [](uint16_t p) { return std::to_string(p); };
  ServerProcess s(dir,
                  ".:@PORT@ {\n    forward . " + a + " {\n       tls_servername dns.quad9.net\n"
                  "       health_check 5s\n    }\n    cache 30\n}\n"
                  ".:" + port(domain) + " {\n    forward . " + a + " {\n       tls_servername dns.quad9.net\n"
                  "       health_check 5s domain example.org\n    }\n    cache 30\n}\n"
                  ".:" + port(two) + " {\n    forward . " + a + " " + b + " {\n"
                  "       tls_servername cloudflare-dns.com\n       health_check 5s\n    }\n    cache 30\n}\n"
                  ".:" + port(split) + " {\n    forward . 127.0.0.1:" + port(google) + " 127.0.0.1:" +
                      port(cloudflare) + "\n}\n"
                  ".:" + port(google) + " {\n    forward . " + a + " " + b + " {\n"
                  "        tls_servername dns.google\n    }\n}\n"
                  ".:" + port(cloudflare) + " {\n    forward . " + a + " " + b + " {\n"
                  "        tls_servername cloudflare-dns.com\n    }\n}\n");
  REQUIRE(waitListening(cloudflare));
  for (uint16_t p : {s.port(), domain, two, split, google, cloudflare}) {
    CAPTURE(p);
    CHECK(dig(p, {"+short", "www.example.org"}) == "192.0.2.10\n");
  }
  CHECK(s.stderrText().find("handshake failed") == std::string::npos);
}

// DNS over HTTPS: dnsdist's DoH frontend (HTTP/1.1 here) stands in for the public resolver.
TEST_CASE("forward https://: dnsdist's DoH frontend answers POST and GET over kept-alive connections, a private name opens none, and CoreDNS's DoH example runs") {
  REQUIRE(DnsdistDoh::installed());
  TempDir dir, dohDir;
  TestPki pki(dir);
  DnsdistDoh doh(dohDir, freePort(), pki.serverCert(), pki.serverKey(), {{"www.example.org.", "192.0.2.10"}});
  const std::string up = "https://127.0.0.1:" + std::to_string(doh.port());
  const uint16_t metrics = freePort(), get = freePort(), example = freePort();
  ScopedEnv roots("SSL_CERT_FILE", pki.ca());
  ServerProcess s(dir,
                  ".:@PORT@ {\n  forward . " + up + " {\n    tls " + pki.ca() + "\n    tls_servername dns.test\n  }\n"
                  "  prometheus 127.0.0.1:" + std::to_string(metrics) + "\n}\n"
                  ".:" + std::to_string(get) + " {\n  forward . " + up + " {\n    tls_servername dns.test\n"
                  "    doh_method GET\n  }\n}\n"
                  // plugin/forward/README.md's DoH example, 9.9.9.9 moved to the local dnsdist.
                  ".:" + std::to_string(example) + " {\n    forward . " + up + " {\n"
                  "       tls_servername dns.quad9.net\n       health_check 5s\n    }\n    cache 30\n}\n");
  REQUIRE(waitListening(metrics));
  // Private names first: nothing may reach dnsdist, and no connection may open.
  CHECK(status(dig(s.port(), {"api.internal"})) == "NXDOMAIN");
  CHECK(status(dig(get, {"+tcp", "db.cluster.local"})) == "NXDOMAIN");
  const std::string https = "coredns_proxy_conn_cache_misses_total{proto=\"https\"";
  CHECK(metricSum(metrics, https, "") == 0);
  CHECK(doh.queriesFor("api.internal.") == 0);
  CHECK(doh.queriesFor("db.cluster.local.") == 0);

  for (int k = 0; k < 5; ++k) {
    CHECK(dig(s.port(), {"+short", "www.example.org"}) == "192.0.2.10\n");  // POST
    CHECK(dig(get, {"+short", "www.example.org"}) == "192.0.2.10\n");       // GET
  }
  CHECK(dig(example, {"+short", "www.example.org"}) == "192.0.2.10\n");
  CHECK(status(dig(s.port(), {"nothing.example.org"})) == "NXDOMAIN");
  CHECK(doh.queriesFor("www.example.org.") == 11);
  // Kept alive: 12 queries, a connection per worker and block at most (3 blocks, 2 or so workers).
  const double opened = metricSum(metrics, https, "");
  const double reused = metricSum(metrics, "coredns_proxy_conn_cache_hits_total{proto=\"https\"", "");
  MESSAGE("12 DoH queries: " << opened << " connections opened, " << reused << " reused");
  CHECK(opened + reused == 12);
  CHECK(opened <= 6);
  CHECK(s.stderrText().find("handshake failed") == std::string::npos);
}

}  // namespace forward_tls_test
