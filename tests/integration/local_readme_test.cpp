// The Corefile of CoreDNS's local README (plugin/local/README.md, "Examples"), run by the real
// binary and asked with dig, on a free loopback port. The block also forwards to a second Moat
// with `log`: its log shows that none of the local names ever reached it.
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace local_readme_test {

using namespace moat::testing;

namespace {

// dig's columns are tabs, more or fewer by the name's length: compared with single spaces.
bool has(const std::string& out, const std::string& text) {
  const std::string flat = std::regex_replace(out, std::regex("[ \t]+"), " ");
  return flat.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("local README: `. { local }` answers the local names") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    local\n}\n");
  const std::string a = dig(s.port(), {"localhost", "A"});
  CHECK_MESSAGE(has(a, "status: NOERROR"), a);
  CHECK_MESSAGE(has(a, "localhost. 604800 IN A 127.0.0.1"), a);
  const std::string ptr = dig(s.port(), {"-x", "127.0.0.1"});
  CHECK_MESSAGE(has(ptr, "1.0.0.127.in-addr.arpa. 604800 IN PTR localhost."), ptr);
  const std::string aaaa = dig(s.port(), {"foo.localhost", "AAAA"});
  CHECK_MESSAGE(has(aaaa, "foo.localhost. 604800 IN AAAA ::1"), aaaa);
  const std::string prefixed = dig(s.port(), {"localhost.example.org", "A"});
  CHECK_MESSAGE(has(prefixed, "localhost.example.org. 604800 IN A 127.0.0.1"), prefixed);
  const std::string nx = dig(s.port(), {"-x", "127.0.0.2"});
  CHECK_MESSAGE(has(nx, "status: NXDOMAIN"), nx);
  CHECK_MESSAGE(has(nx, "127.in-addr.arpa. 604800 IN SOA localhost. root.localhost. 1 0 0 0 604800"), nx);
}

TEST_CASE("local: the local names never reach forward's upstream, other names do") {
  TempDir upDir, frontDir;
  ServerProcess up(upDir, ".:@PORT@ {\n    log\n    whoami\n}\n");
  ServerProcess front(frontDir, ".:@PORT@ {\n    local\n    forward . 127.0.0.1:" +
                                    std::to_string(up.port()) + "\n}\n");
  for (const std::vector<std::string>& question : std::vector<std::vector<std::string>>{
           {"localhost", "A"}, {"foo.localhost", "AAAA"}, {"-x", "127.0.0.1"}, {"-x", "127.0.0.9"},
           {"localhost.example.org", "A"}, {"1.0.0.0.in-addr.arpa", "PTR"}}) {
    const std::string out = dig(front.port(), question);
    CHECK_MESSAGE((has(out, "status: NOERROR") || has(out, "status: NXDOMAIN")), out);
  }
  // A name local does not own goes upstream; once its log line is there, every earlier query
  // would have been logged before it (one client, one query at a time).
  dig(front.port(), {"example.org", "A"});
  CHECK(up.waitForOutput("\"A IN example.org. udp "));
  const std::string seen = up.stdoutText();
  CHECK_MESSAGE(!has(seen, "localhost"), seen);
  CHECK_MESSAGE(!has(seen, "in-addr.arpa"), seen);
}

TEST_CASE("local { localhost_prefix off }: localhost.<domain> is not special any more") {
  TempDir upDir, frontDir;
  ServerProcess up(upDir, ".:@PORT@ {\n    log\n    whoami\n}\n");
  ServerProcess front(frontDir, ".:@PORT@ {\n    local {\n        localhost_prefix off\n    }\n    forward . 127.0.0.1:" +
                                    std::to_string(up.port()) + "\n}\n");
  const std::string out = dig(front.port(), {"localhost.example.org", "A"});
  // whoami upstream answered it (TTL 0), not local (a week).
  CHECK_MESSAGE(!has(out, "604800"), out);
  CHECK(up.waitForOutput("\"A IN localhost.example.org. udp "));
  // Names below localhost. stay local (RFC 6761).
  CHECK(has(dig(front.port(), {"foo.localhost", "A"}), "foo.localhost. 604800 IN A 127.0.0.1"));
}

}  // namespace local_readme_test
