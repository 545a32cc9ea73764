// The file handler against one zone that has every case CoreDNS's file plugin distinguishes:
// exact matches, CNAME chains, DNAME, wildcards and empty non-terminals, delegations with glue,
// DNSSEC records served as stored, fallthrough, and reloads that keep the old zone on error.
#include <doctest/doctest.h>

#include "plugins/file/test_support.hpp"
#include "tests/support/alloc_counter.hpp"

using namespace moat::plugins::file;
using namespace moat::plugins::file::testing;
using moat::plugins::Verdict;
namespace rrtype = moat::dns::rrtype;

namespace {

// The RRSIG and NSEC records are not real signatures: the plugin serves them as stored and
// never checks them, which is all these tests look at.
const char* const kZone = R"($ORIGIN example.org.
$TTL 300
@       3600 IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
        3600 IN RRSIG SOA 8 2 3600 20300101000000 20240101000000 12345 example.org. AAAA
             IN NS  ns1
             IN NS  ns.elsewhere.net.
             IN RRSIG NS 8 2 300 20300101000000 20240101000000 12345 example.org. AAAA
             IN MX  10 mail
             IN MX  20 mail
             IN NSEC a.b.c.example.org. SOA NS MX RRSIG NSEC
ns1          IN A   192.0.2.1
mail         IN A   192.0.2.2
             IN AAAA 2001:db8::2
www          IN A   192.0.2.3
             IN RRSIG A 8 3 300 20300101000000 20240101000000 12345 example.org. AAAA
             IN NSEC www2.example.org. A RRSIG NSEC
www2         IN CNAME www
www3         IN CNAME www2
loop1        IN CNAME loop2
loop2        IN CNAME loop1
a.b.c        IN TXT "deep"
*.wild       IN A   192.0.2.9
*.wild       IN TXT "wild"
*.alias      IN CNAME www
real.wild    IN A   192.0.2.10
x.y.wild     IN A   192.0.2.11
child        IN NS  ns.child
             IN NS  ns.elsewhere.net.
             IN DS  12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.child     IN A   192.0.2.53
old          IN DNAME www.example.org.
)";

struct Fixture {
  ScratchDir dir;
  Server server{dir, (dir.write("db.example.org", kZone), "example.org {\n  file db.example.org\n}\n")};
  File& file = server.file();
};

}  // namespace

TEST_CASE("exact matches are authoritative with the apex NS, NODATA and NXDOMAIN carry the SOA") {
  Fixture f;
  auto a = ask(f.file, "WWW.example.org.", rrtype::A);
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK(a.reply.rcode == 0);
  CHECK(a.reply.aa);
  CHECK(brief(a.reply.answer) == std::vector<std::string>{"www.example.org. A 192.0.2.3"});
  CHECK(brief(a.reply.authority) == std::vector<std::string>{"example.org. NS ns1.example.org.",
                                                             "example.org. NS ns.elsewhere.net."});

  auto nodata = ask(f.file, "www.example.org.", rrtype::TXT);
  CHECK(nodata.reply.rcode == 0);
  CHECK(nodata.reply.answer.empty());
  REQUIRE(nodata.reply.authority.size() == 1);
  CHECK(nodata.reply.authority[0].find("SOA") != std::string::npos);

  auto nx = ask(f.file, "nope.example.org.", rrtype::A);
  CHECK(nx.reply.rcode == 3);
  CHECK(nx.reply.aa);
  REQUIRE(nx.reply.authority.size() == 1);
  CHECK(nx.reply.authority[0] ==
        "example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 2024010101 7200 3600 1209600 300");  // TTL capped at MINIMUM
}

TEST_CASE("the apex answers SOA with NS beside it, and NS with the glue of in-zone servers") {
  Fixture f;
  auto soa = ask(f.file, "example.org.", rrtype::SOA);
  CHECK(soa.reply.answer.size() == 1);
  CHECK(soa.reply.authority.size() == 2);
  auto ns = ask(f.file, "example.org.", rrtype::NS);
  CHECK(brief(ns.reply.answer) == std::vector<std::string>{"example.org. NS ns1.example.org.",
                                                           "example.org. NS ns.elsewhere.net."});
  CHECK(brief(ns.reply.additional) == std::vector<std::string>{"ns1.example.org. A 192.0.2.1"});
  auto mx = ask(f.file, "example.org.", rrtype::MX);
  CHECK(brief(mx.reply.additional) == std::vector<std::string>{"mail.example.org. A 192.0.2.2",
                                                               "mail.example.org. AAAA 2001:db8::2"});
}

TEST_CASE("CNAME chains inside the zone are followed, asking for the CNAME itself is not") {
  Fixture f;
  auto chain = ask(f.file, "www3.example.org.", rrtype::A);
  CHECK(brief(chain.reply.answer) == std::vector<std::string>{"www3.example.org. CNAME www2.example.org.",
                                                              "www2.example.org. CNAME www.example.org.",
                                                              "www.example.org. A 192.0.2.3"});
  auto own = ask(f.file, "www3.example.org.", rrtype::CNAME);
  CHECK(brief(own.reply.answer) == std::vector<std::string>{"www3.example.org. CNAME www2.example.org."});
  // A loop ends at its first repeat, each CNAME once, as NSD answers it.
  auto loop = ask(f.file, "loop1.example.org.", rrtype::A);
  CHECK(loop.reply.rcode == 0);
  CHECK(brief(loop.reply.answer) == std::vector<std::string>{"loop1.example.org. CNAME loop2.example.org.",
                                                             "loop2.example.org. CNAME loop1.example.org."});
}

TEST_CASE("a CNAME target inside the zone is looked up there: wildcard, NXDOMAIN, NODATA, referral") {
  ScratchDir dir;
  dir.write("db", std::string(kZone) +
                      "to-wild IN CNAME x.wild\n"
                      "to-missing IN CNAME missing\n"
                      "to-child IN CNAME host.child\n");
  Server server(dir, "example.org {\n  file db\n}\n");
  auto wild = ask(server.file(), "to-wild.example.org.", rrtype::A);
  REQUIRE(wild.reply.answer.size() == 2);
  CHECK(wild.reply.answer[1].find("x.wild.example.org.") == 0);
  auto missing = ask(server.file(), "to-missing.example.org.", rrtype::A);
  CHECK(missing.reply.rcode == 3);
  CHECK(missing.reply.answer.size() == 1);
  REQUIRE(missing.reply.authority.size() == 1);
  CHECK(missing.reply.authority[0].find("SOA") != std::string::npos);
  auto nodata = ask(server.file(), "www2.example.org.", rrtype::MX);
  CHECK(nodata.reply.answer.size() == 1);
  REQUIRE(nodata.reply.authority.size() == 1);
  CHECK(nodata.reply.authority[0].find("SOA") != std::string::npos);
  auto referral = ask(server.file(), "to-child.example.org.", rrtype::A);
  CHECK(referral.reply.aa);  // the CNAME is the zone's own answer
  CHECK(referral.reply.answer.size() == 1);
  CHECK(referral.reply.authority.size() == 2);
}

TEST_CASE("a DNAME above the name synthesizes a CNAME and follows it") {
  Fixture f;
  auto a = ask(f.file, "Host.old.example.org.", rrtype::A);
  // The target host.www.example.org. is not in the zone, so the rest is the server's to
  // resolve; without a server behind the handler that ends in SERVFAIL with the chain so far.
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK(brief(a.reply.answer) == std::vector<std::string>{"old.example.org. DNAME www.example.org.",
                                                          "host.old.example.org. CNAME host.www.example.org."});
  auto cname = ask(f.file, "host.old.example.org.", rrtype::CNAME);
  CHECK(cname.reply.rcode == 0);
  CHECK(cname.reply.answer.size() == 2);
}

TEST_CASE("wildcards answer missing names below them, never names that exist or lie past a closer encloser") {
  Fixture f;
  auto one = ask(f.file, "anything.wild.example.org.", rrtype::A);
  CHECK(brief(one.reply.answer) == std::vector<std::string>{"anything.wild.example.org. A 192.0.2.9"});
  auto deeper = ask(f.file, "a.b.wild.example.org.", rrtype::TXT);
  CHECK(brief(deeper.reply.answer) == std::vector<std::string>{"a.b.wild.example.org. TXT \"wild\""});
  auto real = ask(f.file, "real.wild.example.org.", rrtype::A);
  CHECK(brief(real.reply.answer) == std::vector<std::string>{"real.wild.example.org. A 192.0.2.10"});
  auto realNodata = ask(f.file, "real.wild.example.org.", rrtype::TXT);
  CHECK(realNodata.reply.answer.empty());
  // y.wild exists as an empty non-terminal (x.y.wild has data): it is the closest encloser of
  // z.y.wild, which has no wildcard of its own (RFC 4592 §2.2.1).
  auto blocked = ask(f.file, "z.y.wild.example.org.", rrtype::A);
  CHECK(blocked.reply.rcode == 3);
  auto ent = ask(f.file, "y.wild.example.org.", rrtype::A);
  CHECK(ent.reply.rcode == 0);
  CHECK(ent.reply.answer.empty());
  auto nodata = ask(f.file, "other.wild.example.org.", rrtype::MX);
  CHECK(nodata.reply.rcode == 0);
  CHECK(nodata.reply.answer.empty());
  auto alias = ask(f.file, "x.alias.example.org.", rrtype::A);
  CHECK(brief(alias.reply.answer) == std::vector<std::string>{"x.alias.example.org. CNAME www.example.org.",
                                                              "www.example.org. A 192.0.2.3"});
}

TEST_CASE("empty non-terminals are NOERROR with the SOA, not NXDOMAIN") {
  Fixture f;
  for (const char* name : {"b.c.example.org.", "c.example.org."}) {
    CAPTURE(name);
    auto ent = ask(f.file, name, rrtype::A);
    CHECK(ent.reply.rcode == 0);
    CHECK(ent.reply.answer.empty());
    CHECK(ent.reply.authority.size() == 1);
  }
}

TEST_CASE("a delegation is a referral with glue and no AA, DS at the cut comes from the parent") {
  Fixture f;
  for (const char* name : {"child.example.org.", "deep.below.child.example.org."}) {
    CAPTURE(name);
    auto r = ask(f.file, name, rrtype::A);
    CHECK(r.reply.rcode == 0);
    CHECK_FALSE(r.reply.aa);
    CHECK(r.reply.answer.empty());
    CHECK(brief(r.reply.authority) == std::vector<std::string>{"child.example.org. NS ns.child.example.org.",
                                                               "child.example.org. NS ns.elsewhere.net."});
    CHECK(brief(r.reply.additional) == std::vector<std::string>{"ns.child.example.org. A 192.0.2.53"});
  }
  auto ds = ask(f.file, "child.example.org.", rrtype::DS);
  CHECK(ds.reply.aa);
  REQUIRE(ds.reply.answer.size() == 1);
  CHECK(ds.reply.answer[0].find("DS") != std::string::npos);
  // With DO the referral carries the DS.
  auto signedReferral = ask(f.file, "child.example.org.", rrtype::A, true);
  CHECK(signedReferral.reply.authority.size() == 3);
}

TEST_CASE("with DO the stored signatures and NSEC records come along, without it they do not") {
  Fixture f;
  auto plain = ask(f.file, "www.example.org.", rrtype::A);
  CHECK(plain.reply.answer.size() == 1);
  auto dnssec = ask(f.file, "www.example.org.", rrtype::A, true);
  REQUIRE(dnssec.reply.answer.size() == 2);
  CHECK(dnssec.reply.answer[1].find("RRSIG") != std::string::npos);
  CHECK(dnssec.reply.authority.size() == 3);  // NS, NS, RRSIG over NS

  auto nodata = ask(f.file, "www.example.org.", rrtype::TXT, true);
  // SOA, its signature, and the name's NSEC that shows TXT is not there.
  CHECK(brief(nodata.reply.authority).size() == 3);
  CHECK(nodata.reply.authority[2].find("NSEC") != std::string::npos);

  auto nx = ask(f.file, "www1.example.org.", rrtype::A, true);
  CHECK(nx.reply.rcode == 3);
  bool denial = false;
  for (const std::string& rr : nx.reply.authority) {
    if (rr.rfind("www.example.org.", 0) == 0 && rr.find("NSEC") != std::string::npos) denial = true;
  }
  CHECK(denial);  // www < www1 < www2: www's NSEC covers it
}

TEST_CASE("zone transfers are refused without transfer, names outside the zones pass on") {
  Fixture f;
  CHECK(ask(f.file, "example.org.", rrtype::AXFR).reply.rcode == 5);
  CHECK(ask(f.file, "example.org.", rrtype::IXFR).reply.rcode == 5);
  CHECK(ask(f.file, "example.net.", rrtype::A).verdict == Verdict::Next);
}

TEST_CASE("fallthrough passes on names the zone does not hold, and never a NODATA") {
  ScratchDir dir;
  dir.write("db", kZone);
  Server server(dir, "example.org {\n  file db {\n    fallthrough\n  }\n}\n");
  auto nx = ask(server.file(), "nope.example.org.", rrtype::A);
  CHECK(nx.verdict == Verdict::Next);
  CHECK_FALSE(nx.nameExists);
  auto ent = ask(server.file(), "c.example.org.", rrtype::A);
  CHECK(ent.verdict == Verdict::Next);
  CHECK(ent.nameExists);  // a local negative answer further on is then NODATA
  CHECK(ask(server.file(), "www.example.org.", rrtype::TXT).verdict == Verdict::Answered);
  CHECK(ask(server.file(), "www.example.org.", rrtype::A).verdict == Verdict::Answered);
}

TEST_CASE("one file serves several zones, and several stanzas serve side by side") {
  ScratchDir dir;
  dir.write("db.shared", "@ IN SOA ns hostmaster 1 7200 3600 1209600 300\nwww IN A 192.0.2.7\n");
  dir.write("db.other", "@ IN SOA ns hostmaster 1 7200 3600 1209600 300\nwww IN A 192.0.2.8\n");
  Server server(dir, ". {\n  file db.shared example.org example.net\n  file db.other other.test\n}\n");
  CHECK(brief(ask(server.file(), "www.example.net.", rrtype::A).reply.answer) ==
        std::vector<std::string>{"www.example.net. A 192.0.2.7"});
  CHECK(brief(ask(server.file(), "www.example.org.", rrtype::A).reply.answer) ==
        std::vector<std::string>{"www.example.org. A 192.0.2.7"});
  CHECK(brief(ask(server.file(), "www.other.test.", rrtype::A).reply.answer) ==
        std::vector<std::string>{"www.other.test. A 192.0.2.8"});
  CHECK(ask(server.file(), "www.example.com.", rrtype::A).verdict == Verdict::Next);
}

TEST_CASE("setup errors name the Corefile or the zone file's line") {
  ScratchDir dir;
  dir.write("db.bad", "@ IN SOA ns hostmaster 1 7200 3600 1209600 300\nwww IN A 192.0.2.300\n");
  Server bad(dir, "example.org {\n  file db.bad\n}\n");
  REQUIRE_FALSE(bad.handler.ok());
  CHECK(bad.handler.error().str().find("db.bad:2: ") != std::string::npos);

  Server unknown(dir, "example.org {\n  file db.bad {\n    reload_by_time\n  }\n}\n");
  REQUIRE_FALSE(unknown.handler.ok());
  CHECK(unknown.handler.error().str() ==
        "Corefile:3:5: file: unknown option 'reload_by_time', did you mean 'reload_by_mtime'?");

  Server noArg(dir, "example.org {\n  file\n}\n");
  REQUIRE_FALSE(noArg.handler.ok());
  CHECK(noArg.handler.error().str().rfind("Corefile:2:3: file: expected a zone file", 0) == 0);

  // A missing file is an error unless a reload may still find it (CoreDNS's rule).
  Server missingNoReload(dir, "example.org {\n  file db.missing {\n    reload 0\n  }\n}\n");
  CHECK_FALSE(missingNoReload.handler.ok());
  Server missing(dir, "example.org {\n  file db.missing\n}\n");
  REQUIRE(missing.handler.ok());
  REQUIRE(missing.warnings.size() == 1);
  CHECK(missing.warnings[0].message.find("does not exist") != std::string::npos);
  CHECK(ask(missing.file(), "www.example.org.", rrtype::A).reply.rcode == 2);
}

TEST_CASE("a reload publishes a new serial, skips the same serial, and keeps the zone when the file breaks") {
  ScratchDir dir;
  const std::string path = dir.write("db", "@ IN SOA ns hostmaster 1 7200 3600 1209600 300\nwww IN A 192.0.2.1\n");
  Server server(dir, "example.org {\n  file db {\n    reload 0\n  }\n}\n");
  File& file = server.file();
  auto answer = [&] { return brief(ask(file, "www.example.org.", rrtype::A).reply.answer); };
  CHECK(answer() == std::vector<std::string>{"www.example.org. A 192.0.2.1"});

  dir.write("db", "@ IN SOA ns hostmaster 1 7200 3600 1209600 300\nwww IN A 192.0.2.2\n");
  CHECK_FALSE(file.zone(0).refresh().has_value());
  CHECK(answer() == std::vector<std::string>{"www.example.org. A 192.0.2.1"});  // same serial

  dir.write("db", "@ IN SOA ns hostmaster 2 7200 3600 1209600 300\nwww IN A 192.0.2.2\n");
  CHECK_FALSE(file.zone(0).refresh().has_value());
  CHECK(answer() == std::vector<std::string>{"www.example.org. A 192.0.2.2"});

  dir.write("db", "@ IN SOA ns hostmaster 3 7200 3600 1209600 300\nwww IN A not-an-address\n");
  auto error = file.zone(0).refresh();
  REQUIRE(error.has_value());
  CHECK(error->find(path + ":2: ") == 0);
  CHECK(answer() == std::vector<std::string>{"www.example.org. A 192.0.2.2"});
}

TEST_CASE("the query path does not allocate, whatever the zone decides") {
  Fixture f;
  struct Case {
    const char* name;
    uint16_t type;
    bool dnssec;
  };
  const Case cases[] = {
      {"www.example.org.", rrtype::A, true},          {"www3.example.org.", rrtype::A, false},
      {"anything.wild.example.org.", rrtype::A, true}, {"nope.example.org.", rrtype::A, true},
      {"c.example.org.", rrtype::A, false},           {"deep.child.example.org.", rrtype::A, true},
      {"host.old.example.org.", rrtype::CNAME, false}, {"example.org.", rrtype::NS, true},
      {"example.org.", rrtype::MX, false},            {"www.example.org.", rrtype::TXT, true},
      {"example.org.", rrtype::AXFR, false},          {"other.example.net.", rrtype::A, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    moat::dns::Query q;
    moat::testing::QuerySpec spec;
    spec.name = c.name;
    spec.type = c.type;
    if (c.dnssec) {
      spec.edns = 4096;
      spec.dnssecOk = true;
    }
    moat::testing::loadQuery(q, moat::testing::makeQuery(spec));
    q.reply.reserve(4096);
    moat::testing::allocations = 0;
    moat::testing::counting = true;
    f.file.onQuery(q);
    moat::testing::counting = false;
    CHECK(moat::testing::allocations == 0);
  }
}
