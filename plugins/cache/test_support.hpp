// Helpers for the cache tests: a hand-moved clock, directives built from text, and a harness
// that plays the chain around the cache (query in, the next plugin's reply, onReply).
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/reply_fit.hpp"
#include "plugins/cache/cache.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::cache::testing {

class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  TimePoint now_{std::chrono::hours(1000)};
};

inline std::vector<conf::Token> tokens(std::string_view line, uint32_t lineNo) {
  std::vector<conf::Token> out;
  for (size_t i = 0; i < line.size();) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start)
      out.push_back({std::string(line.substr(start, i - start)),
                     conf::Pos{"Corefile", lineNo, uint32_t(start + 1)}, false});
  }
  return out;
}

// `head` on line 2 of a pretend Corefile, block lines on 3, 4, ...
inline conf::Directive directive(std::string_view head,
                                 std::initializer_list<std::string_view> block = {}) {
  auto t = tokens(head, 2);
  conf::Directive d;
  d.name = t.front();
  d.args.assign(t.begin() + 1, t.end());
  d.hasBlock = block.size() > 0;
  uint32_t lineNo = 3;
  for (std::string_view line : block) {
    auto bt = tokens(line, lineNo++);
    conf::Directive opt;
    opt.name = bt.front();
    opt.args.assign(bt.begin() + 1, bt.end());
    d.block.push_back(std::move(opt));
  }
  return d;
}

struct Setup {
  conf::Directive stanza;
  SetupContext ctx;
  explicit Setup(conf::Directive d, std::vector<std::string> zones = {"."})
      : stanza(std::move(d)) {
    ctx.zones = std::move(zones);
    ctx.stanzas = {&stanza};
  }
  Setup(const Setup&) = delete;
};

struct Ask {
  std::string name = "www.example.org.";
  uint16_t type = dns::rrtype::A;
  uint16_t id = 0x1234;
  std::optional<uint16_t> edns;
  bool dnssecOk = false;
  bool cd = false;
  unsigned worker = 0;
};

inline std::unique_ptr<dns::Query> makeQuery(const Ask& a) {
  moat::testing::QuerySpec spec;
  spec.name = a.name;
  spec.type = a.type;
  spec.id = a.id;
  spec.edns = a.edns;
  spec.dnssecOk = a.dnssecOk;
  auto packet = moat::testing::makeQuery(spec);
  if (a.cd) packet[3] |= 0x10;
  auto q = std::make_unique<dns::Query>();
  moat::testing::loadQuery(*q, packet);
  q->worker = a.worker;
  q->reply.reserve(1024);  // the worker's pool keeps reply capacity warm
  return q;
}

struct Record {
  dns::Section section;
  std::string owner;
  uint16_t type;
  uint32_t ttl;
  std::vector<uint8_t> rdata;
};

inline std::vector<uint8_t> wireName(std::string_view text) {
  auto n = dns::nameFromText(text);
  REQUIRE(n.has_value());
  return *n;
}

inline Record a(std::string owner, uint32_t ttl, uint8_t last = 1) {
  return {dns::Section::Answer, std::move(owner), dns::rrtype::A, ttl, {192, 0, 2, last}};
}

inline Record soa(std::string owner, uint32_t ttl, uint32_t minimum = 60) {
  std::vector<uint8_t> rd = wireName("ns." + owner);
  auto mbox = wireName("admin." + owner);
  rd.insert(rd.end(), mbox.begin(), mbox.end());
  for (uint32_t v : {1u, 7200u, 3600u, 1209600u, minimum}) {
    uint8_t b[4];
    dns::put32(b, v);
    rd.insert(rd.end(), b, b + 4);
  }
  return {dns::Section::Authority, std::move(owner), dns::rrtype::SOA, ttl, rd};
}

// Plays "the next plugin answered": writes the reply, fits it as the runner does, then runs
// the cache's onReply.
inline void reply(Cache& cache, dns::Query& q, dns::RCode rcode, std::vector<Record> records,
                  bool tc = false) {
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, rcode, false);
  w.setFlag(dns::flag::RA, true);
  for (const Record& r : records)
    w.addRR(r.section, wireName(r.owner), r.type, dns::rrclass::IN, r.ttl, r.rdata);
  if (tc) w.setFlag(dns::flag::TC, true);
  q.chainReplySize = static_cast<uint16_t>(q.reply.size());
  dns::finalizeReply(q.reply, q.view, q.proto);
  q.finalized = true;
  cache.onReply(q);
}

// One round trip: Answered from the cache, or Next and then the upstream reply stored.
struct Harness {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  CacheConfig config;
  std::unique_ptr<Cache> cache;
  int upstreamCalls = 0;  // how often the query got past the cache

  explicit Harness(CacheConfig c = {}, size_t workers = 1) : config(std::move(c)) {
    if (config.zones.empty()) config.zones = {"."};
    cache = std::make_unique<Cache>(config, workers, clock);
  }

  moat::testing::Reply ask(const Ask& a, dns::RCode rcode = dns::RCode::NoError,
                           std::vector<Record> records = {}, bool tc = false) {
    auto q = makeQuery(a);
    if (cache->onQuery(*q) == Verdict::Next) {
      ++upstreamCalls;
      reply(*cache, *q, rcode, std::move(records), tc);
    } else {
      dns::finalizeReply(q->reply, q->view, q->proto);
      cache->onReply(*q);
    }
    auto out = moat::testing::decode(q->reply);
    REQUIRE(out.ok);
    return out;
  }
};

}  // namespace moat::plugins::cache::testing
