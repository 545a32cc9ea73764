// The Corefiles of CoreDNS's nsid and bufsize READMEs (plugin/nsid/README.md,
// plugin/bufsize/README.md, "Examples"), run by the real binary and asked with dig. Mapped onto
// loopback: every server listens on a free port; bufsize's resolver 172.31.0.10 is a second Moat
// on 127.0.0.1 (with `log`, so its log line shows the buffer size each query arrived with); the
// `db.example.org` of the authoritative example is a root zone holding example.org's names, as
// `file db.example.org` in a `.` block serves it. `big.example.org` has 100 A records (about
// 1.6 KB uncompressed), more than either README's SIZE holds.
#include <unistd.h>

#include <doctest/doctest.h>

#include <array>
#include <regex>
#include <string>

#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace nsid_bufsize_readme_test {

using namespace moat::testing;

namespace {

std::string hostName() {
  std::array<char, 256> name{};
  REQUIRE(gethostname(name.data(), name.size() - 1) == 0);
  return name.data();
}

// dig's "; NSID: 55 73 ... ("text")" lines.
size_t nsidLines(const std::string& out) {
  size_t n = 0;
  for (size_t at = out.find("; NSID: "); at != std::string::npos; at = out.find("; NSID: ", at + 1)) ++n;
  return n;
}

// dig's ";; MSG SIZE  rcvd: N".
size_t received(const std::string& out) {
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(out, m, std::regex(R"(MSG SIZE\s+rcvd: (\d+))")), out);
  return std::stoul(m[1]);
}

bool truncated(const std::string& out) {
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(out, m, std::regex(R"(;; flags: ([a-z ]+);)")), out);
  return (" " + m[1].str() + " ").find(" tc ") != std::string::npos;
}

void writeRootZone(const TempDir& dir) {
  std::string zone = "$TTL 300\n. IN SOA ns.example.org. hostmaster.example.org. 1 7200 3600 1209600 300\n"
                     ". IN NS ns.example.org.\nns.example.org. IN A 192.0.2.53\n"
                     "www.example.org. IN A 192.0.2.80\n";
  for (int i = 1; i <= 100; ++i) zone += "big.example.org. IN A 192.0.2." + std::to_string(i) + "\n";
  dir.write("db.example.org", zone);
}

}  // namespace

TEST_CASE("nsid README: a client with NSID support sees \"Use The Force\" in the OPT") {
  TempDir dir;
  ServerProcess s(dir, "example.org:@PORT@ {\n    whoami\n    nsid Use The Force\n}\n");
  const std::string out = dig(s.port(), {"+nsid", "a", "whoami.example.org"});
  CHECK_MESSAGE(out.find("status: NOERROR") != std::string::npos, out);
  CHECK_MESSAGE(out.find("; NSID: 55 73 65 20 54 68 65 20 46 6f 72 63 65 (\"Use The Force\")") !=
                    std::string::npos,
                out);
  CHECK(nsidLines(out) == 1);
  CHECK(nsidLines(dig(s.port(), {"+nsid", "+tcp", "a", "whoami.example.org"})) == 1);
  // Not asked for, not given; nor without EDNS, where there is no OPT to carry it.
  CHECK(nsidLines(dig(s.port(), {"a", "whoami.example.org"})) == 0);
  CHECK(nsidLines(dig(s.port(), {"+nsid", "+noedns", "a", "whoami.example.org"})) == 0);
}

TEST_CASE("nsid without DATA sends the host's name") {
  TempDir dir;
  ServerProcess s(dir, "example.org:@PORT@ {\n    whoami\n    nsid\n}\n");
  const std::string out = dig(s.port(), {"+nsid", "a", "whoami.example.org"});
  CHECK_MESSAGE(out.find("(\"" + hostName() + "\")") != std::string::npos, out);
}

TEST_CASE("nsid on cached and forwarded replies: this server's NSID replaces the upstream's") {
  TempDir upDir, frontDir;
  ServerProcess up(upDir, ".:@PORT@ {\n    nsid upstream\n    whoami\n}\n");
  ServerProcess front(frontDir, ".:@PORT@ {\n    nsid front\n    cache\n    forward . 127.0.0.1:" +
                                    std::to_string(up.port()) + "\n}\n");
  // The upstream answers the client's NSID option itself; the front's replaces it.
  CHECK(dig(up.port(), {"+nsid", "a", "x.example"}).find("(\"upstream\")") != std::string::npos);
  for (int i = 0; i < 2; ++i) {  // forwarded, then from the cache
    const std::string out = dig(front.port(), {"+nsid", "a", "x.example"});
    CHECK_MESSAGE(out.find("(\"front\")") != std::string::npos, out);
    CHECK(nsidLines(out) == 1);
  }
}

TEST_CASE("bufsize README: the query forwarded to the resolver offers at most 1100 bytes") {
  TempDir upDir, frontDir;
  writeRootZone(upDir);
  ServerProcess up(upDir, ".:@PORT@ {\n    log\n    file db.example.org\n}\n");
  ServerProcess front(frontDir, ".:@PORT@ {\n    bufsize 1100\n    forward . 127.0.0.1:" +
                                    std::to_string(up.port()) + "\n    log\n}\n");
  const std::string out = dig(front.port(), {"+bufsize=4096", "+ignore", "a", "big.example.org"});
  // The resolver saw 1100, so it truncated to 1100; the client gets that reply, TC set.
  CHECK(up.waitForOutput("\"A IN big.example.org. udp "));
  CHECK_MESSAGE(up.stdoutText().find(" false 1100\" NOERROR qr,aa,tc") != std::string::npos,
                up.stdoutText());
  CHECK(front.waitForOutput(" false 1100\" NOERROR qr,aa,tc"));
  CHECK(truncated(out));
  CHECK(received(out) <= 1100);
  CHECK(received(out) > 512);
  // Over TCP the whole answer comes back; a query that offers less is passed on as it is.
  CHECK_FALSE(truncated(dig(front.port(), {"+bufsize=4096", "+tcp", "a", "big.example.org"})));
  dig(front.port(), {"+bufsize=800", "+ignore", "a", "www.example.org"});
  CHECK(up.waitForOutput("\"A IN www.example.org. udp "));
  CHECK_MESSAGE(up.stdoutText().find(" false 800\" NOERROR") != std::string::npos, up.stdoutText());
}

TEST_CASE("bufsize README: as an authoritative server, replies fit 1220 bytes") {
  TempDir dir;
  writeRootZone(dir);
  ServerProcess s(dir, ".:@PORT@ {\n    bufsize 1220\n    file db.example.org\n    log\n}\n");
  const std::string big = dig(s.port(), {"+bufsize=4096", "+ignore", "a", "big.example.org"});
  CHECK(truncated(big));
  CHECK(received(big) <= 1220);
  CHECK(received(big) > 1100);  // cut to 1220, not to some smaller size
  CHECK(s.waitForOutput("\"A IN big.example.org. udp "));
  CHECK_MESSAGE(s.stdoutText().find(" false 1220\" NOERROR qr,aa,tc") != std::string::npos, s.stdoutText());
  // The reply's OPT offers what the query was lowered to; a smaller offer is kept.
  const std::string www = dig(s.port(), {"+bufsize=4096", "a", "www.example.org"});
  CHECK_MESSAGE(www.find("udp: 1220") != std::string::npos, www);
  CHECK(dig(s.port(), {"+bufsize=1000", "a", "www.example.org"}).find("udp: 1000") != std::string::npos);
  // Without EDNS nothing changes: 512 bytes, as for any such client.
  const std::string plain = dig(s.port(), {"+noedns", "+ignore", "a", "big.example.org"});
  CHECK(truncated(plain));
  CHECK(received(plain) <= 512);
}

}  // namespace nsid_bufsize_readme_test
