#include "plugins/hosts/hosts.hpp"

#include <doctest/doctest.h>

#include "dns/wire.hpp"
#include "plugins/hosts/test_support.hpp"

namespace moat::plugins::hosts {
namespace {

using testing::ask;
using testing::directive;
using testing::Setup;
using testing::TempDir;
using Strings = std::vector<std::string>;
namespace rr = dns::rrtype;

constexpr int kNoError = 0, kServFail = 2;

const char* const kFile =
    "10.0.0.1 www.example.org\n"
    "10.0.0.2 www.example.org alias.example.org\n"
    "2001:db8::1 www.example.org\n"
    "2001:db8::2 v6.example.org\n"
    "10.0.0.53 *.wild.example.org\n"
    "10.0.0.54 exact.wild.example.org\n"
    "10.0.0.99 www.example.net\n";  // outside the zones: dropped

// A handler for `hosts hosts.txt example.org { block }` over kFile (or `file`).
HandlerPtr make(const TempDir& dir, std::initializer_list<std::string_view> block = {},
                const char* file = kFile) {
  dir.write("hosts.txt", file);
  Setup s(directive("hosts hosts.txt example.org", block), {"."}, dir.path());
  auto h = setupHosts(s.ctx);
  REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.error().str()));
  CHECK(s.warnings.empty());
  return *h;
}

TEST_CASE("hosts: A and AAAA answers are authoritative, owner lowercased, default ttl") {
  TempDir dir;
  auto h = make(dir);
  CHECK(h->name() == "hosts");

  auto a = ask(*h, "www.example.org.", rr::A);
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK(a.reply.rcode == kNoError);
  CHECK(a.reply.qr);
  CHECK(a.reply.aa);
  CHECK(a.reply.rd);
  CHECK(a.reply.answer ==
        Strings{"www.example.org. 3600 IN A 10.0.0.1", "www.example.org. 3600 IN A 10.0.0.2"});
  CHECK(a.reply.authority.empty());
  CHECK(a.reply.additional.empty());

  auto aaaa = ask(*h, "www.example.org.", rr::AAAA);
  REQUIRE(aaaa.verdict == Verdict::Answered);
  CHECK(aaaa.reply.answer == Strings{"www.example.org. 3600 IN AAAA 2001:db8::1"});
  CHECK(aaaa.reply.aa);
}

TEST_CASE("hosts: the owner is lowercased while the question keeps the client's case") {
  TempDir dir;
  auto h = make(dir);
  auto r = ask(*h, "WWW.Example.ORG.", rr::A);
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.answer.size() == 2);
  CHECK(r.reply.answer[0] == "www.example.org. 3600 IN A 10.0.0.1");
  const uint8_t question[] = {3,   'W', 'W', 'W', 7,   'E', 'x', 'a', 'm',
                              'p', 'l', 'e', 3,   'O', 'R', 'G', 0};
  REQUIRE(r.wire.size() > dns::kHeaderSize + sizeof question);
  CHECK(std::equal(std::begin(question), std::end(question), r.wire.begin() + dns::kHeaderSize));
}

TEST_CASE("hosts: NODATA is NOERROR, AA, empty answer and no SOA") {
  TempDir dir;
  auto h = make(dir);
  for (const auto& c :
       {std::pair{"v6.example.org.", rr::A}, std::pair{"alias.example.org.", rr::AAAA},
        std::pair{"www.example.org.", rr::MX}, std::pair{"www.example.org.", rr::TXT}}) {
    // Plain variables, not structured bindings: CAPTURE's lambda cannot name those in C++20.
    const char* name = c.first;
    const auto type = c.second;
    CAPTURE(name);
    CAPTURE(type);
    auto r = ask(*h, name, type);
    REQUIRE(r.verdict == Verdict::Answered);
    CHECK(r.reply.rcode == kNoError);
    CHECK(r.reply.aa);
    CHECK(r.reply.answer.empty());
    CHECK(r.reply.authority.empty());
  }
}

TEST_CASE("hosts: an unknown name is SERVFAIL without fallthrough, next with it") {
  TempDir dir;
  SUBCASE("no fallthrough") {
    auto h = make(dir);
    for (uint16_t type : {rr::A, rr::AAAA, rr::MX}) {
      auto r = ask(*h, "missing.example.org.", type);
      REQUIRE(r.verdict == Verdict::Answered);
      CHECK(r.reply.rcode == kServFail);
      CHECK_FALSE(r.reply.aa);
      CHECK(r.reply.answer.empty());
      CHECK(r.reply.authority.empty());
    }
  }
  SUBCASE("bare fallthrough") {
    auto h = make(dir, {"fallthrough"});
    CHECK(ask(*h, "missing.example.org.", rr::A).verdict == Verdict::Next);
    // Fallthrough is for missing names only: known names still answer, NODATA included.
    CHECK(ask(*h, "www.example.org.", rr::A).verdict == Verdict::Answered);
    CHECK(ask(*h, "v6.example.org.", rr::A).verdict == Verdict::Answered);
  }
  SUBCASE("fallthrough limited to zones") {
    auto h = make(dir, {"fallthrough sub.example.org"});
    CHECK(ask(*h, "a.sub.example.org.", rr::A).verdict == Verdict::Next);
    CHECK(ask(*h, "sub.example.org.", rr::A).verdict == Verdict::Next);
    auto r = ask(*h, "other.example.org.", rr::A);
    REQUIRE(r.verdict == Verdict::Answered);
    CHECK(r.reply.rcode == kServFail);
  }
}

TEST_CASE("hosts: names outside the zones pass on, fallthrough or not") {
  TempDir dir;
  auto h = make(dir);
  CHECK(ask(*h, "www.example.net.", rr::A).verdict == Verdict::Next);
  CHECK(ask(*h, "example.com.", rr::MX).verdict == Verdict::Next);
}

TEST_CASE("hosts: PTR answers ignore the zones, no name for the address always passes on") {
  TempDir dir;
  auto h = make(dir);
  auto v4 = ask(*h, "2.0.0.10.in-addr.arpa.", rr::PTR);
  REQUIRE(v4.verdict == Verdict::Answered);
  CHECK(v4.reply.aa);
  CHECK(v4.reply.answer == Strings{"2.0.0.10.in-addr.arpa. 3600 IN PTR www.example.org.",
                                   "2.0.0.10.in-addr.arpa. 3600 IN PTR alias.example.org."});

  auto v6 =
      ask(*h, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.IP6.ARPA.", rr::PTR);
  REQUIRE(v6.verdict == Verdict::Answered);
  CHECK(v6.reply.answer ==
        Strings{
            "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 3600 IN PTR "
            "v6.example.org."});

  CHECK(ask(*h, "9.9.9.9.in-addr.arpa.", rr::PTR).verdict == Verdict::Next);
  CHECK(ask(*h, "99.0.0.10.in-addr.arpa.", rr::PTR).verdict ==
        Verdict::Next);  // name was out of zone
  CHECK(ask(*h, "53.0.0.10.in-addr.arpa.", rr::PTR).verdict == Verdict::Next);  // wildcard only
  CHECK(ask(*h, "www.example.org.", rr::PTR).verdict == Verdict::Next);
  // A non-PTR query for a reverse name is an ordinary out-of-zone name.
  CHECK(ask(*h, "2.0.0.10.in-addr.arpa.", rr::A).verdict == Verdict::Next);
}

TEST_CASE("hosts: wildcard covers one label, exact beats wildcard, never the apex") {
  TempDir dir;
  auto h = make(dir);
  auto w = ask(*h, "Anything.Wild.example.org.", rr::A);
  REQUIRE(w.verdict == Verdict::Answered);
  CHECK(w.reply.answer == Strings{"anything.wild.example.org. 3600 IN A 10.0.0.53"});
  auto e = ask(*h, "exact.wild.example.org.", rr::A);
  REQUIRE(e.verdict == Verdict::Answered);
  CHECK(e.reply.answer == Strings{"exact.wild.example.org. 3600 IN A 10.0.0.54"});
  // The wildcard name exists, so AAAA is NODATA.
  auto nodata = ask(*h, "x.wild.example.org.", rr::AAAA);
  REQUIRE(nodata.verdict == Verdict::Answered);
  CHECK(nodata.reply.rcode == kNoError);
  CHECK(nodata.reply.answer.empty());
  CHECK(ask(*h, "wild.example.org.", rr::A).reply.rcode == kServFail);
  CHECK(ask(*h, "a.b.wild.example.org.", rr::A).reply.rcode == kServFail);
}

TEST_CASE("hosts: ttl applies to forward and reverse answers") {
  TempDir dir;
  auto h = make(dir, {"ttl 300"});
  CHECK(ask(*h, "www.example.org.", rr::A).reply.answer.front() ==
        "www.example.org. 300 IN A 10.0.0.1");
  CHECK(ask(*h, "1.0.0.10.in-addr.arpa.", rr::PTR).reply.answer ==
        Strings{"1.0.0.10.in-addr.arpa. 300 IN PTR www.example.org."});
}

TEST_CASE("hosts: no_reverse leaves every PTR to the next plugin") {
  TempDir dir;
  auto h = make(dir, {"no_reverse"});
  CHECK(ask(*h, "1.0.0.10.in-addr.arpa.", rr::PTR).verdict == Verdict::Next);
  CHECK(ask(*h, "www.example.org.", rr::A).verdict == Verdict::Answered);
}

TEST_CASE("hosts: inline entries answer after the file's") {
  TempDir dir;
  auto h = make(
      dir, {"10.1.1.1 www.example.org", "10.1.1.2 inline.example.org", "10.1.1.3 x.example.net"});
  CHECK(ask(*h, "www.example.org.", rr::A).reply.answer ==
        Strings{"www.example.org. 3600 IN A 10.0.0.1", "www.example.org. 3600 IN A 10.0.0.2",
                "www.example.org. 3600 IN A 10.1.1.1"});
  CHECK(ask(*h, "inline.example.org.", rr::A).reply.answer ==
        Strings{"inline.example.org. 3600 IN A 10.1.1.2"});
  CHECK(ask(*h, "2.1.1.10.in-addr.arpa.", rr::PTR).reply.answer ==
        Strings{"2.1.1.10.in-addr.arpa. 3600 IN PTR inline.example.org."});
  CHECK(ask(*h, "x.example.net.", rr::A).verdict == Verdict::Next);
}

TEST_CASE("hosts: fallthrough_unsupported passes other types on inside the fallthrough zones") {
  TempDir dir;
  auto h = make(dir, {"fallthrough www.example.org", "fallthrough_unsupported"});
  CHECK(ask(*h, "www.example.org.", rr::MX).verdict == Verdict::Next);
  CHECK(ask(*h, "www.example.org.", rr::HINFO).verdict == Verdict::Next);
  CHECK(ask(*h, "www.example.org.", rr::A).verdict == Verdict::Answered);
  // A/AAAA keep NODATA; names outside the fallthrough zones keep NODATA for other types.
  CHECK(ask(*h, "www.example.org.", rr::AAAA).verdict == Verdict::Answered);
  auto mx = ask(*h, "v6.example.org.", rr::MX);
  REQUIRE(mx.verdict == Verdict::Answered);
  CHECK(mx.reply.rcode == kNoError);
}

TEST_CASE("hosts: without fallthrough_unsupported other types are NODATA even with fallthrough") {
  TempDir dir;
  auto h = make(dir, {"fallthrough"});
  auto r = ask(*h, "www.example.org.", rr::TXT);
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.aa);
  CHECK(r.reply.answer.empty());
}

TEST_CASE("setupHosts: a missing file warns and inline entries still answer") {
  TempDir dir;
  Setup s(directive("hosts missing.txt", {"10.0.0.1 inline.example.org"}), {"example.org."},
          dir.path());
  auto h = setupHosts(s.ctx);
  REQUIRE(h.ok());
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].severity == conf::Severity::Warning);
  CHECK(s.warnings[0].message.find("missing.txt") != std::string::npos);
  CHECK(s.warnings[0].pos.line == 2);
  CHECK(ask(**h, "inline.example.org.", rr::A).reply.answer ==
        Strings{"inline.example.org. 3600 IN A 10.0.0.1"});
}

TEST_CASE("setupHosts: a path that cannot even be looked at is an error, bad options too") {
  TempDir dir;
  dir.write("plain", "x");
  Setup s(directive("hosts plain/hosts"), {"."}, dir.path());
  auto h = setupHosts(s.ctx);
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().message.find("unable to access") != std::string::npos);

  Setup bad(directive("hosts", {"ttl 0"}));
  CHECK_FALSE(setupHosts(bad.ctx).ok());
}

TEST_CASE("setupHosts: a directory warns") {
  TempDir dir;
  Setup s(directive("hosts " + dir.path()), {"."});
  auto h = setupHosts(s.ctx);
  REQUIRE(h.ok());
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].message.find("directory") != std::string::npos);
}

}  // namespace
}  // namespace moat::plugins::hosts
