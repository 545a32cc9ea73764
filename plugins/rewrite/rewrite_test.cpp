#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/rewrite/rewrite.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::rewrite {
namespace {

namespace rr = dns::rrtype;
using moat::testing::stanzasOf;

Config parsed(const std::string& lines) {
  auto p = stanzasOf(". {\n" + lines + "\n}\n", "rewrite");
  auto c = parseConfig(p.stanzas);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().str()));
  return std::move(*c);
}

std::string parseError(const std::string& lines) {
  auto p = stanzasOf(". {\n" + lines + "\n}\n", "rewrite");
  auto c = parseConfig(p.stanzas);
  REQUIRE_FALSE(c.ok());
  return c.error().str();
}

// What the plugins after rewrite see, and what they answer: `answer` records (owner, type,
// rdata as wire) are written for whatever question reaches them.
struct Seen {
  plugins::Verdict verdict = plugins::Verdict::Drop;
  std::string name;  // the question the next plugin saw
  uint16_t type = 0, klass = 0;
  testing::Reply reply;  // what the client gets
};

using Answer = std::function<void(dns::Query&, dns::MessageWriter&)>;

Seen run(RewriteHandler& h, const std::string& name, uint16_t type, const Answer& answer = {},
         dns::RCode rcode = dns::RCode::NoError) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = name, .type = type, .edns = 1232}));
  Seen s;
  s.verdict = h.onQuery(*q);
  if (s.verdict == plugins::Verdict::Next) {
    s.name = dns::nameToText(q->view.question.lowerName());
    s.type = q->view.question.qtype;
    s.klass = q->view.question.qclass;
    dns::MessageWriter w(q->reply);
    w.startReply(q->requestBytes(), q->view, rcode, true);
    if (answer) answer(*q, w);
  }
  h.onReply(*q);
  s.reply = testing::decode(q->reply);
  REQUIRE(s.reply.ok);
  // The request has its client's question again.
  CHECK(dns::nameToText({q->request.data() + q->view.question.nameOffset, q->view.question.nameLen}) ==
        (name.ends_with(".") ? name : name + "."));
  return s;
}

dns::WireName wire(const std::string& text) { return *dns::nameFromText(text); }

// An A record for the question's name as the next plugin saw it.
Answer aRecord(const std::string& address = "10.0.0.1", uint32_t ttl = 300) {
  return [address, ttl](dns::Query& q, dns::MessageWriter& w) {
    std::array<uint8_t, 4> a{};
    sscanf(address.c_str(), "%hhu.%hhu.%hhu.%hhu", &a[0], &a[1], &a[2], &a[3]);
    w.addRR(dns::Section::Answer, q.view.question.lowerName(), rr::A, dns::rrclass::IN, ttl, a);
  };
}

TEST_CASE("name exact: the next plugin sees the new name, the client its own, answers mapped back") {
  RewriteHandler h(parsed("rewrite name exact a.example.org b.example.net"), 1);
  auto s = run(h, "A.example.org.", rr::A, aRecord());
  CHECK(s.verdict == Verdict::Next);
  CHECK(s.name == "b.example.net.");
  CHECK(s.reply.answer == std::vector<std::string>{"a.example.org. 300 IN A 10.0.0.1"});
  // Other names pass untouched.
  auto other = run(h, "c.example.org.", rr::A, aRecord());
  CHECK(other.name == "c.example.org.");
  CHECK(other.reply.answer == std::vector<std::string>{"c.example.org. 300 IN A 10.0.0.1"});
}

TEST_CASE("the short form is an exact rule") {
  RewriteHandler h(parsed("rewrite name a.example.org b.example.net"), 1);
  CHECK(run(h, "a.example.org.", rr::A).name == "b.example.net.");
}

TEST_CASE("prefix, suffix, substring and regex rewrite the name as CoreDNS's do") {
  struct Case {
    const char* rule;
    const char* asked;
    const char* seen;
  };
  const Case cases[] = {
      {"rewrite name prefix ftp. www.", "ftp.example.org.", "www.example.org."},
      {"rewrite name suffix .schmoogle.com. .google.com.", "www.schmoogle.com.", "www.google.com."},
      {"rewrite name suffix .schmoogle.com .google.com", "www.schmoogle.com.", "www.google.com."},
      {"rewrite name substring service.us-west-1.example.org service.us-west-1.consul",
       "ftp.service.us-west-1.example.org.", "ftp.service.us-west-1.consul."},
      {"rewrite name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.consul", "ftp-us-west-1.example.org.",
       "ftp.service.us-west-1.consul."},
      {"rewrite name substring ab xy", "cab.ab.org.", "cxy.xy.org."},
  };
  for (const Case& c : cases) {
    CAPTURE(c.rule);
    RewriteHandler h(parsed(c.rule), 1);
    CHECK(run(h, c.asked, rr::A).name == c.seen);
  }
}

TEST_CASE("answer auto maps the answer's names back, without it a prefix rule leaves them") {
  RewriteHandler with(parsed("rewrite name prefix ftp. www. answer auto"), 1);
  auto s = run(with, "ftp.example.org.", rr::A, aRecord());
  CHECK(s.reply.answer == std::vector<std::string>{"ftp.example.org. 300 IN A 10.0.0.1"});
  RewriteHandler without(parsed("rewrite name prefix ftp. www."), 1);
  auto t = run(without, "ftp.example.org.", rr::A, aRecord());
  CHECK(t.reply.answer == std::vector<std::string>{"www.example.org. 300 IN A 10.0.0.1"});
}

TEST_CASE("a suffix rule's answer auto maps the TO suffix back, in owners and CNAME targets") {
  RewriteHandler h(parsed("rewrite stop {\n name suffix .coredns.rocks .service.consul answer auto\n}"), 1);
  auto s = run(h, "ftp.coredns.rocks.", rr::A, [](dns::Query& q, dns::MessageWriter& w) {
    auto target = wire("srv.service.consul.");
    w.addRR(dns::Section::Answer, q.view.question.lowerName(), rr::CNAME, dns::rrclass::IN, 60, target);
    const std::array<uint8_t, 4> a{10, 0, 0, 2};
    w.addRR(dns::Section::Answer, target, rr::A, dns::rrclass::IN, 60, a);
  });
  CHECK(s.name == "ftp.service.consul.");
  CHECK(s.reply.answer == std::vector<std::string>{"ftp.coredns.rocks. 60 IN CNAME srv.coredns.rocks.",
                                                    "srv.coredns.rocks. 60 IN A 10.0.0.2"});
}

TEST_CASE("answer name and answer value: regex rewrites of owners and of values") {
  RewriteHandler h(parsed("rewrite stop {\n name regex (.*)-(us-west-1)\\.coredns\\.rocks {1}.service.{2}.consul\n"
                          " answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.coredns.rocks\n}"),
                   1);
  auto s = run(h, "ftp-us-west-1.coredns.rocks.", rr::A, aRecord("10.10.10.10", 0));
  CHECK(s.name == "ftp.service.us-west-1.consul.");
  CHECK(s.reply.answer == std::vector<std::string>{"ftp-us-west-1.coredns.rocks. 0 IN A 10.10.10.10"});

  RewriteHandler ptr(parsed("rewrite stop {\n name suffix .arpa .arpa\n answer auto\n"
                            " answer value (.*)\\.service\\.consul\\. {1}.coredns.rocks.\n}"),
                     1);
  auto p = run(ptr, "30.30.30.10.in-addr.arpa.", rr::PTR, [](dns::Query& q, dns::MessageWriter& w) {
    auto target = wire("ftp-us-west-1.service.consul.");
    w.addRR(dns::Section::Answer, q.view.question.lowerName(), rr::PTR, dns::rrclass::IN, 60, target);
  });
  CHECK(p.reply.answer ==
        std::vector<std::string>{"30.30.30.10.in-addr.arpa. 60 IN PTR ftp-us-west-1.coredns.rocks."});
}

TEST_CASE("stop ends the rules, continue goes on, answers revert last rule first") {
  RewriteHandler stop(parsed("rewrite name a.org b.org\nrewrite name b.org c.org"), 1);
  CHECK(run(stop, "a.org.", rr::A).name == "b.org.");
  RewriteHandler cont(parsed("rewrite continue name a.org b.org\nrewrite name b.org c.org"), 1);
  auto s = run(cont, "a.org.", rr::A, aRecord());
  CHECK(s.name == "c.org.");
  CHECK(s.reply.answer == std::vector<std::string>{"a.org. 300 IN A 10.0.0.1"});
  // A rule that does not match never stops the rest.
  RewriteHandler miss(parsed("rewrite name x.org y.org\nrewrite name a.org b.org"), 1);
  CHECK(run(miss, "a.org.", rr::A).name == "b.org.");
}

TEST_CASE("type and class rules rewrite the question, the client sees its own") {
  RewriteHandler h(parsed("rewrite type ANY HINFO"), 1);
  auto s = run(h, "example.org.", rr::ANY);
  CHECK(s.type == rr::HINFO);
  RewriteHandler c(parsed("rewrite class CH IN"), 1);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "version.bind.", .type = rr::TXT, .klass = dns::rrclass::CH}));
  REQUIRE(c.onQuery(*q) == Verdict::Next);
  CHECK(q->view.question.qclass == dns::rrclass::IN);
  dns::writeErrorReply(q->reply, q->requestBytes(), &q->view, dns::RCode::NoError);
  c.onReply(*q);
  CHECK(q->view.question.qclass == dns::rrclass::CH);
  CHECK(dns::get16(q->reply.data() + q->reply.size() - 2) == dns::rrclass::CH);
}

TEST_CASE("ttl rules set or clamp every TTL of matching replies") {
  RewriteHandler one(parsed("rewrite ttl example.com. 30"), 1);
  CHECK(run(one, "example.com.", rr::A, aRecord("10.0.0.1", 300)).reply.answer ==
        std::vector<std::string>{"example.com. 30 IN A 10.0.0.1"});
  CHECK(run(one, "other.com.", rr::A, aRecord("10.0.0.1", 300)).reply.answer ==
        std::vector<std::string>{"other.com. 300 IN A 10.0.0.1"});
  RewriteHandler range(parsed("rewrite continue {\n ttl regex (.*)\\.coredns\\.rocks 30-300\n}"), 1);
  CHECK(run(range, "a.coredns.rocks.", rr::A, aRecord("10.0.0.1", 5)).reply.answer ==
        std::vector<std::string>{"a.coredns.rocks. 30 IN A 10.0.0.1"});
  CHECK(run(range, "a.coredns.rocks.", rr::A, aRecord("10.0.0.1", 3000)).reply.answer ==
        std::vector<std::string>{"a.coredns.rocks. 300 IN A 10.0.0.1"});
  CHECK(run(range, "a.coredns.rocks.", rr::A, aRecord("10.0.0.1", 100)).reply.answer ==
        std::vector<std::string>{"a.coredns.rocks. 100 IN A 10.0.0.1"});
  RewriteHandler cap(parsed("rewrite ttl example.com. -30"), 1);
  CHECK(run(cap, "example.com.", rr::A, aRecord("10.0.0.1", 300)).reply.answer ==
        std::vector<std::string>{"example.com. 30 IN A 10.0.0.1"});
}

TEST_CASE("rcode rules rewrite the reply's rcode, by name or number") {
  RewriteHandler h(parsed("rewrite continue {\n rcode regex (.*)\\.coredns\\.rocks SERVFAIL NOERROR\n}"), 1);
  CHECK(run(h, "a.coredns.rocks.", rr::AAAA, {}, dns::RCode::ServFail).reply.rcode == 0);
  CHECK(run(h, "a.example.org.", rr::AAAA, {}, dns::RCode::ServFail).reply.rcode == 2);
  RewriteHandler n(parsed("rewrite rcode suffix coredns.rocks 2 0"), 1);
  CHECK(run(n, "a.coredns.rocks.", rr::AAAA, {}, dns::RCode::ServFail).reply.rcode == 0);
}

TEST_CASE("a rewrite to something that is no name is SERVFAIL, and nothing passes on") {
  RewriteHandler h(parsed("rewrite name regex (.*)\\.example\\.org {1}..bad"), 1);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "a.example.org.", .type = rr::A}));
  CHECK(h.onQuery(*q) == Verdict::Answered);
  CHECK(testing::decode(q->reply).rcode == 2);
  CHECK(q->askedLen == 0);
}

TEST_CASE("the client's name is kept for the egress check") {
  RewriteHandler h(parsed("rewrite name suffix .internal. .example.com."), 1);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "Api.Internal.", .type = rr::A}));
  REQUIRE(h.onQuery(*q) == Verdict::Next);
  CHECK(dns::nameToText(q->view.question.lowerName()) == "api.example.com.");
  CHECK(dns::nameToText(q->askedLowerName()) == "api.internal.");
  CHECK(dns::nameToText({q->askedName.data(), q->askedLen}) == "Api.Internal.");
}

TEST_CASE("setup errors name the place and the problem") {
  CHECK(parseError("rewrite name").find("Corefile:2:9: rewrite: too few arguments for a name rule") == 0);
  CHECK(parseError("rewrite nmae a b").find("Corefile:2:9: rewrite: unknown rule type 'nmae', did you mean 'name'?") == 0);
  CHECK(parseError("rewrite name sufix a b").find("Corefile:2:14: rewrite: unknown match type 'sufix'") == 0);
  CHECK(parseError("rewrite name sufix a b").find("did you mean 'suffix'?") != std::string::npos);
  CHECK(parseError("rewrite name regex (a b").find("Corefile:2:20: rewrite: invalid regex pattern") == 0);
  CHECK(parseError("rewrite name regex (a) {1}{2}").find("more subexpressions") != std::string::npos);
  CHECK(parseError("rewrite name prefix a b answer atuo").find("did you mean 'auto'?") != std::string::npos);
  CHECK(parseError("rewrite name prefix a b answer name x").find("answer name takes FROM and TO") != std::string::npos);
  CHECK(parseError("rewrite name regex a b answer auto answer name c d").find("cannot be combined") != std::string::npos);
  CHECK(parseError("rewrite name prefix a b c d").find("expected 'answer'") != std::string::npos);
  CHECK(parseError("rewrite stop").find("stop rule must begin with a rule type") != std::string::npos);
  CHECK(parseError("rewrite answer auto").find("must begin with a name rule") != std::string::npos);
  CHECK(parseError("rewrite type A").find("exactly two arguments") != std::string::npos);
  CHECK(parseError("rewrite type A BOGUS").find("Corefile:2:16: rewrite: invalid type \"BOGUS\"") == 0);
  CHECK(parseError("rewrite class CH XX").find("invalid class") != std::string::npos);
  CHECK(parseError("rewrite ttl example.com. 30-10").find("invalid TTL '30-10'") != std::string::npos);
  CHECK(parseError("rewrite ttl example.com. -").find("invalid TTL") != std::string::npos);
  CHECK(parseError("rewrite rcode example.com. SERVFAIL NOPE").find("invalid replacement RCODE 'NOPE'") !=
        std::string::npos);
  CHECK(parseError("rewrite edns0 local set 0xffee").find("Corefile:2:21: rewrite: too few arguments: EDNS0 local set") == 0);
  CHECK(parseError("rewrite name a b {\n}").find("on the line or in a block") != std::string::npos);
}

TEST_CASE("the rule forms CoreDNS's README writes all load") {
  for (const char* rule : {
           "rewrite name substring service.us-west-1.example.org service.us-west-1.consul",
           "rewrite name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.consul",
           "rewrite name suffix .schmoogle.com. .google.com.",
           "rewrite stop {\n name suffix .coredns.rocks .service.consul answer auto\n}",
           "rewrite stop {\n name regex (.*)-(us-west-1)\\.coredns\\.rocks {1}.service.{2}.consul\n"
           " answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.coredns.rocks\n}",
           "rewrite stop {\n name suffix .arpa .arpa\n answer name auto\n answer value (.*)\\.service\\.consul\\. "
           "{1}.coredns.rocks.\n}",
           "rewrite continue name regex (.*)\\.a\\.org {1}.b.org answer name (.*)\\.b\\.org {1}.a.org value "
           "(.*)\\.b\\.org {1}.a.org",
           "rewrite continue {\n ttl regex (.*)\\.coredns\\.rocks 15\n}",
           "rewrite ttl example.com. 30-300",
           "rewrite ttl example.com. 30-",
           "rewrite continue {\n rcode regex (.*)\\.coredns\\.rocks 2 0\n}",
           "rewrite type ANY HINFO",
           "rewrite class CH IN",
       }) {
    CAPTURE(rule);
    CHECK(parsed(rule).rules.size() == 1);
  }
}

TEST_CASE("no allocation per query for exact, prefix, suffix, substring, type, class, ttl and rcode rules") {
  RewriteHandler h(parsed("rewrite continue name exact a.example.org b.example.org\n"
                          "rewrite continue name prefix b. c.\n"
                          "rewrite continue name suffix .example.org .example.net answer auto\n"
                          "rewrite continue name substring example xample\n"
                          "rewrite continue type AAAA A\n"
                          "rewrite continue class CH IN\n"
                          "rewrite continue ttl suffix xample.net 30-60\n"
                          "rewrite rcode suffix xample.net SERVFAIL NOERROR"),
                   1);
  auto q = std::make_unique<dns::Query>();
  for (int round = 0; round < 2; ++round) {
    testing::loadQuery(*q, testing::makeQuery({.name = "a.example.org.", .type = rr::AAAA, .edns = 1232}));
    q->reply.reserve(4096);
    testing::allocations = 0;
    testing::counting = true;
    const Verdict v = h.onQuery(*q);
    const std::array<uint8_t, 3> seenFirst{q->view.question.lower[0], q->view.question.lower[1],
                                           q->view.question.lower[2]};
    dns::MessageWriter w(q->reply);
    w.startReply(q->requestBytes(), q->view, dns::RCode::ServFail, true);
    const std::array<uint8_t, 4> a{10, 0, 0, 1};
    w.addRR(dns::Section::Answer, q->view.question.lowerName(), rr::A, dns::rrclass::IN, 300, a);
    h.onReply(*q);
    testing::counting = false;
    CAPTURE(round);
    CHECK(v == Verdict::Next);
    CHECK(seenFirst == std::array<uint8_t, 3>{1, 'c', 6});
    CHECK(testing::allocations == 0);
    auto reply = testing::decode(q->reply);
    CHECK(reply.rcode == 0);
    // No rule with answer rewriting matched c.xample.net.: the owner stays, the TTL is clamped.
    CHECK(reply.answer == std::vector<std::string>{"c.xample.net. 60 IN A 10.0.0.1"});
  }
}

// Regex rules run on RE2 (linear time in the name whatever the pattern, Go's syntax). A regex
// used only as a test (ttl, rcode, a TO without {N}) runs RE2's DFA alone, which allocates
// nothing once its cache is warm. Capturing groups for {N} runs RE2's submatch engines, which
// allocate their work space per search: measured 3 per evaluation here (9 for the name rule on
// the query, the same rule replayed for the reply, and the `answer name` rule on the owner).
struct RegexRun {
  size_t allocations = 0;
  testing::Reply reply;
};

RegexRun regexRound(RewriteHandler& h, const std::string& name) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = name, .type = rr::A}));
  q->reply.reserve(4096);
  testing::allocations = 0;
  testing::counting = true;
  h.onQuery(*q);
  dns::MessageWriter w(q->reply);
  w.startReply(q->requestBytes(), q->view, dns::RCode::NoError, true);
  const std::array<uint8_t, 4> a{10, 0, 0, 1};
  w.addRR(dns::Section::Answer, q->view.question.lowerName(), rr::A, dns::rrclass::IN, 300, a);
  h.onReply(*q);
  testing::counting = false;
  return {testing::allocations, testing::decode(q->reply)};
}

TEST_CASE("regex rules: a test allocates nothing once warm, groups cost RE2's work space, bounded") {
  RewriteHandler test(parsed("rewrite continue ttl regex (.*)\\.example\\.org 30\n"
                             "rewrite name regex ^www\\.example\\.org\\.$ web.example.org."),
                      1);
  regexRound(test, "www.example.org.");  // RE2 fills its DFA cache on first use
  for (int round = 0; round < 3; ++round) {
    auto r = regexRound(test, "www.example.org.");
    CAPTURE(round);
    CHECK(r.allocations == 0);
    // No answer rewrite asked for: the owner is the rewritten name, the TTL set.
    CHECK(r.reply.answer == std::vector<std::string>{"web.example.org. 30 IN A 10.0.0.1"});
  }
  RewriteHandler groups(parsed("rewrite name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.consul answer "
                               "name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.example.org"),
                        1);
  regexRound(groups, "ftp-us-west-1.example.org.");
  for (int round = 0; round < 3; ++round) {
    auto r = regexRound(groups, "ftp-us-west-1.example.org.");
    CAPTURE(round);
    CHECK(r.allocations <= 9);
    CHECK(r.reply.answer == std::vector<std::string>{"ftp-us-west-1.example.org. 300 IN A 10.0.0.1"});
  }
}

TEST_CASE("explain: each rule that fired says what it did") {
  RewriteHandler h(parsed("rewrite continue name a.org b.org\nrewrite type A AAAA"), 1);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "a.org.", .type = rr::A}));
  struct Notes : dns::Trace {
    std::vector<std::string> lines;
    void note(std::string_view handler, std::string text) override {
      lines.push_back(std::string(handler) + ": " + text);
    }
    void outcome(std::string_view, std::string_view) override {}
  } notes;
  q->trace = &notes;
  REQUIRE(h.onQuery(*q) == Verdict::Next);
  REQUIRE(notes.lines.size() == 2);
  CHECK(notes.lines[0].starts_with("rewrite: name a.org. -> b.org. (exact"));
  CHECK(notes.lines[1].starts_with("rewrite: type A AAAA"));
}

// The README's Corefiles load here too (tests/integration/rewrite_readme_test.cpp runs them
// through the binary, each written out there): this catches a README edit that breaks one
// without a server start.
TEST_CASE("README: every corefile example's rewrite rules load") {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/plugins/rewrite/README.md");
  REQUIRE(in.good());
  std::vector<std::string> examples;
  std::string line, current;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "~~~ corefile") {
      inside = true;
      current.clear();
    } else if (inside && line == "~~~") {
      inside = false;
      examples.push_back(current);
    } else if (inside) {
      current += line + "\n";
    }
  }
  REQUIRE(examples.size() == 4);
  const std::vector<size_t> rules = {8, 3, 3, 3};  // the EDNS0 example's first block
  for (size_t i = 0; i < examples.size(); ++i) {
    CAPTURE(examples[i]);
    auto p = stanzasOf(examples[i], "rewrite");
    auto c = parseConfig(p.stanzas);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().str()));
    CHECK(c->rules.size() == rules[i]);
  }
}

}  // namespace
}  // namespace moat::plugins::rewrite
