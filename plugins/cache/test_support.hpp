// Helpers for the cache tests: a hand-moved clock, directives built from text, and a harness
// that plays the chain around the cache (query in, the next plugin's reply, onReply).
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/reply_fit.hpp"
#include "plugins/cache/cache.hpp"
#include "plugins/chain.hpp"
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

// What a plugin after the cache writes: a reply to `q` with these records.
inline void writeReply(dns::Query& q, dns::RCode rcode, const std::vector<Record>& records,
                       bool tc = false) {
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, rcode, false);
  w.setFlag(dns::flag::RA, true);
  for (const Record& r : records)
    w.addRR(r.section, wireName(r.owner), r.type, dns::rrclass::IN, r.ttl, r.rdata);
  if (tc) w.setFlag(dns::flag::TC, true);
}

// Plays "the next plugin answered": writes the reply, fits it as the runner does, then runs
// the cache's onReply.
inline void reply(Cache& cache, dns::Query& q, dns::RCode rcode, std::vector<Record> records,
                  bool tc = false) {
  writeReply(q, rcode, records, tc);
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

// The plugins after the cache, played by hand: answers every query it sees with `rcode` and
// `records` (or fails it as forward does with no healthy upstream), at once or, with `park`,
// when the test calls finish().
struct Upstream final : Handler {
  dns::RCode rcode = dns::RCode::NoError;
  std::vector<Record> records;
  std::string_view failure;  // non-empty: SERVFAIL written for a failing plugin (q.error)
  bool park = false;
  std::function<void()> onPark;  // runs as a query is parked, before Pending is returned
  std::vector<dns::Query*> parked;
  std::vector<dns::Proto> protos;  // the transport of every query seen
  int seen = 0;

  Verdict onQuery(dns::Query& q) override {
    ++seen;
    protos.push_back(q.proto);
    if (park) {
      parked.push_back(&q);
      if (onPark) onPark();
      return Verdict::Pending;
    }
    answer(q);
    return Verdict::Answered;
  }
  std::string_view name() const override { return "upstream"; }

  void answer(dns::Query& q) const {
    if (!failure.empty()) {
      dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
      q.error = failure;
      return;
    }
    writeReply(q, rcode, records);
  }
  // Answers the oldest parked query with what is configured now.
  void finish() {
    REQUIRE_FALSE(parked.empty());
    dns::Query* q = parked.front();
    parked.erase(parked.begin());
    answer(*q);
    plugins::resume(*q, Verdict::Answered);
  }
};

// Counts what passes a handler placed before the cache (log, prometheus...).
struct Observer final : Handler {
  int queries = 0, replies = 0;
  Verdict onQuery(dns::Query&) override {
    ++queries;
    return Verdict::Next;
  }
  void onReply(dns::Query&) override { ++replies; }
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "observer"; }
};

// A server of one block [observer, cache, upstream] on one worker, run by the real chain
// runner: what a background refresh needs (a dispatcher and the block's chain).
struct Server {
  struct Sink final : dns::ReplySink {
    std::vector<std::vector<uint8_t>> sent;
    int dropped = 0;
    void sendReply(dns::Query& q) override { sent.push_back(q.reply); }
    void dropQuery(dns::Query&) override { ++dropped; }
  };

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<Observer> observer = std::make_shared<Observer>();
  std::shared_ptr<Cache> cache;
  std::shared_ptr<Upstream> upstream = std::make_shared<Upstream>();
  ChainRunner runner{1};
  Sink sink;
  std::vector<std::unique_ptr<dns::Query>> queries;  // kept: a parked one is resumed later

  explicit Server(CacheConfig c) {
    if (c.zones.empty()) c.zones = {"."};
    cache = std::make_shared<Cache>(c, 1, clock);
    auto chain = std::make_shared<Chain>();
    chain->add(observer);
    chain->add(cache);
    chain->add(upstream);
    auto table = std::make_shared<RouteTable>();
    table->listeners.emplace_back();
    auto& routes = table->listeners[0];
    routes.add(".", chain);
    runner.publish(table);
  }
  ~Server() { runner.publish(nullptr); }

  // Sends a client query; the reply, when one was sent before this returns.
  std::optional<moat::testing::Reply> ask(const Ask& a) {
    queries.push_back(makeQuery(a));
    dns::Query& q = *queries.back();
    q.sink = &sink;
    q.dispatcher = &runner;
    const size_t before = sink.sent.size();
    runner.dispatch(q);
    if (sink.sent.size() == before) return std::nullopt;
    auto r = moat::testing::decode(sink.sent.back());
    REQUIRE(r.ok);
    return r;
  }
};

}  // namespace moat::plugins::cache::testing
