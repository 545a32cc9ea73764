// The Corefile examples of plugins/template/README.md, read from the README and run by the real
// binary, asked with dig. One Moat serves every example at once, each as its own block on its own
// free port; their `forward . 8.8.8.8` goes to one more block of the same process, a logging
// `hosts` standing in for the internet (google.com for the CNAME example, the names the
// examples fall through with). A last block shows the private-zone promise: a template's CNAME
// into a private zone is resolved through the server and never reaches that upstream.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace template_readme_test {

using namespace moat::testing;

namespace {

// dig's columns are tabs, more or fewer by the name's length: compared with single spaces.
bool has(const std::string& out, const std::string& text) {
  const std::string flat = std::regex_replace(out, std::regex("[ \t]+"), " ");
  return flat.find(text) != std::string::npos;
}

// The README block on `port`, its forward sent to `upstream`.
std::string onPort(const ReadmeBlock& block, const std::string& port, uint16_t upstream) {
  REQUIRE(block.text.front() == ". {");
  std::string out = ".:" + port + " {\n";
  for (size_t i = 1; i < block.text.size(); ++i) {
    std::string line = block.text[i];
    const size_t at = line.find("forward . 8.8.8.8");
    if (at != std::string::npos) line = line.substr(0, at) + "forward . 127.0.0.1:" + std::to_string(upstream);
    out += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("template README: every example through dig, one server") {
  const std::vector<ReadmeBlock> examples = pluginCorefiles("template");
  REQUIRE(examples.size() == 10);
  std::vector<uint16_t> ports;
  const uint16_t upstream = freePort();
  const uint16_t leak = freePort();
  std::string corefile;
  for (size_t i = 0; i < examples.size(); ++i) {
    ports.push_back(i == 0 ? 0 : freePort());
    corefile += onPort(examples[i], i == 0 ? "@PORT@" : std::to_string(ports.back()), upstream);
  }
  corefile += ".:" + std::to_string(upstream) +
              " {\n    log\n    hosts {\n        192.0.2.80 google.com\n        192.0.2.81 www.example.com\n"
              "        192.0.2.82 www.example\n    }\n}\n";
  corefile += ".:" + std::to_string(leak) +
              " {\n    template IN ANY leak.test {\n      answer \"leak.test 60 IN CNAME db.internal\"\n    }\n"
              "    forward . 127.0.0.1:" + std::to_string(upstream) + "\n}\n";
  TempDir dir;
  ServerProcess s(dir, corefile);
  ports[0] = s.port();
  REQUIRE(waitListening(upstream));
  REQUIRE(waitListening(leak));

  // Everything is NXDOMAIN.
  const std::string all = dig(ports[0], {"anything.org", "AAAA"});
  CHECK_MESSAGE(has(all, "status: NXDOMAIN"), all);
  CHECK_MESSAGE(has(all, "flags: qr aa rd"), all);

  // .invalid: NXDOMAIN with the SOA in the class asked and the extended error; others forwarded.
  const std::string invalid = dig(ports[1], {"foo.invalid", "A"});
  CHECK_MESSAGE(has(invalid, "status: NXDOMAIN"), invalid);
  CHECK_MESSAGE(has(invalid, "invalid. 60 IN SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60"), invalid);
  CHECK_MESSAGE(has(invalid, "EDE: 21"), invalid);
  CHECK_MESSAGE(has(invalid, "Blocked according to RFC2606"), invalid);
  const std::string chaos = dig(ports[1], {"-c", "CH", "foo.invalid", "TXT"});
  CHECK_MESSAGE(has(chaos, "invalid. 60 CH SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60"), chaos);
  const std::string forwarded = dig(ports[1], {"google.com", "A"});
  CHECK_MESSAGE(has(forwarded, "google.com. 3600 IN A 192.0.2.80"), forwarded);

  // The search-path completion, by zone and by regex.
  const std::string zone = dig(ports[2], {"something.example.com.dc1.example.com", "A"});
  CHECK_MESSAGE(has(zone, "status: NXDOMAIN"), zone);
  CHECK_MESSAGE(has(zone, "example.com.dc1.example.com. 60 IN SOA ns.example.com. hostmaster.example.com. 1 60 60 60 60"),
                zone);
  const std::string regex = dig(ports[3], {"something.example.com.dc1.example.com", "A"});
  CHECK_MESSAGE(has(regex, "status: NXDOMAIN"), regex);
  CHECK_MESSAGE(has(regex, "dc1.example.com. 60 IN SOA ns.dc1.example.com. hostmaster.dc1.example.com. 1 60 60 60 60"),
                regex);
  const std::string through = dig(ports[3], {"www.example.com", "A"});
  CHECK_MESSAGE(has(through, "www.example.com. 3600 IN A 192.0.2.81"), through);

  // A and PTR from the name; a name no regex matches falls through to forward.
  const std::string a = dig(ports[4], {"x.ip-10-1-2-3.example", "A"});
  CHECK_MESSAGE(has(a, "x.ip-10-1-2-3.example. 60 IN A 10.1.2.3"), a);
  const std::string ptr = dig(ports[4], {"-x", "10.1.2.3"});
  CHECK_MESSAGE(has(ptr, "3.2.1.10.in-addr.arpa. 60 IN PTR ip-10-1-2-3.example."), ptr);
  const std::string www = dig(ports[4], {"www.example", "A"});
  CHECK_MESSAGE(has(www, "www.example. 3600 IN A 192.0.2.82"), www);

  // parseInt.
  const std::string hex = dig(ports[5], {"ip0a7b7b7b.example", "A"});
  CHECK_MESSAGE(has(hex, "ip0a7b7b7b.example. 60 IN A 10.123.123.123"), hex);

  // Two patterns.
  const std::string dc = dig(ports[6], {"ip-10-0-0-1.dc.example", "A"});
  CHECK_MESSAGE(has(dc, "ip-10-0-0-1.dc.example. 60 IN A 10.0.0.1"), dc);
  const std::string ext = dig(ports[6], {"192.0.2.7.ext.example", "A"});
  CHECK_MESSAGE(has(ext, "192.0.2.7.ext.example. 60 IN A 192.0.2.7"), ext);

  // A and MX, the MX's address in additional.
  const std::string mx = dig(ports[7], {"ip-10-1-2-3.example", "MX"});
  CHECK_MESSAGE(has(mx, "ip-10-1-2-3.example. 60 IN MX 10 ip-10-1-2-3.example."), mx);
  CHECK_MESSAGE(has(mx, "ip-10-1-2-3.example. 60 IN A 10.1.2.3"), mx);

  // The name servers in authority, their addresses in additional.
  const std::string ns = dig(ports[8], {"ip-10-1-2-3.example", "A"});
  CHECK_MESSAGE(has(ns, "ip-10-1-2-3.example. 60 IN A 10.1.2.3"), ns);
  CHECK_MESSAGE(has(ns, "example. 60 IN NS ns0.example."), ns);
  CHECK_MESSAGE(has(ns, "example. 60 IN NS ns1.example."), ns);
  CHECK_MESSAGE(has(ns, "ns1.example. 60 IN A 198.51.100.8"), ns);
  const std::string nsmx = dig(ports[8], {"ip-10-1-2-3.example", "MX"});
  CHECK_MESSAGE(has(nsmx, "ns0.example. 60 IN A 203.0.113.8"), nsmx);
  CHECK_MESSAGE(has(nsmx, "ip-10-1-2-3.example. 60 IN MX 10 ip-10-1-2-3.example."), nsmx);

  // The CNAME, its target resolved through forward for A; alone for MX.
  const std::string cname = dig(ports[9], {"foogle.com", "A"});
  CHECK_MESSAGE(has(cname, "foogle.com. 60 IN CNAME google.com."), cname);
  CHECK_MESSAGE(has(cname, "google.com. 3600 IN A 192.0.2.80"), cname);
  const std::string cmx = dig(ports[9], {"foogle.com", "MX"});
  CHECK_MESSAGE(has(cmx, "foogle.com. 60 IN CNAME google.com."), cmx);
  CHECK_MESSAGE(!has(cmx, "192.0.2.80"), cmx);

  // The private-zone promise: the CNAME target db.internal. is answered by the private zone,
  // never asked upstream; the upstream's log has the public name asked last and no query for
  // it, and the private plugin says forward was stopped.
  const std::string leaked = dig(leak, {"leak.test", "A"});
  CHECK_MESSAGE(has(leaked, "leak.test. 60 IN CNAME db.internal."), leaked);
  dig(leak, {"google.com", "A"});
  REQUIRE(s.waitForOutput("\"A IN google.com. udp ", 3));
  const std::string seen = s.stdoutText();
  CHECK_MESSAGE(!has(seen, "IN db.internal."), seen);
  CHECK_MESSAGE(has(seen, "db.internal. A: forward tried to send it; answered locally"), seen);
}

}  // namespace template_readme_test
