// Parsing `forward` stanzas: defaults, every option, TO forms and positioned errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dns/name.hpp"
#include "plugins/forward/test_util.hpp"

namespace moat::plugins::forward {
namespace {

using testing::parse;
using namespace std::chrono_literals;

conf::Diag parseError(const std::string& corefile) {
  auto r = parse(corefile);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-fwd-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
  std::string path;
};

TEST_CASE("forward: defaults match CoreDNS") {
  auto r = parse(". {\n  forward . 127.0.0.1\n}\n");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  const auto& s = r->front();
  CHECK(s.from == ".");
  REQUIRE(s.upstreams.size() == 1);
  CHECK(s.upstreams[0].text == "127.0.0.1:53");
  const auto& o = s.options;
  CHECK(o.expire == 10s);
  CHECK(o.readTimeout == 2s);
  CHECK(o.maxFails == 2);
  CHECK(o.healthCheck == 500ms);
  CHECK(o.hcRecursionDesired);
  CHECK(o.hcDomainText == ".");
  CHECK(o.policy == Policy::Random);
  CHECK(o.maxConcurrent == 0);
  CHECK(o.attemptCap(3) == 6);
  CHECK_FALSE(o.forceTcp);
  CHECK_FALSE(o.preferUdp);
}

TEST_CASE("forward: TO forms, duplicates dropped, order kept") {
  auto r = parse(
      ". {\n  forward Example.ORG 10.0.0.1:5353 [::1]:5300 dns://10.0.0.2 ::1 10.0.0.1:5353 "
      "DNS://[2001:db8::1]\n}\n");
  REQUIRE(r.ok());
  const auto& s = r->front();
  CHECK(s.from == "example.org.");
  std::vector<std::string> texts;
  for (const auto& u : s.upstreams) texts.push_back(u.text);
  CHECK(texts == std::vector<std::string>{"10.0.0.1:5353", "[::1]:5300", "10.0.0.2:53", "[::1]:53",
                                          "[2001:db8::1]:53"});
}

TEST_CASE("forward: resolv.conf files give their nameservers on port 53") {
  TempDir dir;
  dir.write("resolv.conf",
            "# comment\nsearch example.org\nnameserver 10.1.1.1\nnameserver ::1 # trailing\n"
            "nameserver not-an-ip\noptions ndots:5\nnameserver fe80::1%eth0\n");
  SUBCASE("absolute path") {
    auto r = parse(". {\n  forward . " + dir.path + "/resolv.conf 10.1.1.1\n}\n");
    REQUIRE(r.ok());
    const auto& up = r->front().upstreams;
    REQUIRE(up.size() == 3);
    CHECK(up[0].text == "10.1.1.1:53");
    CHECK(up[1].text == "[::1]:53");
    CHECK(up[2].text == "[fe80::1]:53");
  }
  SUBCASE("relative to the Corefile's directory") {
    auto r = parse(". {\n  forward . resolv.conf\n}\n", nullptr, dir.path);
    REQUIRE(r.ok());
    CHECK(r->front().upstreams.size() == 3);
  }
  SUBCASE("an empty file is skipped with a warning; alone it is an error") {
    dir.write("empty.conf", "# nothing\n");
    std::vector<conf::Diag> warnings;
    auto ok = parse(". {\n  forward . " + dir.path + "/empty.conf 10.0.0.9\n}\n", &warnings);
    REQUIRE(ok.ok());
    CHECK(ok->front().upstreams.size() == 1);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].severity == conf::Severity::Warning);
    auto err = parse(". {\n  forward . " + dir.path + "/empty.conf\n}\n");
    REQUIRE_FALSE(err.ok());
    CHECK(err.error().message.find("no valid upstream") != std::string::npos);
  }
}

TEST_CASE("forward: every option") {
  auto r = parse(
      ". {\n"
      "  forward example.org 10.0.0.1 10.0.0.2 {\n"
      "    except a.example.org B.Example.Org\n"
      "    force_tcp\n"
      "    prefer_udp\n"
      "    expire 20s\n"
      "    max_age 30s\n"
      "    max_idle_conns 4\n"
      "    read_timeout 750ms\n"
      "    max_fails 5\n"
      "    max_connect_attempts 3\n"
      "    health_check 1s no_rec domain Health.Example.\n"
      "    policy round_robin\n"
      "    max_concurrent 100\n"
      "    next NXDOMAIN refused\n"
      "    next_on_nodata\n"
      "    failover SERVFAIL REFUSED\n"
      "    failfast_all_unhealthy_upstreams\n"
      "    source_address 127.0.0.1\n"
      "  }\n"
      "}\n");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().str()));
  const auto& s = r->front();
  const auto& o = s.options;
  CHECK(s.except.size() == 2);
  CHECK(o.forceTcp);
  CHECK(o.preferUdp);
  CHECK(o.expire == 20s);
  CHECK(o.maxAge == 30s);
  CHECK(o.maxIdleConns == 4);
  CHECK(o.readTimeout == 750ms);
  CHECK(o.maxFails == 5);
  CHECK(o.attemptCap(2) == 3);
  CHECK(o.healthCheck == 1s);
  CHECK_FALSE(o.hcRecursionDesired);
  CHECK(o.hcDomainText == "health.example.");
  CHECK(o.policy == Policy::RoundRobin);
  CHECK(o.maxConcurrent == 100);
  CHECK(o.next.has(3));
  CHECK(o.next.has(5));
  CHECK_FALSE(o.next.has(2));
  CHECK(o.nextOnNodata);
  CHECK(o.failover.has(2));
  CHECK(o.failover.has(5));
  CHECK(o.failfastAllUnhealthy);
  REQUIRE(o.sourceAddress.has_value());
  CHECK(o.sourceAddress->to_string() == "127.0.0.1");
}

TEST_CASE("forward: FROM and except decide what is forwarded") {
  auto r = parse(". {\n  forward example.org 10.0.0.1 {\n    except a.example.org\n  }\n}\n");
  REQUIRE(r.ok());
  const auto& s = r->front();
  auto matches = [&](const char* name) {
    return s.matches(dns::lowercased(*dns::nameFromText(name)));
  };
  CHECK(matches("example.org."));
  CHECK(matches("WWW.Example.org."));
  CHECK_FALSE(matches("a.example.org."));
  CHECK_FALSE(matches("x.A.example.org."));
  CHECK_FALSE(matches("example.com."));
  CHECK_FALSE(matches("org."));
}

TEST_CASE("forward: a CIDR FROM keeps its first zone, with a warning") {
  std::vector<conf::Diag> warnings;
  auto r = parse(". {\n  forward 10.9.3.0/18 10.0.0.1\n}\n", &warnings);
  REQUIRE(r.ok());
  CHECK(r->front().from == "0.9.10.in-addr.arpa.");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].pos.line == 2);
}

TEST_CASE("forward: errors carry the position of the offending token") {
  struct Case {
    std::string block;  // option lines inside the forward block (line 3 onwards)
    std::string args;   // FROM and TO (line 2, from column 11)
    uint32_t line, col;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"    bogus_option 1\n", ". 10.0.0.1", 3, 5, "unknown option 'bogus_option'"},
      {"    polcy random\n", ". 10.0.0.1", 3, 5, "policy"},
      {"    policy fastest\n", ". 10.0.0.1", 3, 12, "unknown policy"},
      {"    failover NOERROR\n", ". 10.0.0.1", 3, 14, "NOERROR"},
      {"    failover BOGUS\n", ". 10.0.0.1", 3, 14, "not a valid rcode"},
      {"    next BADVERS\n", ". 10.0.0.1", 3, 10, "not implemented by Moat"},
      {"    read_timeout 0s\n", ". 10.0.0.1", 3, 18, "positive"},
      {"    expire 5\n", ". 10.0.0.1", 3, 12, "duration"},
      {"    max_fails -1\n", ". 10.0.0.1", 3, 15, "max_fails"},
      {"    max_concurrent\n", ". 10.0.0.1", 3, 5, "max_concurrent"},
      {"    force_tcp yes\n", ". 10.0.0.1", 3, 15, "force_tcp"},
      {"    health_check 1s bogus\n", ". 10.0.0.1", 3, 21, "unknown option bogus"},
      {"    except example.org\n", "example.org 10.0.0.1", 3, 12, "cannot be excepted"},
      {"    tls a b c d\n", ". tls://10.0.0.1", 3, 15, "at most 3 arguments"},
      {"    tls /nonexistent/ca.pem\n", ". tls://10.0.0.1", 3, 5, "cannot load CA /nonexistent/ca.pem"},
      {"    tls_servername a.example\n", ". tls://10.0.0.1%dns.example", 2, 3, "must not be set"},
      {"    doh_method PUT\n", ". https://10.0.0.1", 3, 16, "GET or POST"},
      {"    resolver 10.0.0.53\n", ". 10.0.0.1", 3, 5, "not implemented by Moat"},
      {"    source_address nowhere\n", ". 10.0.0.1", 3, 20, "invalid IP address"},
      {"    max_age 5s\n", ". 10.0.0.1", 2, 3, "max_age"},
      {"", ". tls://9.9.9.9%", 2, 13, "empty server name"},
      {"", ". tls://dns.quad9.net", 2, 13, "not tls://IP[%NAME][:PORT]"},
      {"", ". https://10.0.0.1/dns-query", 2, 13, "paths are not allowed"},
      {"", ". https://dns.example", 2, 13, "not https://IP[:PORT]"},
      {"", ". grpc://10.0.0.1", 2, 13, "not supported"},
      {"", ". /nonexistent/resolv.conf", 2, 13, "not an IP address or a readable file"},
      {"", ". 10.0.0.1:99999", 2, 13, "not an IP address"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.block);
    CAPTURE(c.args);
    std::string text = ". {\n  forward " + c.args;
    text += c.block.empty() ? "\n" : " {\n" + c.block + "  }\n";
    text += "}\n";
    auto err = parseError(text);
    CAPTURE(err.str());
    CHECK(err.pos.line == c.line);
    CHECK(err.pos.col == c.col);
    CHECK(err.message.find(c.needle) != std::string::npos);
    CHECK(err.message.rfind("forward: ", 0) == 0);
  }
}

TEST_CASE("forward: tls:// and https:// upstreams, ports 853 and 443 by default, each with the name its certificate is checked against") {
  auto r = parse(". {\n  forward . tls://9.9.9.9 tls://149.112.112.112%dns.quad9.net:10853 "
                 "tls://[2620:fe::fe]%dns.quad9.net 10.0.0.1 {\n    tls\n  }\n}\n");
  REQUIRE(r.ok());
  const auto& s = r->front();
  REQUIRE(s.upstreams.size() == 4);
  CHECK(s.upstreams[0].tls);
  CHECK(s.upstreams[0].text == "9.9.9.9:853");
  CHECK(s.tlsNameOf(s.upstreams[0]) == "9.9.9.9");  // no name given: the certificate must carry the IP
  CHECK(s.upstreams[1].text == "149.112.112.112:10853");
  CHECK(s.tlsNameOf(s.upstreams[1]) == "dns.quad9.net");
  CHECK(s.upstreams[2].text == "[2620:fe::fe]:853");
  CHECK(s.tlsNameOf(s.upstreams[2]) == "dns.quad9.net");
  CHECK_FALSE(s.upstreams[3].tls);  // plain DNS beside TLS, as CoreDNS allows
  CHECK_FALSE(s.upstreams[0].doh);

  auto doh = parse(". {\n  forward . https://9.9.9.9 https://[2620:fe::fe]:8443 {\n    doh_method GET\n  }\n}\n");
  REQUIRE(doh.ok());
  CHECK(doh->front().upstreams[0].text == "9.9.9.9:443");
  CHECK(doh->front().upstreams[0].doh);
  CHECK(doh->front().upstreams[0].tls);
  CHECK(doh->front().upstreams[1].text == "[2620:fe::fe]:8443");
  CHECK(doh->front().options.dohGet);
  CHECK(s.tlsContext != nullptr);

  auto named = parse(". {\n  forward . tls://1.1.1.1 {\n    tls_servername Cloudflare-DNS.com\n  }\n}\n");
  REQUIRE(named.ok());
  CHECK(named->front().tlsNameOf(named->front().upstreams[0]) == "cloudflare-dns.com");

  auto plain = parse(". {\n  forward . 10.0.0.1 {\n    tls\n  }\n}\n");
  REQUIRE(plain.ok());
  CHECK(plain->front().tlsContext == nullptr);  // no tls:// upstream: no context, no file read
}

TEST_CASE("forward: argument count and upstream limit") {
  auto missing = parseError(". {\n  forward .\n}\n");
  CHECK(missing.pos.line == 2);
  CHECK(missing.pos.col == 3);
  std::string many = ". {\n  forward .";
  for (int i = 1; i <= 16; ++i) many += " 10.0.0." + std::to_string(i);
  auto tooMany = parseError(many + "\n}\n");
  CHECK(tooMany.message.find("more than 15") != std::string::npos);
  // Sixteen written, fifteen distinct: fine.
  std::string dup = ". {\n  forward .";
  for (int i = 1; i <= 15; ++i) dup += " 10.0.0." + std::to_string(i);
  CHECK(parse(dup + " 10.0.0.1\n}\n").ok());
}

TEST_CASE("forward: several stanzas keep Corefile order") {
  auto r = parse(
      ". {\n  forward lab.example 10.0.0.1\n  forward example 10.0.0.2\n  forward . 10.0.0.3\n}\n");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].from == "lab.example.");
  CHECK((*r)[1].from == "example.");
  CHECK((*r)[2].from == ".");
}

}  // namespace
}  // namespace moat::plugins::forward
