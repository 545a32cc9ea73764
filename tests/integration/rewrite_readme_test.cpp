// The Corefiles of plugins/rewrite/README.md ("Examples"), run by the real binary and asked
// with dig, each exactly as the README writes it but for the listener (a free loopback port),
// the hosts files (written to a scratch directory) and forward's upstream (a recording
// FakeUpstream instead of 192.0.2.53). First CoreDNS's rewrite examples in one server, a hosts
// file standing in for the back ends (consul, google.com) so nothing leaves loopback; then TTL
// ranges and a type rule; then the private-zone promise: a rewrite that maps a private name to
// a public one (and back) never gets it to the upstream, which the FakeUpstream proves; last the
// EDNS0 and CNAME example, its two blocks in one server, the FakeUpstream showing the options
// that reached it.
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/leak_probe.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace rewrite_readme_test {

using namespace moat::testing;

namespace {

// dig's columns are tabs, more or fewer by the name's length: compared with single spaces.
bool has(const std::string& out, const std::string& text) {
  const std::string flat = std::regex_replace(out, std::regex("[ \t]+"), " ");
  return flat.find(text) != std::string::npos;
}

const char* kHosts =
    "10.10.10.10 ftp.service.us-west-1.consul\n"
    "10.20.20.20 ftp.service.us-west-1.consul\n"
    "10.0.0.3 ftp.service.consul\n"
    "10.0.0.4 www.google.com\n"
    "10.30.30.30 ftp-us-west-1.service.consul\n";

}  // namespace

TEST_CASE("rewrite README: the name, answer, ttl and rcode examples, in one server") {
  TempDir dir;
  const std::string hosts = dir.write("backends.hosts", kHosts);
  // The README's rules in the order that lets each keep its own names: the continue rules
  // first, the README's stop rules after.
  ServerProcess s(dir, ".:@PORT@ {\n"
                       "    rewrite continue {\n        ttl regex (.*)\\.coredns\\.rocks 15\n    }\n"
                       "    rewrite continue {\n        rcode regex (.*)\\.coredns\\.rocks SERVFAIL NOERROR\n    }\n"
                       "    rewrite name substring service.us-west-1.example.org service.us-west-1.consul\n"
                       "    rewrite name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.consul\n"
                       "    rewrite name suffix .schmoogle.com. .google.com.\n"
                       "    rewrite stop {\n"
                       "        name regex (.*)-(us-west-1)\\.coredns\\.rocks {1}.service.{2}.consul\n"
                       "        answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.coredns.rocks\n"
                       "    }\n"
                       "    rewrite stop {\n        name suffix .coredns.rocks .service.consul answer auto\n    }\n"
                       "    rewrite stop {\n"
                       "        name suffix .arpa .arpa\n"
                       "        answer name auto\n"
                       "        answer value (.*)\\.service\\.consul\\. {1}.coredns.rocks.\n"
                       "    }\n"
                       "    hosts " + hosts + " {\n        fallthrough\n    }\n"
                       "}\n");

  // substring: the question as asked, the consul records (no answer rewrite asked for).
  const std::string sub = dig(s.port(), {"ftp.service.us-west-1.example.org", "A"});
  CHECK_MESSAGE(has(sub, ";ftp.service.us-west-1.example.org. IN A"), sub);
  CHECK_MESSAGE(has(sub, "ftp.service.us-west-1.consul. 3600 IN A 10.10.10.10"), sub);
  // regex with groups.
  const std::string re = dig(s.port(), {"ftp-us-west-1.example.org", "A"});
  CHECK_MESSAGE(has(re, ";ftp-us-west-1.example.org. IN A"), re);
  CHECK_MESSAGE(has(re, "ftp.service.us-west-1.consul. 3600 IN A 10.20.20.20"), re);
  // suffix.
  const std::string g = dig(s.port(), {"www.schmoogle.com", "A"});
  CHECK_MESSAGE(has(g, "www.google.com. 3600 IN A 10.0.0.4"), g);
  // answer name: the answer matches the question again; the ttl rule set 15.
  const std::string named = dig(s.port(), {"ftp-us-west-1.coredns.rocks", "A"});
  CHECK_MESSAGE(has(named, ";ftp-us-west-1.coredns.rocks. IN A"), named);
  CHECK_MESSAGE(has(named, "ftp-us-west-1.coredns.rocks. 15 IN A 10.10.10.10"), named);
  CHECK_MESSAGE(has(named, "ftp-us-west-1.coredns.rocks. 15 IN A 10.20.20.20"), named);
  // answer auto on a suffix rule.
  const std::string autoed = dig(s.port(), {"ftp.coredns.rocks", "A"});
  CHECK_MESSAGE(has(autoed, "ftp.coredns.rocks. 15 IN A 10.0.0.3"), autoed);
  // rcode: nothing answers nothing.service.consul (SERVFAIL off the chain), the rule makes it NOERROR.
  const std::string rcode = dig(s.port(), {"nothing.coredns.rocks", "A"});
  CHECK_MESSAGE(has(rcode, "status: NOERROR"), rcode);
  const std::string servfail = dig(s.port(), {"nothing.example.org", "A"});
  CHECK_MESSAGE(has(servfail, "status: SERVFAIL"), servfail);
  // answer value: the PTR target rewritten.
  const std::string ptr = dig(s.port(), {"30.30.30.10.in-addr.arpa", "PTR"});
  CHECK_MESSAGE(has(ptr, "30.30.30.10.in-addr.arpa. 3600 IN PTR ftp-us-west-1.coredns.rocks."), ptr);
}

TEST_CASE("rewrite README: ttl ranges and the type rule") {
  TempDir dir;
  const std::string hosts = dir.write("h.hosts", "10.0.0.9 example.com\n10.0.0.8 capped.com\n");
  ServerProcess s(dir, ".:@PORT@ {\n"
                       "    rewrite continue ttl example.com. 30-300\n"
                       "    rewrite continue ttl capped.com. -30\n"
                       "    rewrite type ANY HINFO\n"
                       "    hosts " + hosts + "\n"
                       "}\n");
  CHECK(has(dig(s.port(), {"example.com", "A"}), "example.com. 300 IN A 10.0.0.9"));
  CHECK(has(dig(s.port(), {"capped.com", "A"}), "capped.com. 30 IN A 10.0.0.8"));
  // ANY asked, HINFO looked up (hosts has none: NOERROR, no data), the client sees ANY.
  const std::string any = dig(s.port(), {"example.com", "ANY"});
  CHECK_MESSAGE(has(any, ";example.com. IN ANY"), any);
  CHECK_MESSAGE(has(any, "status: NOERROR"), any);
}

TEST_CASE("rewrite and the private zones: a private name mapped to a public one never reaches the upstream") {
  FakeUpstream upstream;
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n"
                       "    rewrite name suffix .internal. .example.com. answer auto\n"
                       "    rewrite name suffix .toprivate.test. .corp.internal.\n"
                       "    rewrite name suffix .pub.test. .example.net. answer auto\n"
                       "    forward . " + upstream.address() + "\n"
                       "}\n");
  const std::vector<std::string> privateNames = {"api.internal", "db.corp.internal", "x.toprivate.test",
                                                 "API.Internal"};
  auto asked = leak::askAll(s.port(), privateNames, {"A", "AAAA", "MX"});
  for (const leak::Asked& a : asked) {
    CAPTURE(a.what());
    CHECK(a.reply.ok);
    CHECK(a.reply.rcode == 3);  // the private answer: NXDOMAIN with the zone's SOA
    CHECK(leak::soaOwner(a.reply) == "internal.");
  }
  // A public name through the same rules does reach it, rewritten, and comes back as asked.
  const std::string pub = dig(s.port(), {"www.pub.test", "A"});
  CHECK_MESSAGE(has(pub, "www.pub.test. 300 IN A 192.0.2.1"), pub);
  CHECK(leak::saw(upstream, "www.example.net."));
  // Nothing under a private zone, and none of the public names the private ones were mapped to.
  CHECK_MESSAGE(leak::seenUnder(upstream, leak::privateZones({})).empty(), leak::everythingSeen(upstream));
  CHECK_MESSAGE(!leak::saw(upstream, "api.example.com."), leak::everythingSeen(upstream));
  CHECK_MESSAGE(!leak::saw(upstream, "db.corp.example.com."), leak::everythingSeen(upstream));
  CHECK_MESSAGE(!leak::saw(upstream, "x.corp.internal."), leak::everythingSeen(upstream));
  // The leak probe of this test is a real one: the upstream got exactly the one public query
  // (and forward's health checks of "." if any).
  size_t publicQueries = 0;
  for (const auto& r : upstream.received()) publicQueries += r.name != "." ? 1 : 0;
  CHECK_MESSAGE(publicQueries == 1, leak::everythingSeen(upstream));
}


const char* kExampleZone =
    "$ORIGIN example.\n"
    "@       3600 IN SOA ns.example. admin.example. 1 7200 3600 1209600 300\n"
    "@       3600 IN NS  ns.example.\n"
    "ns      3600 IN A   192.0.2.1\n"
    "app     3600 IN CNAME app.cdn.example.\n"
    "app.cdn   60 IN A   20.2.0.1\n"
    "app.other 60 IN A   30.3.1.2\n";

// The options of the OPT of the last query `upstream` received for `name`; false when none came.
bool optionsSeen(const FakeUpstream& upstream, const std::string& name, Reply& out) {
  for (const auto& r : upstream.received()) {
    if (r.name == name) out = decode(r.message);
  }
  return out.ok;
}

TEST_CASE("rewrite README: edns0 options reach the upstream, the client sees none, a CNAME target rewritten") {
  FakeUpstream upstream;
  TempDir dir;
  const std::string zone = dir.write("db.example", kExampleZone);
  ServerProcess s(dir, ".:@PORT@ {\n"
                       "    rewrite continue edns0 subnet set 24 56\n"
                       "    rewrite continue edns0 nsid set\n"
                       "    rewrite edns0 local set 0xffee {client_ip} revert\n"
                       "    forward . " + upstream.address() + "\n"
                       "}\n"
                       "example.:@PORT@ {\n"
                       "    rewrite cname regex (.*)\\.cdn\\.example\\.$ {1}.other.example.\n"
                       "    file " + zone + "\n"
                       "}\n");
  const std::vector<std::pair<uint16_t, std::vector<uint8_t>>> sent = {
      {8, {0, 1, 24, 0, 127, 0, 0}}, {3, {}}, {0xffee, {127, 0, 0, 1}}};

  const std::string plain = dig(s.port(), {"www.example.net", "A", "+nsid", "+subnet=10.9.8.7/32"});
  CHECK_MESSAGE(has(plain, "www.example.net. 300 IN A 192.0.2.1"), plain);
  CHECK_MESSAGE(!has(plain, "CLIENT-SUBNET"), plain);
  CHECK_MESSAGE(!has(plain, "NSID"), plain);
  Reply seen;
  REQUIRE(optionsSeen(upstream, "www.example.net.", seen));
  CHECK(seen.hasOpt);
  // dig's own subnet and NSID replaced in place (its cookie, if it sent one, left as it was).
  for (const auto& option : sent) {
    size_t count = 0;
    for (const auto& o : seen.ednsOptions) count += o == option ? 1 : 0;
    CAPTURE(option.first);
    CHECK(count == 1);
  }
  for (const auto& o : seen.ednsOptions) {
    const bool expected = o.first == 8 || o.first == 3 || o.first == 0xffee || o.first == 10;  // 10: dig's cookie
    CHECK(expected);
  }

  const std::string noedns = dig(s.port(), {"noedns.example.net", "A", "+noedns"});
  CHECK_MESSAGE(has(noedns, "noedns.example.net. 300 IN A 192.0.2.1"), noedns);
  CHECK_MESSAGE(!has(noedns, "OPT PSEUDOSECTION"), noedns);
  Reply bare;
  REQUIRE(optionsSeen(upstream, "noedns.example.net.", bare));
  CHECK(bare.hasOpt);
  CHECK(bare.ednsOptions == sent);

  const std::string cname = dig(s.port(), {"app.example", "A"});
  CHECK_MESSAGE(has(cname, "app.example. 3600 IN CNAME app.other.example."), cname);
  CHECK_MESSAGE(has(cname, "app.other.example. 60 IN A 30.3.1.2"), cname);
  CHECK_MESSAGE(!has(cname, "20.2.0.1"), cname);
  // The zone's names never went upstream.
  CHECK_MESSAGE(!leak::saw(upstream, "app.other.example."), leak::everythingSeen(upstream));
}

}  // namespace rewrite_readme_test
