#include "plugins/chain.hpp"

#include <doctest/doctest.h>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "tests/support/dns_test_util.hpp"

using namespace moat;
using namespace moat::plugins;
using moat::testing::decode;
using moat::testing::loadQuery;
using moat::testing::makeQuery;

namespace {

struct CaptureSink final : dns::ReplySink {
  std::vector<std::vector<uint8_t>> sent;
  int dropped = 0;
  void sendReply(dns::Query& q) override { sent.push_back(q.reply); }
  void dropQuery(dns::Query&) override { ++dropped; }
};

// Answers A 192.0.2.1 for any name; with `park` set it goes Pending and is resumed by the test.
struct AnswerA final : Handler {
  bool park = false;
  dns::Query* parked = nullptr;
  int seen = 0;
  Verdict onQuery(dns::Query& q) override {
    ++seen;
    const uint8_t addr[4] = {192, 0, 2, 1};
    dns::MessageWriter w(q.reply);
    w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
    w.addRR(dns::Section::Answer, q.view.question.lowerName(), dns::rrtype::A, dns::rrclass::IN, 30, addr);
    if (park) {
      parked = &q;
      return Verdict::Pending;
    }
    return Verdict::Answered;
  }
  std::string_view name() const override { return "answer"; }
};

// Answers with a CNAME to target.b. and whatever the server answers for the target, as
// kubernetes does for an ExternalName.
struct Chaser final : Handler, SubqueryClient {
  bool started = false;
  Verdict onQuery(dns::Query& q) override {
    auto target = *dns::nameFromText("target.b.");
    started = static_cast<Runner*>(q.dispatcher)->subquery(q, target, dns::rrtype::A, *this);
    if (!started) return Verdict::Next;
    return Verdict::Pending;
  }
  void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override {
    dns::MessageWriter w(parent.reply);
    w.startReply(parent.requestBytes(), parent.view, dns::RCode::NoError, true);
    auto target = *dns::nameFromText("target.b.");
    w.addRR(dns::Section::Answer, parent.view.question.lowerName(), dns::rrtype::CNAME,
            dns::rrclass::IN, 5, target);
    dns::appendAnswersExpanded(w, reply, dns::Section::Answer);
    resume(parent, Verdict::Answered);
  }
  std::string_view name() const override { return "chaser"; }
};

struct Fixture {
  std::shared_ptr<AnswerA> answer = std::make_shared<AnswerA>();
  std::shared_ptr<Chaser> chaser = std::make_shared<Chaser>();
  ChainRunner runner{1};
  CaptureSink sink;

  Fixture() {
    auto table = std::make_shared<RouteTable>();
    table->listeners.emplace_back();
    auto& routes = table->listeners[0];
    auto a = std::make_shared<Chain>();
    a->add(chaser);
    auto b = std::make_shared<Chain>();
    b->add(answer);
    routes.add("a.", a);
    routes.add("b.", b);
    runner.publish(table);
  }

  void ask(dns::Query& q, const char* name) {
    loadQuery(q, makeQuery({.name = name}));
    q.sink = &sink;
    q.dispatcher = &runner;
    runner.dispatch(q);
  }
};

}  // namespace

TEST_CASE("a subquery answered synchronously resumes the parked parent") {
  Fixture f;
  dns::Query q;
  f.ask(q, "ext.a.");
  CHECK(f.chaser->started);
  REQUIRE(f.sink.sent.size() == 1);
  auto r = decode(f.sink.sent[0]);
  REQUIRE(r.answer.size() == 2);
  CHECK(r.answer[0] == "ext.a. 5 IN CNAME target.b.");
  CHECK(r.answer[1] == "target.b. 30 IN A 192.0.2.1");
  CHECK(f.answer->seen == 1);
}

TEST_CASE("a subquery that goes pending completes the parent when it resumes") {
  Fixture f;
  f.answer->park = true;
  dns::Query q;
  f.ask(q, "ext.a.");
  CHECK(f.sink.sent.empty());
  REQUIRE(f.answer->parked != nullptr);
  resume(*f.answer->parked, Verdict::Answered);
  REQUIRE(f.sink.sent.size() == 1);
  CHECK(decode(f.sink.sent[0]).answer.size() == 2);
}

TEST_CASE("subqueries nest only so deep: a chain of them ends instead of looping") {
  // zone a. chases target.b.; make b. chase too by routing it to the chaser: a loop.
  Fixture f;
  auto table = std::make_shared<RouteTable>();
  table->listeners.emplace_back();
  auto loop = std::make_shared<Chain>();
  loop->add(f.chaser);
  loop->add(f.answer);  // reached once the chaser cannot go deeper
  table->listeners[0].add(".", loop);
  f.runner.publish(table);
  dns::Query q;
  f.ask(q, "start.a.");
  REQUIRE(f.sink.sent.size() == 1);
  auto r = decode(f.sink.sent[0]);
  // Four levels of CNAME, then the innermost query was answered by `answer`.
  CHECK(r.answer.size() == 5);
  CHECK(f.answer->seen == 1);
}

TEST_CASE("no zone: REFUSED, off the end of the chain: SERVFAIL with an error") {
  Fixture f;
  auto table = std::make_shared<RouteTable>();
  table->listeners.emplace_back();
  struct Pass final : Handler {
    Verdict onQuery(dns::Query&) override { return Verdict::Next; }
    std::string_view name() const override { return "pass"; }
  };
  auto passChain = std::make_shared<Chain>();
  passChain->add(std::make_shared<Pass>());
  table->listeners[0].add("example.org.", passChain);
  f.runner.publish(table);
  dns::Query q1, q2;
  f.ask(q1, "www.example.com.");
  f.ask(q2, "www.example.org.");
  REQUIRE(f.sink.sent.size() == 2);
  CHECK(decode(f.sink.sent[0]).rcode == 5);
  CHECK(decode(f.sink.sent[1]).rcode == 2);
  CHECK(q2.error == "no next plugin found");
  CHECK(q2.errorPlugin == "pass");
  CHECK(f.runner.refusedNoZone() == 1);
  CHECK(f.runner.offTheEnd() == 1);
}

TEST_CASE("off the end: the error names the last plugin the Corefile wrote, not an implicit one") {
  // CoreDNS's NextOrFailure blames the plugin whose next is missing; Moat's implicit `private`
  // runs last in every block but appears in no Corefile, so it is never the one named.
  Fixture f;
  struct Pass final : Handler {
    explicit Pass(std::string_view n) : n_(n) {}
    Verdict onQuery(dns::Query&) override { return Verdict::Next; }
    std::string_view name() const override { return n_; }
    std::string_view n_;
  };
  auto table = std::make_shared<RouteTable>();
  table->listeners.emplace_back();
  auto chain = std::make_shared<Chain>();
  chain->add(std::make_shared<Pass>("kubernetes"));
  chain->add(std::make_shared<Pass>("loop"));
  chain->add(std::make_shared<Pass>("private"), false);
  table->listeners[0].add(".", chain);
  f.runner.publish(table);
  dns::Query q;
  f.ask(q, "1234.5678.");
  REQUIRE(f.sink.sent.size() == 1);
  CHECK(decode(f.sink.sent[0]).rcode == 2);
  CHECK(q.error == "no next plugin found");
  CHECK(q.errorPlugin == "loop");
}

TEST_CASE("observers see the reply as the client gets it, and the size the chain wrote") {
  struct Big final : Handler {
    Verdict onQuery(dns::Query& q) override {
      dns::MessageWriter w(q.reply);
      w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
      for (uint8_t i = 0; i < 100; ++i) {
        const uint8_t addr[4] = {10, 0, 0, i};
        w.addRR(dns::Section::Answer, q.view.question.lowerName(), dns::rrtype::A, dns::rrclass::IN, 30, addr);
      }
      return Verdict::Answered;
    }
    std::string_view name() const override { return "big"; }
  };
  struct Observer final : Handler {
    size_t chainSize = 0, finalSize = 0;
    bool tc = false;
    Verdict onQuery(dns::Query&) override { return Verdict::Next; }
    void onReply(dns::Query& q) override {
      chainSize = q.chainReplySize;
      finalSize = q.reply.size();
      tc = (dns::get16(q.reply.data() + 2) & dns::flag::TC) != 0;
    }
    bool observesReplies() const override { return true; }
    std::string_view name() const override { return "observer"; }
  };
  auto observer = std::make_shared<Observer>();
  auto chain = std::make_shared<Chain>();
  chain->add(observer);
  chain->add(std::make_shared<Big>());
  auto table = std::make_shared<RouteTable>();
  table->listeners.emplace_back();
  table->listeners[0].add(".", chain);
  ChainRunner runner(1);
  runner.publish(table);
  CaptureSink sink;
  dns::Query q;
  loadQuery(q, makeQuery({.name = "many.example."}));
  q.sink = &sink;
  q.dispatcher = &runner;
  runner.dispatch(q);
  CHECK(observer->chainSize == 12 + 18 + 100 * (14 + 14));
  CHECK(observer->finalSize <= 512);
  CHECK(observer->tc);
  REQUIRE(sink.sent.size() == 1);
  CHECK(sink.sent[0].size() == observer->finalSize);
}

// A handler that takes NOTIFY (as secondary does): answers it NOERROR, counts what it saw.
struct NotifyTaker final : Handler {
  int seen = 0;
  Verdict onQuery(dns::Query& q) override {
    ++seen;
    dns::MessageWriter w(q.reply);
    w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
    return Verdict::Answered;
  }
  bool takesNotify() const override { return true; }
  std::string_view name() const override { return "taker"; }
};

TEST_CASE("a NOTIFY enters only the handlers that take it, untaken it is NOTIMP, not a query") {
  Fixture f;
  auto notifyPacket = makeQuery({.name = "b.", .type = 6, .rd = false});
  notifyPacket[2] = static_cast<uint8_t>((notifyPacket[2] & 0x87) | dns::opcode::Notify << 3);

  SUBCASE("nothing takes it: the answering handler never sees it, NOTIMP, counted") {
    dns::Query q;
    loadQuery(q, notifyPacket);
    q.sink = &f.sink;
    q.dispatcher = &f.runner;
    f.runner.dispatch(q);
    REQUIRE(f.sink.sent.size() == 1);
    auto r = decode(f.sink.sent[0]);
    CHECK(r.rcode == 4);
    CHECK(r.answer.empty());
    CHECK(f.answer->seen == 0);
    CHECK(f.runner.notifyUntaken() == 1);
    CHECK(f.runner.offTheEnd() == 0);
  }
  SUBCASE("for a zone no block serves: NOTIMP too, not REFUSED") {
    auto stray = makeQuery({.name = "c.", .type = 6, .rd = false});
    stray[2] = static_cast<uint8_t>((stray[2] & 0x87) | dns::opcode::Notify << 3);
    dns::Query q;
    loadQuery(q, stray);
    q.sink = &f.sink;
    q.dispatcher = &f.runner;
    f.runner.dispatch(q);
    REQUIRE(f.sink.sent.size() == 1);
    CHECK(decode(f.sink.sent[0]).rcode == 4);
    CHECK(f.runner.notifyUntaken() == 1);
    CHECK(f.runner.refusedNoZone() == 0);
  }
  SUBCASE("a taker after a query handler gets it, the query handler is skipped") {
    auto taker = std::make_shared<NotifyTaker>();
    auto table = std::make_shared<RouteTable>();
    table->listeners.emplace_back();
    auto chain = std::make_shared<Chain>();
    chain->add(f.answer);
    chain->add(taker);
    table->listeners[0].add(".", chain);
    f.runner.publish(table);
    dns::Query q;
    loadQuery(q, notifyPacket);
    q.sink = &f.sink;
    q.dispatcher = &f.runner;
    f.runner.dispatch(q);
    REQUIRE(f.sink.sent.size() == 1);
    CHECK(decode(f.sink.sent[0]).rcode == 0);
    CHECK(taker->seen == 1);
    CHECK(f.answer->seen == 0);
    CHECK(f.runner.notifyUntaken() == 0);
  }
}
