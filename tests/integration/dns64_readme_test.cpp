// The Corefile examples of the dns64 README (CoreDNS's, repeated verbatim), read from the README
// and run by the real binary, asked with dig over ::1 (an IPv6 client) and 127.0.0.1. One Moat
// serves every example at once, each as its own block on its own free port, with a `file` zone
// appended to each as the A data behind dns64. A second pair of servers shows that the A
// question dns64 asks goes through forward and its egress check like any other query.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace dns64_readme_test {

using namespace moat::testing;

namespace {

struct Dug {
  std::string status;
  std::vector<std::string> answer;
};

// AAAA NAME asked of `server` ("::1" or "127.0.0.1").
Dug aaaa(uint16_t port, const std::string& server, const std::string& name) {
  const std::string out = dig(port, {"@" + server, name, "AAAA", "+noall", "+comments", "+answer"});
  Dug d;
  const size_t at = out.find("status: ");
  if (at != std::string::npos) d.status = out.substr(at + 8, out.find(',', at) - at - 8);
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != ';') d.answer.push_back(squeeze(line));
  }
  return d;
}

// The SOA's own TTL (300) caps the synthesized records; v4only's A has 3600, low's 60.
const char* kZone =
    "$ORIGIN example.org.\n"
    "@ 300 IN SOA ns.example.org. admin.example.org. 1 7200 3600 1209600 900\n"
    "@ 300 IN NS ns.example.org.\n"
    "ns 300 IN A 192.0.2.53\n"
    "v4only 3600 IN A 192.0.2.10\n"
    "v4only 3600 IN A 192.0.2.11\n"
    "low 60 IN A 198.51.100.7\n"
    "dual 300 IN A 192.0.2.20\n"
    "dual 300 IN AAAA 2001:db8::20\n"
    "txtonly 300 IN TXT \"no address\"\n";

// "{" -> "PORT {", the block's lines, and the data zone before its closing brace.
std::string withData(const ReadmeBlock& block, uint16_t port, const std::string& zoneFile) {
  std::string out = ".:" + std::to_string(port) + " {\n";
  for (size_t i = 1; i + 1 < block.text.size(); ++i) out += block.text[i] + "\n";
  out += "    file " + zoneFile + " example.org\n}\n";
  return out;
}

}  // namespace

TEST_CASE("dns64 README: every example, through dig over IPv6 and IPv4") {
  std::vector<ReadmeBlock> examples;
  ReadmeBlock withHosts;
  for (const ReadmeBlock& b : pluginReadme("dns64")) {
    if (b.lang == "corefile") examples.push_back(b);
    if (b.lang == "txt" && b.text.size() > 2 && b.text[2].find("hosts {") != std::string::npos) withHosts = b;
  }
  REQUIRE(examples.size() == 5);
  REQUIRE(!withHosts.text.empty());
  CHECK(squeeze(examples[0].text[1]) == "dns64");
  CHECK(squeeze(examples[1].text[1]) == "dns64 64:1337::/96");
  CHECK(squeeze(examples[2].text[2]) == "prefix 64:1337::/96");
  CHECK(squeeze(examples[3].text[2]) == "translate_all");
  CHECK(squeeze(examples[4].text[2]) == "allow_ipv4");

  TempDir dir;
  const std::string zone = dir.write("db.example.org", kZone);
  std::vector<uint16_t> ports;
  std::string corefile;
  for (size_t i = 1; i < examples.size(); ++i) {
    ports.push_back(freePort());
    corefile += withData(examples[i], ports.back(), zone);
  }
  // The README's hosts example as written (its own data), and the first example's block with
  // prometheus, whose /metrics shows the translations counted.
  const uint16_t hostsPort = freePort(), metricsPort = freePort();
  corefile += ".:" + std::to_string(hostsPort) + " {\n";
  for (size_t i = 1; i < withHosts.text.size(); ++i) corefile += withHosts.text[i] + "\n";
  std::string first = withData(examples[0], 0, zone);
  first = ".:@PORT@" + first.substr(first.find(' '));
  first.insert(first.rfind('}'), "    prometheus 127.0.0.1:" + std::to_string(metricsPort) + "\n");
  ServerProcess s(dir, first + corefile);
  for (uint16_t p : ports) REQUIRE(waitListening(p, "::1"));
  REQUIRE(waitListening(hostsPort));

  // 1. `dns64`: the well-known prefix, over IPv6 only.
  const uint16_t plain = s.port();
  auto v4only = aaaa(plain, "::1", "v4only.example.org");
  CHECK(v4only.status == "NOERROR");
  // A TTL 3600 capped by the SOA's TTL 300 (RFC 6147 5.1.7).
  CHECK(v4only.answer == std::vector<std::string>{"v4only.example.org. 300 IN AAAA 64:ff9b::c000:20a",
                                                  "v4only.example.org. 300 IN AAAA 64:ff9b::c000:20b"});
  CHECK(aaaa(plain, "::1", "low.example.org").answer ==
        std::vector<std::string>{"low.example.org. 60 IN AAAA 64:ff9b::c633:6407"});
  CHECK(aaaa(plain, "::1", "dual.example.org").answer ==
        std::vector<std::string>{"dual.example.org. 300 IN AAAA 2001:db8::20"});
  CHECK(aaaa(plain, "::1", "nothere.example.org").status == "NXDOMAIN");
  auto nodata = aaaa(plain, "::1", "txtonly.example.org");
  CHECK(nodata.status == "NOERROR");
  CHECK(nodata.answer.empty());
  auto overV4 = aaaa(plain, "127.0.0.1", "v4only.example.org");
  CHECK(overV4.status == "NOERROR");
  CHECK(overV4.answer.empty());  // an IPv4 client: file's NODATA as it is

  // 2. and 3. `dns64 64:1337::/96` and `prefix 64:1337::/96`: the same answer.
  for (size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(aaaa(ports[i], "::1", "low.example.org").answer ==
          std::vector<std::string>{"low.example.org. 60 IN AAAA 64:1337::c633:6407"});
  }

  // 4. `translate_all`: dual's own AAAA replaced by the synthesized one.
  CHECK(aaaa(ports[2], "::1", "dual.example.org").answer ==
        std::vector<std::string>{"dual.example.org. 300 IN AAAA 64:ff9b::c000:214"});
  CHECK(aaaa(ports[2], "::1", "nothere.example.org").status == "NXDOMAIN");

  // 5. `allow_ipv4`: IPv4 clients translated too.
  CHECK(aaaa(ports[3], "127.0.0.1", "low.example.org").answer ==
        std::vector<std::string>{"low.example.org. 60 IN AAAA 64:ff9b::c633:6407"});

  // The hosts example: the address the README promises (hosts' TTL 3600, no SOA: capped at 600).
  CHECK(aaaa(hostsPort, "::1", "ipv4only.example.").answer ==
        std::vector<std::string>{"ipv4only.example. 600 IN AAAA 64:ff9b::c000:20a"});

  const HttpReply metrics = httpGet(metricsPort, "/metrics");
  CHECK_MESSAGE(metrics.body.find("coredns_dns64_requests_translated_total{server=\"dns://:" +
                                  std::to_string(plain) + "\"} 3") != std::string::npos,
                metrics.body);
}

TEST_CASE("dns64: the A question goes through forward and its egress check like any other") {
  TempDir upDir, frontDir;
  ServerProcess up(upDir, ".:@PORT@ {\n    log\n    whoami\n}\n");
  ServerProcess front(frontDir, ".:@PORT@ {\n    dns64\n    private corp.example {\n        refuse\n    }\n"
                                "    forward . 127.0.0.1:" + std::to_string(up.port()) + "\n}\n");
  // whoami upstream has no AAAA for it (NODATA), so dns64 asks A, which forward sends too.
  auto pub = aaaa(front.port(), "::1", "pub.example");
  CHECK(pub.status == "NOERROR");
  CHECK(up.waitForOutput("\"AAAA IN pub.example. udp "));
  CHECK(up.waitForOutput("\"A IN pub.example. udp "));
  // Under a private zone forward may not send: the AAAA question is REFUSED by private, which
  // dns64 reads as "no AAAA" (RFC 6147 5.1.3) and asks A, which private refuses too.
  auto priv = aaaa(front.port(), "::1", "db.corp.example");
  CHECK(priv.status == "NOERROR");
  CHECK(priv.answer.empty());
  // A later public question's line proves the earlier ones were all logged by then.
  aaaa(front.port(), "::1", "later.example");
  CHECK(up.waitForOutput("\"A IN later.example. udp "));
  const std::string seen = up.stdoutText();
  CHECK_MESSAGE(seen.find("corp.example") == std::string::npos, seen);
}

}  // namespace dns64_readme_test
