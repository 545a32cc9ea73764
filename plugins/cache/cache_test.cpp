#include "plugins/cache/cache.hpp"

#include <doctest/doctest.h>

#include "plugins/cache/test_support.hpp"
#include "plugins/cache/wire_walk.hpp"

namespace moat::plugins::cache {
namespace {

using testing::a;
using testing::Ask;
using testing::Harness;
using testing::soa;
using namespace std::chrono_literals;
using dns::RCode;

TEST_CASE("cache: a repeated query is answered from the cache") {
  Harness h;
  auto first = h.ask({}, RCode::NoError, {a("www.example.org.", 300)});
  CHECK(h.upstreamCalls == 1);
  CHECK(first.answer == std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.1"});
  auto second = h.ask({});
  CHECK(h.upstreamCalls == 1);
  CHECK(second.rcode == 0);
  CHECK(second.ra);
  CHECK(second.answer == first.answer);
  auto s = h.cache->stats();
  CHECK(s.successHits == 1);
  CHECK(s.misses == 1);
  CHECK(s.successEntries == 1);
}

TEST_CASE("cache: a hit carries the client's ID, RD and question spelling") {
  Harness h;
  h.ask({.name = "www.example.org."}, RCode::NoError, {a("www.example.org.", 300)});
  auto q = testing::makeQuery({.name = "WwW.ExAmple.ORG.", .id = 0xbeef});
  q->request[2] &= static_cast<uint8_t>(~0x01);  // RD off
  REQUIRE(dns::parseQuery(q->requestBytes(), q->view) == dns::ParseStatus::Ok);
  REQUIRE(h.cache->onQuery(*q) == Verdict::Answered);
  CHECK(dns::get16(q->reply.data()) == 0xbeef);
  const auto& qn = q->view.question;
  CHECK(std::equal(q->reply.begin() + 12, q->reply.begin() + 12 + qn.nameLen,
                   q->request.begin() + qn.nameOffset));
  auto r = moat::testing::decode(q->reply);
  CHECK(r.id == 0xbeef);
  CHECK_FALSE(r.rd);
  CHECK(r.qr);
  h.cache->onReply(*q);
  CHECK(h.cache->stats().successEntries == 1);
}

TEST_CASE("cache: TTLs age on hits and the entry expires") {
  Harness h;
  h.ask({}, RCode::NoError, {a("www.example.org.", 300), a("www.example.org.", 100, 2)});
  h.clock->advance(40s);
  auto aged = h.ask({});
  REQUIRE(aged.answer.size() == 2);
  // The smallest TTL rules the entry and every record, as CoreDNS serves it.
  CHECK(aged.answer[0] == "www.example.org. 60 IN A 192.0.2.1");
  CHECK(aged.answer[1] == "www.example.org. 60 IN A 192.0.2.2");
  h.clock->advance(59s + 999ms);
  CHECK(h.ask({}).answer[0] == "www.example.org. 1 IN A 192.0.2.1");
  CHECK(h.upstreamCalls == 1);
  h.clock->advance(1ms);
  h.ask({}, RCode::NoError, {a("www.example.org.", 300)});
  CHECK(h.upstreamCalls == 2);
}

TEST_CASE("cache: the first reply already carries the capped TTL") {
  CacheConfig c;
  c.success.maxTtl = 30;
  Harness h(c);
  auto first = h.ask({}, RCode::NoError, {a("www.example.org.", 300)});
  CHECK(first.answer[0] == "www.example.org. 30 IN A 192.0.2.1");
  auto low = h.ask({.name = "low.example.org."}, RCode::NoError, {a("low.example.org.", 1)});
  CHECK(low.answer[0] == "low.example.org. 5 IN A 192.0.2.1");  // min TTL 5
}

TEST_CASE("cache: keepttl serves the stored TTL unchanged") {
  CacheConfig c;
  c.keepTtl = true;
  Harness h(c);
  h.ask({}, RCode::NoError, {a("www.example.org.", 300)});
  h.clock->advance(100s);
  CHECK(h.ask({}).answer[0] == "www.example.org. 300 IN A 192.0.2.1");
}

TEST_CASE("cache: DO and CD are part of the key") {
  Harness h;
  h.ask({}, RCode::NoError, {a("www.example.org.", 300)});
  h.ask({.edns = 1232, .dnssecOk = true}, RCode::NoError, {a("www.example.org.", 300)});
  h.ask({.cd = true}, RCode::NoError, {a("www.example.org.", 300)});
  CHECK(h.upstreamCalls == 3);
  h.ask({});
  h.ask({.edns = 4096, .dnssecOk = true});
  h.ask({.cd = true});
  h.ask({.edns = 1232});  // EDNS without DO shares the plain entry
  CHECK(h.upstreamCalls == 3);
  h.ask({.type = dns::rrtype::AAAA}, RCode::NoError, {});
  CHECK(h.upstreamCalls == 4);
}

TEST_CASE("cache: OPT is not stored, a client with EDNS gets its own back") {
  Harness h;
  auto first = h.ask({.edns = 1232}, RCode::NoError, {a("www.example.org.", 300)});
  CHECK(first.hasOpt);
  auto plain = h.ask({});
  CHECK_FALSE(plain.hasOpt);
  CHECK(plain.additional.empty());
  auto withEdns = h.ask({.edns = 4000});
  CHECK(withEdns.hasOpt);
  CHECK(withEdns.optUdpSize == 4000);
  CHECK(h.upstreamCalls == 1);
}

// Found by fuzz/wire_reply (fuzz/regressions/wire_reply/): the whole reply was stored, bytes after
// its last record included, and a hit appended the client's OPT after them, where it was read
// as part of a record.
TEST_CASE("cache: bytes an upstream left after the last record are not stored") {
  Harness h;
  auto q = testing::makeQuery({});
  REQUIRE(h.cache->onQuery(*q) == Verdict::Next);
  dns::MessageWriter w(q->reply);
  w.startReply(q->requestBytes(), q->view, RCode::NoError, false);
  const uint8_t addr[4] = {192, 0, 2, 1};
  w.addRR(dns::Section::Answer, testing::wireName("www.example.org."), dns::rrtype::A,
          dns::rrclass::IN, 300, addr);
  const size_t end = q->reply.size();
  q->reply.insert(q->reply.end(), {0, 0, 0, 0, 0, 0, 0, 0, 0x26});
  h.cache->onReply(*q);
  REQUIRE(h.cache->stats().successEntries == 1);

  auto hit = testing::makeQuery({.edns = 1232});
  REQUIRE(h.cache->onQuery(*hit) == Verdict::Answered);
  CHECK(hit->reply.size() == end + 11);  // the records, then the client's OPT
  auto r = moat::testing::decode(hit->reply);
  REQUIRE(r.ok);
  CHECK(r.answer == std::vector<std::string>{"www.example.org. 300 IN A 192.0.2.1"});
  CHECK(r.hasOpt);
  CHECK(r.optUdpSize == 1232);
}

// Found by fuzz/wire_reply (fuzz/regressions/wire_reply/owner_pointer_into_ttl) once the record
// walker followed owner names: a name pointing into a TTL changed when the cache rewrote the
// TTLs, and the stored reply no longer walked.
TEST_CASE("cache: a reply whose owner name points into a TTL is not stored") {
  Harness h;
  auto q = testing::makeQuery({});
  REQUIRE(h.cache->onQuery(*q) == Verdict::Next);
  dns::MessageWriter w(q->reply);
  w.startReply(q->requestBytes(), q->view, RCode::NoError, false);
  const uint8_t addr[4] = {192, 0, 2, 1};
  const auto owner = testing::wireName("www.example.org.");
  w.addRR(dns::Section::Answer, owner, dns::rrtype::A, dns::rrclass::IN, 300, addr);
  const size_t ttl = q->view.question.end + owner.size() + 4;
  const uint8_t intoTtl[2] = {0xC0, static_cast<uint8_t>(ttl)};  // the TTL's first byte, 0: "."
  w.addRR(dns::Section::Answer, intoTtl, dns::rrtype::A, dns::rrclass::IN, 300, addr);
  REQUIRE(moat::testing::decode(q->reply).ok);
  CHECK_FALSE(scanReply(q->reply).ok);
  h.cache->onReply(*q);
  CHECK(h.cache->stats().successEntries == 0);
}

TEST_CASE("cache: NXDOMAIN and NODATA with an SOA are cached as denial") {
  Harness h;
  auto nx = h.ask({.name = "nx.example.org."}, RCode::NXDomain, {soa("example.org.", 120)});
  CHECK(nx.authority.size() == 1);
  h.ask({.name = "nodata.example.org.", .type = dns::rrtype::MX}, RCode::NoError,
        {soa("example.org.", 7200)});
  auto again = h.ask({.name = "nx.example.org."});
  CHECK(again.rcode == 3);
  REQUIRE(again.authority.size() == 1);
  CHECK(again.authority[0].rfind("example.org. 120 IN SOA", 0) == 0);
  auto nodata = h.ask({.name = "nodata.example.org.", .type = dns::rrtype::MX});
  REQUIRE(nodata.authority.size() == 1);
  CHECK(nodata.authority[0].rfind("example.org. 1800 IN SOA", 0) == 0);  // denial max 1800
  CHECK(h.upstreamCalls == 2);
  CHECK(h.cache->stats().denialHits == 2);
  CHECK(h.cache->stats().denialEntries == 2);
}

TEST_CASE("cache: NXDOMAIN without SOA, REFUSED and truncated replies are not cached") {
  Harness h;
  h.ask({.name = "nx.example.org."}, RCode::NXDomain, {});
  h.ask({.name = "nx.example.org."}, RCode::NXDomain, {});
  h.ask({.name = "ref.example.org."}, RCode::Refused, {});
  h.ask({.name = "ref.example.org."}, RCode::Refused, {});
  h.ask({.name = "tc.example.org."}, RCode::NoError, {a("tc.example.org.", 300)}, true);
  auto tc = h.ask({.name = "tc.example.org."}, RCode::NoError, {a("tc.example.org.", 300)}, true);
  CHECK(tc.tc);
  CHECK(h.upstreamCalls == 6);
  CHECK(h.cache->stats().successEntries == 0);
  CHECK(h.cache->stats().denialEntries == 0);
}

TEST_CASE("cache: SERVFAIL is kept for the servfail duration, not when it is 0") {
  Harness h;
  h.ask({}, RCode::ServFail, {});
  CHECK(h.ask({}).rcode == 2);
  h.clock->advance(5s);
  h.ask({}, RCode::ServFail, {});
  CHECK(h.upstreamCalls == 2);

  CacheConfig off;
  off.servfailTtl = 0s;
  Harness h0(off);
  h0.ask({}, RCode::ServFail, {});
  h0.ask({}, RCode::ServFail, {});
  CHECK(h0.upstreamCalls == 2);
}

TEST_CASE("cache: an error the chain wrote for a failing plugin is not cached") {
  Harness h;
  auto q = testing::makeQuery({});
  REQUIRE(h.cache->onQuery(*q) == Verdict::Next);
  dns::writeErrorReply(q->reply, q->requestBytes(), &q->view, RCode::ServFail);
  q->error = "no healthy upstream";
  h.cache->onReply(*q);
  CHECK(h.cache->stats().denialEntries == 0);
}

TEST_CASE("cache: disable success|denial for zones") {
  CacheConfig c;
  c.disableSuccess = {"internal."};
  c.disableDenial = {"."};
  Harness h(c);
  h.ask({.name = "a.internal."}, RCode::NoError, {a("a.internal.", 300)});
  h.ask({.name = "a.internal."}, RCode::NoError, {a("a.internal.", 300)});
  h.ask({.name = "a.example.org."}, RCode::NoError, {a("a.example.org.", 300)});
  h.ask({.name = "a.example.org."});
  h.ask({.name = "nx.example.org."}, RCode::NXDomain, {soa("example.org.", 60)});
  h.ask({.name = "nx.example.org."}, RCode::NXDomain, {soa("example.org.", 60)});
  CHECK(h.upstreamCalls == 5);
}

TEST_CASE("cache: only names in the cache's zones are cached") {
  CacheConfig c;
  c.zones = {"example.org."};
  Harness h(c);
  h.ask({.name = "www.example.net."}, RCode::NoError, {a("www.example.net.", 300)});
  auto q = testing::makeQuery({.name = "www.example.net."});
  CHECK(h.cache->onQuery(*q) == Verdict::Next);
  h.ask({.name = "www.example.org."}, RCode::NoError, {a("www.example.org.", 300)});
  h.ask({.name = "www.example.org."});
  CHECK(h.upstreamCalls == 2);
  CHECK(h.cache->stats().misses == 1);  // the out-of-zone name is not even a miss
}

TEST_CASE("cache: a reply for another question is dropped, not stored") {
  Harness h;
  auto q = testing::makeQuery({});
  REQUIRE(h.cache->onQuery(*q) == Verdict::Next);
  auto other = testing::makeQuery({.name = "evil.example.org."});
  testing::reply(*h.cache, *other, RCode::NoError, {a("evil.example.org.", 300)});
  q->reply = other->reply;
  h.cache->onReply(*q);
  CHECK(h.cache->stats().drops == 1);
  CHECK(h.cache->stats().successEntries == 1);  // only `other`'s own store
}

TEST_CASE("cache: a full cache evicts") {
  CacheConfig c;
  c.success.capacity = 1024;  // the smallest CoreDNS allows
  Harness h(c);
  for (int i = 0; i < 1100; ++i) {
    std::string name = "n" + std::to_string(i) + ".example.org.";
    h.ask({.name = name}, RCode::NoError, {a(name, 300)});
  }
  auto s = h.cache->stats();
  CHECK(s.successEntries == 1024);
  CHECK(s.successEvictions == 1100 - 1024);
}

TEST_CASE("cache: each worker has its own cache, sharing the capacity") {
  Harness h({}, 2);
  h.ask({.worker = 0}, RCode::NoError, {a("www.example.org.", 300)});
  h.ask({.worker = 1}, RCode::NoError, {a("www.example.org.", 300)});
  h.ask({.worker = 0});
  h.ask({.worker = 1});
  CHECK(h.upstreamCalls == 2);
  auto out = testing::makeQuery({.worker = 7});  // a worker it was not built for: pass
  CHECK(h.cache->onQuery(*out) == Verdict::Next);
}

TEST_CASE("cache: setupCache builds a handler named cache") {
  testing::Setup s(testing::directive("cache 60"));
  auto handler = setupCache(s.ctx);
  REQUIRE(handler.ok());
  CHECK((*handler)->name() == "cache");
  CHECK((*handler)->observesReplies());
  testing::Setup bad(testing::directive("cache", {"prefetch 2 1m 5%"}));
  CHECK_FALSE(setupCache(bad.ctx).ok());
}

}  // namespace
}  // namespace moat::plugins::cache
