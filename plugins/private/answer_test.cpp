// What the private handler answers: NXDOMAIN/NODATA with the zone's SOA, REFUSED, loopback
// for localhost, and Next for everything that is not private.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "plugins/private/answer.hpp"
#include "plugins/private/test_support.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated Ask fields

namespace moat::plugins::private_zone {
namespace {

using testing::Ask;
using testing::ask;
using testing::zonesOf;
namespace rr = dns::rrtype;

constexpr int kNoError = 0, kNxDomain = 3, kRefused = 5;

std::string soa(std::string_view owner, uint32_t ttl) {
  return std::string(owner) + " " + std::to_string(ttl) +
         " IN SOA localhost. nobody.invalid. 1 3600 1200 604800 " + std::to_string(ttl);
}

struct Fixture {
  explicit Fixture(std::string_view corefile) : handler(zonesOf(corefile), 2) {}
  PrivateAnswer handler;
};

constexpr std::string_view kCorefile =
    ". {\n  private internal.company {\n    negttl 45\n  }\n  private secret.example { refuse }\n}\n";

TEST_CASE("a name under a private zone: NXDOMAIN, AA, the zone's SOA with negttl") {
  Fixture f(kCorefile);
  auto r = ask(f.handler, {.name = "api.internal.company."});
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.rcode == kNxDomain);
  CHECK(r.reply.qr);
  CHECK(r.reply.aa);
  CHECK(r.reply.rd);
  CHECK_FALSE(r.reply.ra);
  CHECK_FALSE(r.reply.tc);
  CHECK(r.reply.answer.empty());
  REQUIRE(r.reply.authority.size() == 1);
  CHECK(r.reply.authority[0] == soa("internal.company.", 45));
  CHECK(r.reply.additional.empty());
}

TEST_CASE("the RD bit is the query's") {
  Fixture f(kCorefile);
  auto r = ask(f.handler, {.name = "api.internal.company.", .rd = false});
  CHECK(r.reply.rcode == kNxDomain);
  CHECK_FALSE(r.reply.rd);
  CHECK(r.reply.aa);
}

TEST_CASE("a built-in zone answers with its own SOA and the default negttl of 30") {
  Fixture f(kCorefile);
  struct Case {
    const char* name;
    uint16_t type;
    const char* zone;
  };
  const Case cases[] = {
      {"4.3.2.10.in-addr.arpa.", rr::PTR, "10.in-addr.arpa."},
      {"1.0.168.192.in-addr.arpa.", rr::PTR, "168.192.in-addr.arpa."},
      {"my-svc.my-ns.svc.cluster.local.", rr::A, "local."},
      {"nothing.invalid.", rr::AAAA, "invalid."},
      {"corp.internal.", rr::TXT, "internal."},
      {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa.", rr::PTR,
       "8.e.f.ip6.arpa."},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto r = ask(f.handler, {.name = c.name, .type = c.type});
    REQUIRE(r.verdict == Verdict::Answered);
    CHECK(r.reply.rcode == kNxDomain);
    CHECK(r.reply.aa);
    REQUIRE(r.reply.authority.size() == 1);
    CHECK(r.reply.authority[0] == soa(c.zone, 30));
  }
}

TEST_CASE("deep names and mixed case: the zone is matched case-insensitively, SOA owner lowercase") {
  Fixture f(kCorefile);
  auto r = ask(f.handler, {.name = "A.b.C.d.E.f.g.Internal.COMPANY."});
  CHECK(r.reply.rcode == kNxDomain);
  REQUIRE(r.reply.authority.size() == 1);
  CHECK(r.reply.authority[0] == soa("internal.company.", 45));
}

TEST_CASE("a name an earlier plugin knows with other types: NODATA") {
  Fixture f(kCorefile);
  auto r = ask(f.handler, {.name = "db.internal.company.", .type = rr::MX, .nameExists = true});
  CHECK(r.reply.rcode == kNoError);
  CHECK(r.reply.aa);
  CHECK(r.reply.answer.empty());
  REQUIRE(r.reply.authority.size() == 1);
  CHECK(r.reply.authority[0] == soa("internal.company.", 45));
}

TEST_CASE("the zone apex exists: NODATA for most types, its SOA when asked") {
  Fixture f(kCorefile);
  auto a = ask(f.handler, {.name = "Internal.Company."});
  CHECK(a.reply.rcode == kNoError);
  CHECK(a.reply.answer.empty());
  REQUIRE(a.reply.authority.size() == 1);
  CHECK(a.reply.authority[0] == soa("internal.company.", 45));

  auto s = ask(f.handler, {.name = "internal.company.", .type = rr::SOA});
  CHECK(s.reply.rcode == kNoError);
  CHECK(s.reply.aa);
  REQUIRE(s.reply.answer.size() == 1);
  CHECK(s.reply.answer[0] == soa("internal.company.", 45));
  CHECK(s.reply.authority.empty());

  // Below the apex an SOA query is just another name that does not exist.
  auto below = ask(f.handler, {.name = "x.internal.company.", .type = rr::SOA});
  CHECK(below.reply.rcode == kNxDomain);
  CHECK(below.reply.answer.empty());
}

TEST_CASE("refuse: REFUSED, the question echoed, no records, not authoritative") {
  Fixture f(kCorefile);
  auto q = std::make_unique<dns::Query>();
  moat::testing::QuerySpec spec;
  spec.name = "Vault.Secret.Example.";
  spec.type = rr::TXT;
  moat::testing::loadQuery(*q, moat::testing::makeQuery(spec));
  REQUIRE(f.handler.onQuery(*q) == Verdict::Answered);
  auto reply = moat::testing::decode(q->reply);
  REQUIRE(reply.ok);
  CHECK(reply.rcode == kRefused);
  CHECK(reply.id == spec.id);
  CHECK_FALSE(reply.aa);
  CHECK(reply.rd);
  CHECK(reply.answer.empty());
  CHECK(reply.authority.empty());
  CHECK(reply.additional.empty());
  const dns::Header h = dns::Header::read(q->reply.data());
  CHECK(h.qdcount == 1);
  // The question is the client's, byte for byte (case kept).
  REQUIRE(q->reply.size() == q->view.question.end);
  CHECK(std::equal(q->reply.begin() + dns::kHeaderSize, q->reply.end(),
                   q->request.begin() + dns::kHeaderSize));
}

TEST_CASE("refuse holds even when an earlier plugin knew the name") {
  Fixture f(kCorefile);
  auto r = ask(f.handler, {.name = "secret.example.", .nameExists = true});
  CHECK(r.reply.rcode == kRefused);
}

TEST_CASE("localhost: A 127.0.0.1 and AAAA ::1, authoritative, TTL = negttl") {
  Fixture f(kCorefile);
  auto a = ask(f.handler, {.name = "localhost."});
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK(a.reply.rcode == kNoError);
  CHECK(a.reply.aa);
  REQUIRE(a.reply.answer.size() == 1);
  CHECK(a.reply.answer[0] == "localhost. 30 IN A 127.0.0.1");
  CHECK(a.reply.authority.empty());

  auto aaaa = ask(f.handler, {.name = "localhost.", .type = rr::AAAA});
  REQUIRE(aaaa.reply.answer.size() == 1);
  CHECK(aaaa.reply.answer[0] == "localhost. 30 IN AAAA ::1");
}

TEST_CASE("localhost: names below it are loopback too, in the client's spelling") {
  Fixture f(kCorefile);
  auto a = ask(f.handler, {.name = "sub.localhost."});
  CHECK(a.reply.rcode == kNoError);
  REQUIRE(a.reply.answer.size() == 1);
  CHECK(a.reply.answer[0] == "sub.localhost. 30 IN A 127.0.0.1");

  auto deep = ask(f.handler, {.name = "A.B.LocalHost.", .type = rr::AAAA});
  REQUIRE(deep.reply.answer.size() == 1);
  CHECK(deep.reply.answer[0] == "A.B.LocalHost. 30 IN AAAA ::1");
}

TEST_CASE("localhost: other types are NODATA with the localhost SOA") {
  Fixture f(kCorefile);
  for (uint16_t type : {rr::MX, rr::TXT, rr::PTR, rr::SRV}) {
    CAPTURE(type);
    auto r = ask(f.handler, {.name = "sub.localhost.", .type = type});
    CHECK(r.reply.rcode == kNoError);
    CHECK(r.reply.aa);
    CHECK(r.reply.answer.empty());
    REQUIRE(r.reply.authority.size() == 1);
    CHECK(r.reply.authority[0] == soa("localhost.", 30));
  }
}

TEST_CASE("localhost: ANY at the apex gets both addresses and the SOA") {
  Fixture f(kCorefile);
  auto r = ask(f.handler, {.name = "localhost.", .type = rr::ANY});
  REQUIRE(r.reply.answer.size() == 3);
  CHECK(r.reply.answer[0] == "localhost. 30 IN A 127.0.0.1");
  CHECK(r.reply.answer[1] == "localhost. 30 IN AAAA ::1");
  CHECK(r.reply.answer[2] == soa("localhost.", 30));
}

TEST_CASE("localhost: another class gets no addresses") {
  Fixture f(kCorefile);
  auto r = ask(f.handler, {.name = "localhost.", .klass = dns::rrclass::CH});
  CHECK(r.reply.rcode == kNoError);
  CHECK(r.reply.answer.empty());
  CHECK(r.reply.authority.size() == 1);
}

TEST_CASE("localhost: its options apply (negttl as TTL, refuse wins)") {
  Fixture ttl(". {\n  private localhost { negttl 600 }\n}\n");
  auto a = ask(ttl.handler, {.name = "localhost."});
  REQUIRE(a.reply.answer.size() == 1);
  CHECK(a.reply.answer[0] == "localhost. 600 IN A 127.0.0.1");

  Fixture refuse(". {\n  private localhost { refuse }\n}\n");
  auto r = ask(refuse.handler, {.name = "www.localhost."});
  CHECK(r.reply.rcode == kRefused);
  CHECK(r.reply.answer.empty());
}

TEST_CASE("localhost: with private off it is not private at all") {
  Fixture f(". {\n  private off\n  private corp.example\n}\n");
  CHECK(ask(f.handler, {.name = "localhost."}).verdict == Verdict::Next);
}

TEST_CASE("a deeper explicit zone under a built-in answers with its own SOA") {
  Fixture f(". {\n  private corp.local { negttl 10 }\n}\n");
  auto r = ask(f.handler, {.name = "dc1.corp.local.", .type = rr::SRV});
  REQUIRE(r.reply.authority.size() == 1);
  CHECK(r.reply.authority[0] == soa("corp.local.", 10));
  auto other = ask(f.handler, {.name = "printer.local."});
  REQUIRE(other.reply.authority.size() == 1);
  CHECK(other.reply.authority[0] == soa("local.", 30));
}

TEST_CASE("names that are not private are the next plugin's, the reply untouched") {
  Fixture f(kCorefile);
  for (const char* name : {"example.org.", ".", "internal.company.example.", "company.",
                           "localhost.example.", "8.8.8.8.in-addr.arpa.", "test.", "example."}) {
    CAPTURE(name);
    auto q = std::make_unique<dns::Query>();
    moat::testing::QuerySpec spec;
    spec.name = name;
    moat::testing::loadQuery(*q, moat::testing::makeQuery(spec));
    CHECK(f.handler.onQuery(*q) == Verdict::Next);
    CHECK(q->reply.empty());
  }
}

TEST_CASE("isLocalhost walks labels, it does not match suffix bytes") {
  auto check = [](const char* text) {
    auto wire = dns::nameFromText(text);
    REQUIRE(wire.has_value());
    dns::lowercaseInPlace(*wire);
    return isLocalhost(*wire);
  };
  CHECK(check("localhost."));
  CHECK(check("a.b.localhost."));
  CHECK(check("LOCALHOST."));
  CHECK_FALSE(check("mylocalhost."));
  CHECK_FALSE(check("localhost.example."));
  CHECK_FALSE(check("."));
  CHECK_FALSE(check("\\009localhost."));  // one label of ten bytes, not a label boundary
}

}  // namespace
}  // namespace moat::plugins::private_zone
