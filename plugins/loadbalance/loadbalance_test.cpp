#include <arpa/inet.h>
#include <doctest/doctest.h>

#include "tests/support/plugin_test_util.hpp"

#include "tests/support/alloc_counter.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "conf/parser.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/reply_fit.hpp"
#include "plugins/loadbalance/loadbalance.hpp"
#include "tests/support/dns_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

// onReply must not allocate (handler.hpp); counting operator new proves it.

namespace moat::plugins::loadbalance {
namespace {

using moat::testing::stanzasOf;

namespace rr = dns::rrtype;
using moat::testing::allocations;
using moat::testing::counting;
using Bytes = std::vector<uint8_t>;
using Section = dns::Section;

Bytes wireName(std::string_view text) {
  auto name = dns::nameFromText(text);
  REQUIRE(name.has_value());
  return *name;
}

Bytes v4(const char* text) {
  Bytes out(4);
  REQUIRE(inet_pton(AF_INET, text, out.data()) == 1);
  return out;
}

Bytes v6(const char* text) {
  Bytes out(16);
  REQUIRE(inet_pton(AF_INET6, text, out.data()) == 1);
  return out;
}

Bytes mx(uint16_t preference, std::string_view host) {
  Bytes out(2);
  dns::put16(out.data(), preference);
  Bytes name = wireName(host);
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

// One character-string: sized once and filled in place (growing a one-byte vector by insert
// made GCC 12 report a memcpy out of the old buffer's bounds on a path that never runs).
Bytes txt(std::string_view text) {
  REQUIRE(text.size() <= 255);
  Bytes out(1 + text.size());
  out[0] = static_cast<uint8_t>(text.size());
  std::copy(text.begin(), text.end(), out.begin() + 1);
  return out;
}

struct Rr {
  Section section;
  std::string owner;
  uint16_t type;
  Bytes rdata;
};

// An uncompressed reply, as Moat's own plugins write them.
Bytes makeReply(std::string_view qname, uint16_t qtype, const std::vector<Rr>& rrs,
                dns::RCode rcode = dns::RCode::NoError) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = std::string(qname), .type = qtype}));
  Bytes out;
  dns::MessageWriter w(out);
  w.startReply(q->requestBytes(), q->view, rcode, /*aa=*/false);
  for (const Rr& r : rrs) {
    w.addRR(r.section, wireName(r.owner), r.type, dns::rrclass::IN, 300, r.rdata);
  }
  return out;
}

Bytes compressed(Bytes msg) {
  size_t before = msg.size();
  REQUIRE(dns::compressMessage(msg));
  REQUIRE(msg.size() < before);
  return msg;
}

std::vector<Rr> aRecords(std::string_view owner, std::initializer_list<const char*> addresses) {
  std::vector<Rr> out;
  for (const char* a : addresses) {
    out.push_back({Section::Answer, std::string(owner), rr::A, v4(a)});
  }
  return out;
}

// "owner ttl CLASS TYPE rdata" -> TYPE
std::string typeOf(const std::string& record) {
  std::istringstream in(record);
  std::string field;
  for (int i = 0; i < 4; ++i) in >> field;
  return field;
}

std::vector<std::string> typesOf(const std::vector<std::string>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(typeOf(r));
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// An independent check of what strict decoders demand: every compression pointer (in owners
// and in the RDATA names of CNAME, NS, PTR, MX, SOA) points before itself.
bool pointersBackward(const Bytes& msg, size_t* pointers = nullptr) {
  size_t found = 0;
  auto name = [&](size_t& off) {
    for (;;) {
      if (off >= msg.size()) return false;
      uint8_t b = msg[off];
      if ((b & 0xC0) == 0xC0) {
        size_t target = (b & 0x3Fu) << 8 | msg[off + 1];
        ++found;
        if (target >= off) return false;
        off += 2;
        return true;
      }
      off += b + 1u;
      if (b == 0) return true;
    }
  };
  dns::Header h = dns::Header::read(msg.data());
  size_t off = dns::kHeaderSize;
  for (unsigned i = 0; i < h.qdcount; ++i) {
    if (!name(off)) return false;
    off += 4;
  }
  unsigned total = unsigned{h.ancount} + h.nscount + h.arcount;
  for (unsigned i = 0; i < total; ++i) {
    if (!name(off)) return false;
    uint16_t type = dns::get16(&msg[off]);
    size_t rdata = off + 10, end = rdata + dns::get16(&msg[off + 8]);
    size_t p = rdata;
    switch (type) {
      case rr::CNAME: case rr::NS: case rr::PTR:
        if (!name(p)) return false;
        break;
      case rr::MX:
        p += 2;
        if (!name(p)) return false;
        break;
      case rr::SOA:
        if (!name(p) || !name(p)) return false;
        break;
      default:
        break;
    }
    off = end;
  }
  if (pointers) *pointers = found;
  return off == msg.size();
}

constexpr uint64_t kSeed = 0x5EED;

// ---------------------------------------------------------------------------------------------
// Configuration

TEST_CASE("parse: policies and options, errors positioned") {
  struct Case {
    const char* body;   // the lines inside ". { }"
    const char* error;  // empty: parses
    size_t prefer = 0;
  };
  const Case cases[] = {
      {"  loadbalance\n", ""},
      {"  loadbalance round_robin\n", ""},
      {"  loadbalance {\n    prefer 10.9.20.0/24 192.168.1.0/24\n  }\n", "", 2},
      {"  loadbalance round_robin {\n    prefer 2001:db8::/32\n  }\n", "", 1},
      {"  loadbalance {\n    prefer\n  }\n", "", 0},
      {"  loadbalance {\n    prefer 10.0.0.0/8\n  }\n"
       "  loadbalance round_robin {\n    prefer ::/0\n  }\n",
       "", 2},
      {"  loadbalance weighted wfile\n",
       "Corefile:2:15: loadbalance: policy 'weighted' is not implemented by Moat"},
      {"  loadbalance weighted wf {\n    reload 10s\n  }\n",
       "Corefile:2:15: loadbalance: policy 'weighted' is not implemented by Moat"},
      {"  loadbalance weighted\n",
       "Corefile:2:15: loadbalance: policy 'weighted' is not implemented by Moat"},
      {"  loadbalance fleeb\n", "Corefile:2:15: loadbalance: unknown policy 'fleeb'"},
      {"  loadbalance round_robn\n",
       "Corefile:2:15: loadbalance: unknown policy 'round_robn', did you mean 'round_robin'?"},
      {"  loadbalance round_robin a\n",
       "Corefile:2:27: loadbalance: unexpected argument 'a' after round_robin"},
      {"  loadbalance {\n    reload 10s\n  }\n",
       "Corefile:3:5: loadbalance: unknown option 'reload'"},
      {"  loadbalance round_robin {\n    prefer 10.0.0.0/33\n  }\n",
       "Corefile:3:12: loadbalance: invalid CIDR '10.0.0.0/33', expected e.g. 10.9.20.0/24"},
      {"  loadbalance {\n    prefer 10.0.0.1 \n  }\n",
       "Corefile:3:12: loadbalance: invalid CIDR '10.0.0.1', expected e.g. 10.9.20.0/24"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    auto p = stanzasOf(std::string(". {\n") + c.body + "}\n", "loadbalance");
    auto config = parseConfig(p.stanzas);
    if (*c.error == '\0') {
      REQUIRE_MESSAGE(config.ok(), (config.ok() ? std::string() : config.error().str()));
      CHECK(config->prefer.size() == c.prefer);
    } else {
      REQUIRE_FALSE(config.ok());
      CHECK(config.error().str() == c.error);
    }
  }
}

TEST_CASE("parse: CIDRs as Go reads them") {
  struct Case {
    const char* text;
    bool ok;
  };
  const Case cases[] = {
      {"10.9.20.0/24", true}, {"10.9.20.7/24", true}, {"0.0.0.0/0", true}, {"2001:db8::/32", true},
      {"::ffff:10.0.0.0/104", true}, {"10.0.0.0", false}, {"10.0.0.0/", false}, {"10.0.0/8", false},
      {"10.0.0.0/x", false}, {"2001:db8::/129", false}, {"example.org/8", false}, {"/8", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(parseSubnet(c.text).has_value() == c.ok);
  }

  auto net = *parseSubnet("10.9.20.7/24");  // host bits are masked off
  CHECK(net.contains(v4("10.9.20.200")));
  CHECK_FALSE(net.contains(v4("10.9.21.1")));
  CHECK(net.contains(v6("::ffff:10.9.20.1")));  // IPv4-mapped AAAA counts as IPv4
  CHECK_FALSE(net.contains(v6("2001:db8::1")));
  auto odd = *parseSubnet("10.0.0.0/9");
  CHECK(odd.contains(v4("10.127.255.255")));
  CHECK_FALSE(odd.contains(v4("10.128.0.0")));
  auto six = *parseSubnet("2001:db8::/32");
  CHECK(six.contains(v6("2001:db8:abcd::1")));
  CHECK_FALSE(six.contains(v6("2001:db9::1")));
  CHECK_FALSE(six.contains(v4("10.0.0.1")));
  auto mapped = *parseSubnet("::ffff:10.0.0.0/104");  // the IPv4 network 10.0.0.0/8
  CHECK(mapped.contains(v4("10.1.2.3")));
  CHECK_FALSE(mapped.contains(v4("11.1.2.3")));
  CHECK(parseSubnet("0.0.0.0/0")->contains(v4("203.0.113.9")));
}

TEST_CASE("setup: a handler that passes queries on and reorders replies") {
  auto p = stanzasOf(". {\n  loadbalance round_robin\n}\n", "loadbalance");
  SetupContext ctx;
  ctx.stanzas = p.stanzas;
  auto h = setupLoadbalance(ctx);
  REQUIRE(h.ok());
  CHECK((*h)->name() == "loadbalance");
  CHECK((*h)->observesReplies());

  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "www.example.org."}));
  CHECK((*h)->onQuery(*q) == Verdict::Next);

  const Bytes reply = makeReply("www.example.org.", rr::A,
                                aRecords("www.example.org.", {"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  std::set<Bytes> seen;
  for (int i = 0; i < 200; ++i) {
    q->reply = reply;
    (*h)->onReply(*q);
    seen.insert(q->reply);
  }
  CHECK(seen.size() == 6);

  // A worker index the handler was not built for leaves the reply alone.
  q->worker = 7;
  q->reply = reply;
  (*h)->onReply(*q);
  CHECK(q->reply == reply);

  auto bad = stanzasOf(". {\n  loadbalance weighted f\n}\n", "loadbalance");
  ctx.stanzas = bad.stanzas;
  CHECK_FALSE(setupLoadbalance(ctx).ok());
}

// ---------------------------------------------------------------------------------------------
// Shuffling

// Balances copies of `reply` `tries` times and returns the answer sections seen, checking each
// decodes, keeps its records and its pointers backward.
std::map<std::vector<std::string>, int> answerOrders(LoadbalanceHandler& lb, const Bytes& reply,
                                                      int tries) {
  const testing::Reply before = testing::decode(reply);
  REQUIRE(before.ok);
  std::map<std::vector<std::string>, int> seen;
  for (int i = 0; i < tries; ++i) {
    Bytes copy = reply;
    lb.balance(copy, 0);
    REQUIRE(copy.size() == reply.size());
    REQUIRE(std::equal(reply.begin(), reply.begin() + dns::kHeaderSize, copy.begin()));
    REQUIRE(pointersBackward(copy));
    testing::Reply after = testing::decode(copy);
    REQUIRE(after.ok);
    REQUIRE(sorted(after.answer) == sorted(before.answer));
    REQUIRE(sorted(after.authority) == sorted(before.authority));
    REQUIRE(sorted(after.additional) == sorted(before.additional));
    seen[after.answer]++;
  }
  return seen;
}

TEST_CASE("three A records: every order appears, about equally often") {
  LoadbalanceHandler lb({}, 1, kSeed);
  const Bytes reply = makeReply("www.example.org.", rr::A,
                                aRecords("www.example.org.", {"10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  auto seen = answerOrders(lb, reply, 6000);
  REQUIRE(seen.size() == 6);
  for (const auto& [order, count] : seen) {
    const std::string& first = order[0];  // not the binding: clang 14 cannot capture one
    CAPTURE(first);
    CHECK(count > 800);  // 1000 expected; the standard deviation is about 29
    CHECK(count < 1200);
  }
}

TEST_CASE("two records swap, one record is left alone") {
  LoadbalanceHandler lb({}, 1, kSeed);
  auto two = answerOrders(
      lb, makeReply("x.example.", rr::A, aRecords("x.example.", {"192.0.2.1", "192.0.2.2"})), 100);
  CHECK(two.size() == 2);
  const Bytes one = makeReply("x.example.", rr::A, aRecords("x.example.", {"192.0.2.1"}));
  Bytes copy = one;
  lb.balance(copy, 0);
  CHECK(copy == one);
}

TEST_CASE("AAAA records are shuffled too") {
  LoadbalanceHandler lb({}, 1, kSeed);
  std::vector<Rr> rrs;
  for (const char* a : {"2001:db8::1", "2001:db8::2", "2001:db8::3"}) {
    rrs.push_back({Section::Answer, "v6.example.org.", rr::AAAA, v6(a)});
  }
  auto seen = answerOrders(lb, makeReply("v6.example.org.", rr::AAAA, rrs), 300);
  CHECK(seen.size() == 6);
}

TEST_CASE("CNAMEs first, then other records, then addresses, then MX (as CoreDNS)") {
  LoadbalanceHandler lb({}, 1, kSeed);
  const Bytes reply = makeReply(
      "mix.example.org.", rr::ANY,
      {{Section::Answer, "mix.example.org.", rr::MX, mx(1, "mx1.example.org.")},
       {Section::Answer, "mix.example.org.", rr::A, v4("10.240.0.1")},
       {Section::Answer, "mix.example.org.", rr::TXT, txt("hello")},
       {Section::Answer, "mix.example.org.", rr::A, v4("10.240.0.2")},
       {Section::Answer, "mix.example.org.", rr::MX, mx(2, "mx2.example.org.")},
       {Section::Answer, "cname.example.org.", rr::CNAME, wireName("mix.example.org.")},
       {Section::Answer, "mix.example.org.", rr::AAAA, v6("::1")},
       {Section::Answer, "mix.example.org.", rr::MX, mx(3, "mx3.example.org.")},
       {Section::Additional, "a.example.org.", rr::A, v4("10.0.0.1")},
       {Section::Additional, "a.example.org.", rr::AAAA, v6("::2")},
       {Section::Additional, "b.example.org.", rr::CNAME, wireName("a.example.org.")},
       {Section::Additional, "a.example.org.", rr::A, v4("10.0.0.3")}});
  std::set<std::vector<std::string>> answers, additionals;
  for (int i = 0; i < 400; ++i) {
    Bytes copy = reply;
    lb.balance(copy, 0);
    testing::Reply r = testing::decode(copy);
    REQUIRE(r.ok);
    // The addresses are shuffled as one group, A and AAAA mixed.
    auto types = typesOf(r.answer);
    CHECK(types[0] == "CNAME");
    CHECK(types[1] == "TXT");
    CHECK(std::count(types.begin() + 2, types.begin() + 5, "A") == 2);
    CHECK(std::count(types.begin() + 2, types.begin() + 5, "AAAA") == 1);
    CHECK(std::all_of(types.begin() + 5, types.end(), [](auto& t) { return t == "MX"; }));
    CHECK(typesOf(r.additional)[0] == "CNAME");
    answers.insert(r.answer);
    additionals.insert(r.additional);
  }
  CHECK(answers.size() == 36);  // 3! address orders x 3! MX orders
  CHECK(additionals.size() == 6);
}

TEST_CASE("only NOERROR replies are reordered, and never a zone transfer") {
  LoadbalanceHandler lb({}, 1, kSeed);
  auto rrs = aRecords("www.example.org.", {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"});
  std::vector<Bytes> untouched = {
      makeReply("www.example.org.", rr::A, rrs, dns::RCode::NXDomain),
      makeReply("www.example.org.", rr::A, rrs, dns::RCode::ServFail),
      makeReply("www.example.org.", rr::A, rrs, dns::RCode::Refused),
      makeReply("www.example.org.", rr::AXFR, rrs),
      makeReply("www.example.org.", rr::IXFR, rrs),
  };
  // An extended rcode (BADVERS = 16) lives in the OPT record: not a success either.
  Bytes badvers = makeReply("www.example.org.", rr::A, rrs);
  dns::appendOpt(badvers, 1232, false);
  badvers[badvers.size() - 6] = 1;  // the OPT TTL's first byte: rcode bits 4-11
  untouched.push_back(badvers);
  for (size_t c = 0; c < untouched.size(); ++c) {
    CAPTURE(c);
    for (int i = 0; i < 30; ++i) {
      Bytes copy = untouched[c];
      lb.balance(copy, 0);
      REQUIRE(copy == untouched[c]);
    }
  }
}

TEST_CASE("the OPT record the client gets back stays last") {
  LoadbalanceHandler lb({}, 1, kSeed);
  std::vector<Rr> rrs;
  for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    rrs.push_back({Section::Additional, "ns.example.org.", rr::A, v4(a)});
  }
  Bytes reply = makeReply("example.org.", rr::NS, rrs);
  dns::appendOpt(reply, 1232, true);
  std::set<std::vector<std::string>> seen;
  for (int i = 0; i < 200; ++i) {
    Bytes copy = reply;
    lb.balance(copy, 0);
    REQUIRE(std::equal(reply.end() - 11, reply.end(), copy.end() - 11));
    testing::Reply r = testing::decode(copy);
    REQUIRE(r.ok);
    CHECK(r.hasOpt);
    seen.insert(r.additional);
  }
  CHECK(seen.size() == 6);
}

TEST_CASE("compressed replies stay valid: CNAME chain, delegation, glue") {
  LoadbalanceHandler lb({}, 1, kSeed);
  const Bytes reply = compressed(makeReply(
      "www.example.org.", rr::A,
      {{Section::Answer, "www.example.org.", rr::CNAME, wireName("web.example.org.")},
       {Section::Answer, "web.example.org.", rr::A, v4("10.0.0.1")},
       {Section::Answer, "web.example.org.", rr::A, v4("10.0.0.2")},
       {Section::Answer, "web.example.org.", rr::A, v4("10.0.0.3")},
       {Section::Authority, "example.org.", rr::NS, wireName("ns1.example.org.")},
       {Section::Authority, "example.org.", rr::NS, wireName("ns2.example.org.")},
       {Section::Additional, "ns1.example.org.", rr::A, v4("10.0.1.1")},
       {Section::Additional, "ns1.example.org.", rr::AAAA, v6("2001:db8::53")},
       {Section::Additional, "ns2.example.org.", rr::A, v4("10.0.1.2")}}));
  size_t pointers = 0;
  REQUIRE(pointersBackward(reply, &pointers));
  CHECK(pointers >= 8);
  auto seen = answerOrders(lb, reply, 400);
  CHECK(seen.size() == 6);
  for (const auto& [answer, count] : seen) CHECK(typeOf(answer[0]) == "CNAME");

  // Applied again and again to the same bytes, as nothing stops a reply from being reordered
  // twice: each pass must leave a reply the next pass can read.
  Bytes cur = reply;
  std::set<std::vector<std::string>> additional;
  for (int i = 0; i < 300; ++i) {
    lb.balance(cur, 0);
    REQUIRE(pointersBackward(cur));
    testing::Reply r = testing::decode(cur);
    REQUIRE(r.ok);
    REQUIRE(sorted(r.answer) == sorted(testing::decode(reply).answer));
    REQUIRE(sorted(r.additional) == sorted(testing::decode(reply).additional));
    additional.insert(r.additional);
  }
  CHECK(additional.size() == 6);
}

TEST_CASE("compressed MX answer: glue pointing into moved records is re-aimed") {
  LoadbalanceHandler lb({}, 1, kSeed);
  // ldns writes each glue owner as a pointer into the MX record that named it, so moving the
  // MX records moves what those pointers point at.
  const Bytes reply = compressed(
      makeReply("example.org.", rr::MX,
                {{Section::Answer, "example.org.", rr::MX, mx(10, "mx1.example.org.")},
                 {Section::Answer, "example.org.", rr::MX, mx(20, "mx2.example.org.")},
                 {Section::Answer, "example.org.", rr::MX, mx(30, "mx3.example.org.")},
                 {Section::Additional, "mx1.example.org.", rr::A, v4("10.0.0.1")},
                 {Section::Additional, "mx2.example.org.", rr::A, v4("10.0.0.2")},
                 {Section::Additional, "mx3.example.org.", rr::AAAA, v6("2001:db8::3")}}));
  auto seen = answerOrders(lb, reply, 400);  // checks the glue owners still read the same
  CHECK(seen.size() == 6);

  Bytes cur = reply;
  for (int i = 0; i < 300; ++i) {
    lb.balance(cur, 0);
    REQUIRE(pointersBackward(cur));
    testing::Reply r = testing::decode(cur);
    REQUIRE(r.ok);
    REQUIRE(sorted(r.answer) == sorted(testing::decode(reply).answer));
    REQUIRE(sorted(r.additional) == sorted(testing::decode(reply).additional));
  }
}

TEST_CASE("compressed MX answer sharing a suffix: the record that spells it stays ahead") {
  LoadbalanceHandler lb({}, 1, kSeed);
  // "mx2.mail.example.org." is written as "mx2" and a pointer into the first MX's RDATA, so the
  // first MX cannot go after the other two; those two still swap.
  const Bytes reply = compressed(
      makeReply("example.org.", rr::MX,
                {{Section::Answer, "example.org.", rr::MX, mx(10, "mx1.mail.example.org.")},
                 {Section::Answer, "example.org.", rr::MX, mx(20, "mx2.mail.example.org.")},
                 {Section::Answer, "example.org.", rr::MX, mx(30, "mx3.mail.example.org.")},
                 {Section::Additional, "mx1.mail.example.org.", rr::A, v4("10.0.0.1")},
                 {Section::Additional, "mx2.mail.example.org.", rr::A, v4("10.0.0.2")}}));
  auto seen = answerOrders(lb, reply, 400);
  CHECK(seen.size() == 2);
  for (const auto& [answer, count] : seen) {
    CHECK(answer[0] == "example.org. 300 IN MX 10 mx1.mail.example.org.");
  }
}

// Header, question "q.example. A", then three A records for h.example.: the first spells its
// owner ("h" + a pointer to "example." in the question), the others point at that owner. Moving
// a pointing record ahead of the first would make its pointer point forward.
Bytes ownerDefinedInSection() {
  Bytes m(dns::kHeaderSize, 0);
  dns::Header{0x4242, dns::flag::QR | dns::flag::RD, 1, 3, 0, 0}.write(m.data());
  Bytes q = wireName("q.example.");
  m.insert(m.end(), q.begin(), q.end());
  m.insert(m.end(), {0, 1, 0, 1});
  const uint16_t first = static_cast<uint16_t>(m.size());
  const uint8_t ips[3] = {1, 2, 3};
  for (int i = 0; i < 3; ++i) {
    if (i == 0) {
      m.insert(m.end(), {1, 'h', 0xC0, static_cast<uint8_t>(dns::kHeaderSize + 2)});
    } else {
      m.insert(m.end(), {static_cast<uint8_t>(0xC0 | first >> 8), static_cast<uint8_t>(first)});
    }
    m.insert(m.end(), {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, ips[i]});
  }
  return m;
}

TEST_CASE("a record other records point into: the addresses are exchanged instead") {
  LoadbalanceHandler lb({}, 1, kSeed);
  const Bytes reply = ownerDefinedInSection();
  REQUIRE(pointersBackward(reply));
  auto seen = answerOrders(lb, reply, 400);
  CHECK(seen.size() == 6);
  for (const auto& [answer, count] : seen) {
    for (const auto& record : answer) CHECK(record.rfind("h.example. 60 IN A 192.0.2.", 0) == 0);
  }
}

// Glue as some servers write it: each host's first record spells its owner, the second points
// at it. A and AAAA are shuffled as one group, but a pointing record cannot go first.
TEST_CASE("interleaved owners spelled in the section: only orders that keep names readable") {
  LoadbalanceHandler lb({}, 1, kSeed);
  Bytes m(dns::kHeaderSize, 0);
  dns::Header{7, dns::flag::QR, 1, 4, 0, 0}.write(m.data());
  Bytes q = wireName("q.example.");
  m.insert(m.end(), q.begin(), q.end());
  m.insert(m.end(), {0, 1, 0, 1});
  for (uint8_t host : {'a', 'b'}) {
    const uint16_t owner = static_cast<uint16_t>(m.size());
    m.insert(m.end(), {1, host, 0xC0, static_cast<uint8_t>(dns::kHeaderSize + 2)});
    m.insert(m.end(), {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, host});
    m.insert(m.end(), {static_cast<uint8_t>(0xC0 | owner >> 8), static_cast<uint8_t>(owner)});
    m.insert(m.end(), {0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0x20, 0x01, 0x0d, 0xb8});
    m.insert(m.end(), 11, 0);
    m.push_back(host);
  }
  auto seen = answerOrders(lb, m, 400);
  CHECK(seen.size() == 6);  // 4! orders, a host's A ahead of its AAAA in a quarter of them
  for (const auto& [answer, count] : seen) {
    for (std::string host : {"a.", "b."}) {
      auto at = [&, &answer = answer](const std::string& prefix) {
        return std::find_if(answer.begin(), answer.end(),
                            [&](const std::string& r) { return r.rfind(prefix, 0) == 0; });
      };
      CHECK(at(host + "example. 60 IN A ") < at(host + "example. 60 IN AAAA "));
    }
  }
}

TEST_CASE("malformed or unusual replies are never read or written out of bounds") {
  LoadbalanceHandler lb({}, 1, kSeed);
  const Bytes base = compressed(makeReply(
      "www.example.org.", rr::MX,
      {{Section::Answer, "www.example.org.", rr::CNAME, wireName("web.example.org.")},
       {Section::Answer, "web.example.org.", rr::MX, mx(1, "mx1.example.org.")},
       {Section::Answer, "web.example.org.", rr::MX, mx(2, "mx2.mail.example.org.")},
       {Section::Answer, "web.example.org.", rr::A, v4("10.0.0.1")},
       {Section::Answer, "web.example.org.", rr::A, v4("10.0.0.2")},
       {Section::Authority, "example.org.", rr::NS, wireName("ns1.example.org.")},
       {Section::Additional, "mx1.example.org.", rr::A, v4("10.0.1.1")},
       {Section::Additional, "mx2.mail.example.org.", rr::AAAA, v6("2001:db8::53")}}));
  // Cut short anywhere: the walk must notice.
  for (size_t len = 0; len < base.size(); ++len) {
    Bytes cut(base.begin(), base.begin() + static_cast<long>(len));
    lb.balance(cut, 0);
    CHECK(cut.size() == len);
  }
  // No question: left alone (CoreDNS never sees one).
  Bytes noQuestion = base;
  dns::put16(noQuestion.data() + 4, 0);
  Bytes copy = noQuestion;
  lb.balance(copy, 0);
  CHECK(copy == noQuestion);
  // Random damage: whatever comes of it, stay inside the buffer (run under ASan).
  uint64_t x = 88172645463325252ull;
  auto next = [&] { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; };
  for (int i = 0; i < 20000; ++i) {
    Bytes damaged = base;
    for (int k = 0, hits = 1 + static_cast<int>(next() % 3); k < hits; ++k) {
      size_t at = dns::kHeaderSize + next() % (damaged.size() - dns::kHeaderSize);
      damaged[at] = static_cast<uint8_t>(next());
    }
    lb.balance(damaged, 0);
    REQUIRE(damaged.size() == base.size());
  }
}

// Found by fuzz/wire_reply (fuzz/regressions/wire_reply/): a pointer into a record's fixed
// fields or RDATA names bytes that run on into the record after it. Moving records changed that
// name, or made it a pointer loop no client could read.
TEST_CASE("a pointer to anything but a name's label: the reply is left alone") {
  Bytes m(dns::kHeaderSize, 0);
  dns::Header{7, dns::flag::QR, 1, 3, 0, 0}.write(m.data());
  const Bytes q = wireName("big.example.org.");
  m.insert(m.end(), q.begin(), q.end());
  m.insert(m.end(), {0, 1, 0, 1});
  const uint8_t firstRdLength = static_cast<uint8_t>(m.size() + 2 + 8 + 1);
  for (uint8_t i = 0; i < 3; ++i) {
    // The last owner starts at the first record's RDLENGTH low byte (4): a 4-byte label made of
    // its address, then whatever follows that record ("\010\000\000\000.big.example.org.").
    m.insert(m.end(), {0xC0, static_cast<uint8_t>(i == 2 ? firstRdLength : dns::kHeaderSize)});
    m.insert(m.end(), {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, i});
  }
  const testing::Reply before = testing::decode(m);
  REQUIRE(before.ok);
  REQUIRE(before.answer.size() == 3);
  for (uint64_t seed = 0; seed < 64; ++seed) {
    LoadbalanceHandler lb({}, 1, seed);
    Bytes copy = m;
    lb.balance(copy, 0);
    CHECK(copy == m);
  }
}

TEST_CASE("a reply already fitted to the client (compressed, truncated) is reordered in place") {
  auto p = stanzasOf(". {\n  loadbalance\n}\n", "loadbalance");
  SetupContext ctx;
  ctx.stanzas = p.stanzas;
  auto h = setupLoadbalance(ctx);
  REQUIRE(h.ok());
  std::vector<Rr> rrs;
  for (int i = 0; i < 40; ++i) {
    std::string ip = "10.1.0." + std::to_string(i + 1);
    rrs.push_back({Section::Answer, "big.example.org.", rr::A, v4(ip.c_str())});
  }
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "big.example.org."}));
  Bytes fitted = makeReply("big.example.org.", rr::A, rrs);
  dns::finalizeReply(fitted, q->view, dns::Proto::Udp);  // what the runner does first
  REQUIRE(fitted.size() <= 512);
  const testing::Reply before = testing::decode(fitted);
  REQUIRE(before.ok);
  REQUIRE(before.tc);  // 40 records do not fit even compressed
  REQUIRE(pointersBackward(fitted));
  std::set<std::string> firsts;
  for (int i = 0; i < 100; ++i) {
    q->reply = fitted;
    (*h)->onReply(*q);
    REQUIRE(q->reply.size() == fitted.size());
    REQUIRE(pointersBackward(q->reply));
    testing::Reply after = testing::decode(q->reply);
    REQUIRE(after.ok);
    CHECK(after.tc == before.tc);
    REQUIRE(sorted(after.answer) == sorted(before.answer));
    firsts.insert(after.answer.at(0));
  }
  CHECK(firsts.size() > 10);
}

TEST_CASE("sections over 64 records keep their order") {
  LoadbalanceHandler lb({}, 1, kSeed);
  std::vector<Rr> rrs;
  for (int i = 0; i < 65; ++i) {
    std::string ip = "10.0.0." + std::to_string(i + 1);
    rrs.push_back({Section::Answer, "many.example.org.", rr::A, v4(ip.c_str())});
  }
  const Bytes reply = makeReply("many.example.org.", rr::A, rrs);
  for (int i = 0; i < 20; ++i) {
    Bytes copy = reply;
    lb.balance(copy, 0);
    REQUIRE(copy == reply);
  }
  rrs.pop_back();
  auto seen = answerOrders(lb, makeReply("many.example.org.", rr::A, rrs), 20);
  CHECK(seen.size() > 1);
}

TEST_CASE("prefer: preferred subnets first, in the order listed, ties stay shuffled") {
  Config config;
  for (const char* cidr : {"2001:db8::/32", "10.9.20.0/24", "10.9.30.0/24"}) {
    config.prefer.push_back(*parseSubnet(cidr));
  }
  LoadbalanceHandler lb(std::move(config), 1, kSeed);
  std::vector<Rr> rrs;
  for (const char* a :
       {"10.9.30.1", "10.9.20.5", "192.168.1.2", "10.10.0.1", "10.9.20.3", "172.16.0.1"}) {
    rrs.push_back({Section::Answer, "example.org.", rr::A, v4(a)});
  }
  for (const char* a : {"2001:db8::1", "2001:db8:abcd::1", "fd00::1"}) {
    rrs.push_back({Section::Answer, "example.org.", rr::AAAA, v6(a)});
  }
  rrs.push_back({Section::Answer, "example.org.", rr::CNAME, wireName("alias.example.org.")});
  rrs.push_back({Section::Authority, "example.org.", rr::A, v4("10.9.20.9")});
  rrs.push_back({Section::Authority, "example.org.", rr::A, v4("10.0.0.9")});
  const Bytes reply = makeReply("example.org.", rr::A, rrs);

  auto last = [](const std::string& record) { return record.substr(record.rfind(' ') + 1); };
  auto group = [&](const std::vector<std::string>& answer, size_t from, size_t to) {
    std::set<std::string> out;
    for (size_t i = from; i < to; ++i) out.insert(last(answer[i]));
    return out;
  };
  std::set<std::vector<std::string>> seen, authority;
  for (int i = 0; i < 3000; ++i) {
    Bytes copy = reply;
    lb.balance(copy, 0);
    testing::Reply r = testing::decode(copy);
    REQUIRE(r.ok);
    REQUIRE(r.answer.size() == 10);
    CHECK(last(r.answer[0]) == "alias.example.org.");
    CHECK(group(r.answer, 1, 3) == std::set<std::string>{"2001:db8::1", "2001:db8:abcd::1"});
    CHECK(group(r.answer, 3, 5) == std::set<std::string>{"10.9.20.5", "10.9.20.3"});
    CHECK(last(r.answer[5]) == "10.9.30.1");
    CHECK(group(r.answer, 6, 10) ==
          std::set<std::string>{"192.168.1.2", "10.10.0.1", "172.16.0.1", "fd00::1"});
    seen.insert(r.answer);
    authority.insert(r.authority);
  }
  CHECK(seen.size() == 2 * 2 * 24);
  CHECK(authority.size() == 2);  // CoreDNS shuffles authority but never applies prefer to it
}

TEST_CASE("prefer: other records go after the addresses and MX, as CoreDNS orders them") {
  Config config;
  config.prefer.push_back(*parseSubnet("10.9.20.0/24"));
  LoadbalanceHandler lb(std::move(config), 1, kSeed);
  const Bytes reply = makeReply("example.org.", rr::ANY,
                                {{Section::Answer, "example.org.", rr::TXT, txt("x")},
                                 {Section::Answer, "example.org.", rr::A, v4("10.9.20.1")}});
  Bytes copy = reply;
  lb.balance(copy, 0);
  CHECK(typesOf(testing::decode(copy).answer) == std::vector<std::string>{"A", "TXT"});

  LoadbalanceHandler plain({}, 1, kSeed);
  copy = reply;
  plain.balance(copy, 0);
  CHECK(typesOf(testing::decode(copy).answer) == std::vector<std::string>{"TXT", "A"});
}

TEST_CASE("onReply does not allocate") {
  Config config;
  config.prefer.push_back(*parseSubnet("10.0.0.0/8"));
  LoadbalanceHandler lb(std::move(config), 1, kSeed);
  const std::vector<Bytes> replies = {
      makeReply("www.example.org.", rr::A,
                aRecords("www.example.org.", {"10.0.0.1", "192.0.2.2", "10.0.0.3"})),
      compressed(makeReply("example.org.", rr::MX,
                           {{Section::Answer, "example.org.", rr::MX, mx(10, "mx1.example.org.")},
                            {Section::Answer, "example.org.", rr::MX, mx(20, "mx2.example.org.")},
                            {Section::Additional, "mx1.example.org.", rr::A, v4("10.0.0.1")},
                            {Section::Additional, "mx2.example.org.", rr::A, v4("10.0.0.2")}})),
      ownerDefinedInSection(),
  };
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "www.example.org."}));
  q->reply.reserve(dns::kMaxMessage);
  for (const Bytes& reply : replies) {
    for (int i = 0; i < 50; ++i) {
      q->reply.assign(reply.begin(), reply.end());
      allocations = 0;
      counting = true;
      lb.onReply(*q);
      counting = false;
      REQUIRE(allocations == 0);
    }
  }
}

}  // namespace
}  // namespace moat::plugins::loadbalance
