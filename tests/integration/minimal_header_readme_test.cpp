// The Corefiles of CoreDNS's minimal and header READMEs (plugin/minimal/README.md,
// plugin/header/README.md, "Examples"), run by the real binary and asked with dig. Mapped onto
// loopback: every server listens on a free port, and minimal's `forward . 8.8.8.8` goes to a
// second Moat on 127.0.0.1 (whoami answers every example.org name first, so it is never asked).
// The kinds of replies minimal must tell apart come from a `file` zone with a delegation.
#include <doctest/doctest.h>

#include <regex>
#include <string>

#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace minimal_header_readme_test {

using namespace moat::testing;

namespace {

// dig's ";; flags: qr aa rd;" as " qr aa rd ".
std::string flags(const std::string& out) {
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(out, m, std::regex(R"(;; flags: ([a-z ]*);)")), out);
  return " " + m[1].str() + " ";
}

bool hasFlag(const std::string& out, const std::string& flag) {
  return flags(out).find(" " + flag + " ") != std::string::npos;
}

// dig's "AUTHORITY: N" and "ADDITIONAL: N" counts (the OPT counts as one additional).
int count(const std::string& out, const std::string& section) {
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(out, m, std::regex(section + R"(: (\d+))")), out);
  return std::stoi(m[1]);
}

bool has(const std::string& out, const std::string& text) { return out.find(text) != std::string::npos; }

void writeZone(const TempDir& dir) {
  dir.write("db.example.org",
            "$ORIGIN example.org.\n$TTL 300\n"
            "@ IN SOA ns.example.org. hostmaster.example.org. 1 7200 3600 1209600 300\n"
            "@ IN NS ns.example.org.\nns IN A 192.0.2.53\nwww IN A 192.0.2.80\n"
            "sub IN NS ns.sub.example.org.\nns.sub IN A 192.0.2.54\n");
}

}  // namespace

TEST_CASE("minimal README: whoami's reply reaches the client with its answer section only") {
  TempDir upDir, dir;
  ServerProcess up(upDir, ".:@PORT@ {\n    whoami\n}\n");
  ServerProcess s(dir, "example.org:@PORT@ {\n    whoami\n    forward . 127.0.0.1:" +
                           std::to_string(up.port()) + "\n    minimal\n}\n");
  // whoami writes the client's address and its _udp SRV as additional records, none as
  // answer: a NOERROR that is not NODATA nor a delegation, so minimal leaves only the header,
  // the question and the OPT (CoreDNS's reply to this Corefile is the same).
  const std::string plain = dig(up.port(), {"a", "whoami.example.org"});
  CHECK_MESSAGE(has(plain, "IN\tSRV\t"), plain);
  CHECK(has(plain, "IN\tA\t127.0.0.1"));
  const std::string out = dig(s.port(), {"a", "whoami.example.org"});
  CHECK_MESSAGE(has(out, "status: NOERROR"), out);
  CHECK(count(out, "ANSWER") == 0);
  CHECK_FALSE(has(out, "IN\tA\t127.0.0.1"));
  CHECK_FALSE(has(out, "IN\tSRV\t"));
  CHECK(count(out, "AUTHORITY") == 0);
  CHECK(count(out, "ADDITIONAL") == 1);  // the OPT echoing the client's EDNS
  CHECK(has(out, "; EDNS: version: 0"));
  const std::string noEdns = dig(s.port(), {"+noedns", "a", "whoami.example.org"});
  CHECK(count(noEdns, "ADDITIONAL") == 0);
  CHECK_FALSE(has(noEdns, "IN\tSRV\t"));
  const std::string tcp = dig(s.port(), {"+tcp", "a", "whoami.example.org"});
  CHECK_FALSE(has(tcp, "IN\tSRV\t"));
}

TEST_CASE("minimal: a positive answer loses authority and additional, referrals and negatives keep them") {
  TempDir dir;
  writeZone(dir);
  ServerProcess s(dir, "example.org:@PORT@ {\n    file db.example.org\n    minimal\n}\n");
  const std::string positive = dig(s.port(), {"+norec", "a", "www.example.org"});
  CHECK_MESSAGE(has(positive, "www.example.org.\t300\tIN\tA\t192.0.2.80"), positive);
  CHECK(count(positive, "AUTHORITY") == 0);
  CHECK(count(positive, "ADDITIONAL") == 1);

  const std::string referral = dig(s.port(), {"+norec", "a", "host.sub.example.org"});
  CHECK_MESSAGE(has(referral, "status: NOERROR"), referral);
  CHECK(has(referral, "sub.example.org.\t300\tIN\tNS\tns.sub.example.org."));
  CHECK(has(referral, "ns.sub.example.org.\t300\tIN\tA\t192.0.2.54"));  // glue kept

  const std::string nxdomain = dig(s.port(), {"+norec", "a", "nope.example.org"});
  CHECK_MESSAGE(has(nxdomain, "status: NXDOMAIN"), nxdomain);
  CHECK(has(nxdomain, "IN\tSOA\tns.example.org."));

  const std::string nodata = dig(s.port(), {"+norec", "mx", "www.example.org"});
  CHECK_MESSAGE(has(nodata, "status: NOERROR"), nodata);
  CHECK(count(nodata, "ANSWER") == 0);
  CHECK(has(nodata, "IN\tSOA\tns.example.org."));
}

TEST_CASE("minimal with cache: the cached reply is the minimised one") {
  TempDir dir;
  writeZone(dir);
  ServerProcess s(dir, "example.org:@PORT@ {\n    cache\n    minimal\n    file db.example.org\n}\n");
  for (int i = 0; i < 2; ++i) {  // answered by file, then from the cache
    const std::string out = dig(s.port(), {"a", "www.example.org"});
    CHECK_MESSAGE(has(out, "192.0.2.80"), out);
    CHECK(count(out, "AUTHORITY") == 0);
  }
}

TEST_CASE("header README: `response set ra` sets ra in every reply") {
  TempDir dir;
  // The README's block has no plugin that answers: every reply is the chain's SERVFAIL.
  ServerProcess s(dir, ".:@PORT@ {\n    header {\n        response set ra\n    }\n}\n");
  const std::string out = dig(s.port(), {"a", "example.org"});
  CHECK_MESSAGE(has(out, "status: SERVFAIL"), out);
  CHECK(hasFlag(out, "ra"));
  // With a plugin that answers, its replies get ra too, over UDP and TCP.
  TempDir dir2;
  ServerProcess w(dir2, ".:@PORT@ {\n    header {\n        response set ra\n    }\n    whoami\n}\n");
  CHECK(hasFlag(dig(w.port(), {"a", "example.org"}), "ra"));
  CHECK(hasFlag(dig(w.port(), {"+tcp", "a", "example.org"}), "ra"));
  TempDir dir3;
  ServerProcess without(dir3, ".:@PORT@ {\n    whoami\n}\n");
  CHECK_FALSE(hasFlag(dig(without.port(), {"a", "example.org"}), "ra"));
}

TEST_CASE("header README: `response set ra aa` and `response clear rd`") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    header {\n        response set ra aa\n        response clear rd\n    }\n    whoami\n}\n");
  const std::string out = dig(s.port(), {"a", "example.org"});  // dig sets rd
  CHECK_MESSAGE(flags(out) == " qr aa ra ", out);
  // The README's block as written (no answering plugin): the SERVFAIL gets the same flags.
  TempDir dir2;
  ServerProcess bare(dir2, ".:@PORT@ {\n    header {\n        response set ra aa\n        response clear rd\n    }\n}\n");
  const std::string servfail = dig(bare.port(), {"a", "example.org"});
  CHECK_MESSAGE(has(servfail, "status: SERVFAIL"), servfail);
  CHECK_MESSAGE(flags(servfail) == " qr aa ra ", servfail);
}

TEST_CASE("header README: `query set rd` makes the following plugins see rd") {
  TempDir upDir, dir;
  ServerProcess up(upDir, ".:@PORT@ {\n    log\n    whoami\n}\n");
  ServerProcess s(dir, ".:@PORT@ {\n    header {\n        query set rd\n    }\n    forward . 127.0.0.1:" +
                           std::to_string(up.port()) + "\n}\n");
  // The client asks without rd; the upstream is asked with it (its log shows the flags of its
  // reply, which copies rd from the query, beside whoami's aa), and the reply the client gets says rd too.
  const std::string out = dig(s.port(), {"+norec", "a", "example.org"});
  CHECK_MESSAGE(has(out, "status: NOERROR"), out);
  CHECK(hasFlag(out, "rd"));
  CHECK(up.waitForOutput("\"A IN example.org. udp "));
  CHECK_MESSAGE(has(up.stdoutText(), " NOERROR qr,aa,rd"), up.stdoutText());
  // The README's block as written: the chain's SERVFAIL answers the query as header left it.
  TempDir dir2;
  ServerProcess bare(dir2, ".:@PORT@ {\n    header {\n        query set rd\n    }\n}\n");
  CHECK(hasFlag(dig(bare.port(), {"+norec", "a", "example.org"}), "rd"));
}

}  // namespace minimal_header_readme_test
