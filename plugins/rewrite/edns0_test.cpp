// edns0 and cname rules: what the plugins after rewrite receive, what the client gets back.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/edns_option.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/reply_fit.hpp"
#include "plugins/chain.hpp"
#include "plugins/rewrite/rewrite.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::rewrite {
namespace {

namespace rr = dns::rrtype;
using Options = std::vector<std::pair<uint16_t, std::vector<uint8_t>>>;
using Bytes = std::vector<uint8_t>;

Config ednsRules(const std::string& lines) {
  auto p = testing::stanzasOf(". {\n" + lines + "\n}\n", "rewrite");
  auto c = parseConfig(p.stanzas);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().str()));
  return std::move(*c);
}

std::string ednsError(const std::string& lines) {
  auto p = testing::stanzasOf(". {\n" + lines + "\n}\n", "rewrite");
  auto c = parseConfig(p.stanzas);
  REQUIRE_FALSE(c.ok());
  return c.error().str();
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// What went on past rewrite, and what came back.
struct Passed {
  Verdict verdict = Verdict::Drop;
  bool edns = false;          // the request the next plugin saw had an OPT
  Options options;            // its options
  std::string name;           // its question
  testing::Reply reply;       // what the client gets
};

struct Spec {
  std::string name = "www.example.org.";
  uint16_t type = rr::A;
  std::optional<uint16_t> edns = 1232;
  std::string client = "192.0.2.77";
  uint16_t port = 40000;
  dns::Proto proto = dns::Proto::Udp;
  Options upstreamEcho;  // options the next plugin's reply OPT carries (an upstream's echo)
  size_t answers = 1;    // A records in the next plugin's reply
};

Passed pass(RewriteHandler& h, const Spec& spec) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = spec.name, .type = spec.type, .edns = spec.edns}), spec.proto,
                     spec.client, spec.port);
  Passed p;
  p.verdict = h.onQuery(*q);
  const auto seen = testing::decode(q->request.data(), q->requestLen);
  p.edns = seen.hasOpt;
  p.options = seen.ednsOptions;
  p.name = dns::nameToText(q->view.question.lowerName());
  if (p.verdict == Verdict::Next) {
    dns::MessageWriter w(q->reply);
    w.startReply(q->requestBytes(), q->view, dns::RCode::NoError, true);
    for (size_t i = 0; i < spec.answers; ++i) {
      const std::array<uint8_t, 4> a{10, 0, static_cast<uint8_t>(i / 256), static_cast<uint8_t>(i % 256)};
      w.addRR(dns::Section::Answer, q->view.question.lowerName(), rr::A, dns::rrclass::IN, 300, a);
    }
    // As the chain does once a plugin answered: fitted to what the request (as rewritten) takes.
    dns::finalizeReply(q->reply, q->view, q->proto);
    for (const auto& [code, data] : spec.upstreamEcho) dns::putReplyOption(q->reply, code, data);
  }
  h.onReply(*q);
  p.reply = testing::decode(q->reply);
  REQUIRE(p.reply.ok);
  return p;
}

TEST_CASE("edns0 local set: hex or text data reaches the next plugin, the client's reply has none of it") {
  RewriteHandler h(ednsRules("rewrite continue edns0 local set 0xffee 0x61626364\nrewrite edns0 local set 65000 abcd"), 1);
  auto p = pass(h, {});
  CHECK(p.verdict == Verdict::Next);
  CHECK(p.options == Options{{0xffee, text("abcd")}, {65000, text("abcd")}});
  CHECK(p.reply.hasOpt);
  CHECK(p.reply.ednsOptions.empty());
  CHECK(p.reply.answer.size() == 1);
}

TEST_CASE("edns0 actions: set replaces or adds, append adds, replace only replaces, unset removes") {
  SUBCASE("set twice: the second replaces the first's data") {
    RewriteHandler h(ednsRules("rewrite continue edns0 local set 0xffee aa\nrewrite edns0 local set 0xffee bb"), 1);
    CHECK(pass(h, {}).options == Options{{0xffee, text("bb")}});
  }
  SUBCASE("append to an option that is there adds a second, as CoreDNS's") {
    RewriteHandler h(ednsRules("rewrite continue edns0 local set 0xffee aa\nrewrite edns0 local append 0xffee bb"), 1);
    CHECK(pass(h, {}).options == Options{{0xffee, text("aa")}, {0xffee, text("bb")}});
  }
  SUBCASE("replace of an option that is not there does not fire: a stop rule lets the next run") {
    RewriteHandler h(ednsRules("rewrite edns0 local replace 0xffee aa\nrewrite name www.example.org. b.example.org."), 1);
    auto p = pass(h, {});
    CHECK(p.options.empty());
    CHECK(p.name == "b.example.org.");
  }
  SUBCASE("a set that fired stops the rules after it") {
    RewriteHandler h(ednsRules("rewrite edns0 local set 0xffee aa\nrewrite name www.example.org. b.example.org."), 1);
    auto p = pass(h, {});
    CHECK(p.name == "www.example.org.");
    CHECK(p.reply.answer == std::vector<std::string>{"www.example.org. 300 IN A 10.0.0.0"});
  }
  SUBCASE("replace of an option that is there, then unset of another") {
    RewriteHandler h(ednsRules("rewrite continue edns0 local set 0xffee aa\nrewrite continue edns0 nsid set\n"
                               "rewrite continue edns0 local replace 0xffee cc\nrewrite edns0 nsid unset"),
                     1);
    CHECK(pass(h, {}).options == Options{{0xffee, text("cc")}});
  }
}

TEST_CASE("edns0 nsid and subnet: an empty NSID, the client's address cut to its prefix") {
  RewriteHandler h(ednsRules("rewrite continue edns0 nsid set\nrewrite edns0 subnet set 24 56"), 1);
  CHECK(pass(h, {}).options == Options{{3, {}}, {8, {0, 1, 24, 0, 192, 0, 2}}});
  CHECK(pass(h, {.client = "2001:db8:1234:5678::1"}).options ==
        Options{{3, {}}, {8, {0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56}}});
  RewriteHandler odd(ednsRules("rewrite edns0 subnet set 20 0"), 1);
  CHECK(pass(odd, {.client = "192.0.255.77"}).options == Options{{8, {0, 1, 20, 0, 192, 0, 0xf0}}});
  CHECK(pass(odd, {.client = "2001:db8::1"}).options == Options{{8, {0, 2, 0, 0}}});
  RewriteHandler append(ednsRules("rewrite continue edns0 subnet set 24 56\nrewrite edns0 subnet append 32 128"), 1);
  CHECK(pass(append, {}).options == Options{{8, {0, 1, 24, 0, 192, 0, 2}}});
}

TEST_CASE("edns0 local variables: the question, the client, the server and the protocol") {
  RewriteHandler h(ednsRules("rewrite continue edns0 local set 65001 {qname}\n"
                             "rewrite continue edns0 local set 65002 {qtype}\n"
                             "rewrite continue edns0 local set 65003 {client_ip}\n"
                             "rewrite continue edns0 local set 65004 {client_port}\n"
                             "rewrite continue edns0 local set 65005 {protocol}"),
                   1);
  auto p = pass(h, {.name = "WWW.example.org.", .type = rr::AAAA, .port = 0x1234, .proto = dns::Proto::Tcp});
  CHECK(p.options == Options{{65001, text("www.example.org.")},
                             {65002, {0, 28}},
                             {65003, {192, 0, 2, 77}},
                             {65004, {0x12, 0x34}},
                             {65005, text("tcp")}});
}

TEST_CASE("edns0 on a query without EDNS: the next plugin gets an OPT, the client a reply without one, cut to 512") {
  RewriteHandler h(ednsRules("rewrite edns0 local set 0xffee abcd"), 1);
  auto p = pass(h, {.edns = std::nullopt, .answers = 60});
  CHECK(p.edns);
  CHECK(p.options == Options{{0xffee, text("abcd")}});
  CHECK_FALSE(p.reply.hasOpt);
  // 60 A records do not fit in 512 bytes: the client that sent no EDNS gets TC, as without rewrite.
  CHECK(p.reply.tc);
  CHECK(p.reply.answer.size() < 60);
}

TEST_CASE("edns0 revert: the option is taken out of the reply when the upstream echoes it") {
  RewriteHandler h(ednsRules("rewrite continue edns0 subnet set 24 56 revert\nrewrite edns0 local set 0xffee ab"), 1);
  auto p = pass(h, {.upstreamEcho = {{8, {0, 1, 24, 16, 192, 0, 2}}, {0xffee, text("ab")}}});
  CHECK(p.options.size() == 2);
  CHECK(p.reply.ednsOptions == Options{{0xffee, text("ab")}});
  // A rule that did not fire reverts nothing.
  RewriteHandler notFired(ednsRules("rewrite edns0 local replace 0xffee x revert"), 1);
  CHECK(pass(notFired, {.upstreamEcho = {{0xffee, text("up")}}}).reply.ednsOptions == Options{{0xffee, text("up")}});
}

TEST_CASE("edns0 and cname rules: the forms CoreDNS's README writes load, errors name the word at fault") {
  for (const char* rule : {
           "rewrite edns0 local set 0xffee 0x61626364", "rewrite edns0 local set 0xffee abcd",
           "rewrite edns0 local set 0xffee {client_ip}", "rewrite edns0 local unset 0xffee",
           "rewrite edns0 nsid set", "rewrite edns0 nsid unset", "rewrite edns0 subnet set 24 56",
           "rewrite edns0 subnet unset", "rewrite edns0 local set 0xffee abcd revert",
           "rewrite continue {\n edns0 local set 0xffee abcd\n}", "rewrite edns0 local replace 0xffee bcde revert",
           "rewrite cname regex (.*).cdn.example.net. {1}.other.cdn.com.", "rewrite cname a.example. b.example.",
           "rewrite stop cname suffix .a.example. .b.example.",
       }) {
    CAPTURE(rule);
    CHECK(ednsRules(rule).rules.size() == 1);
  }
  CHECK(ednsError("rewrite edns0 local").find("Corefile:2:9: rewrite: too few arguments for an EDNS0 rule") == 0);
  CHECK(ednsError("rewrite edns0 local sett 1 a").find("Corefile:2:21: rewrite: unknown EDNS0 action 'sett'") == 0);
  CHECK(ednsError("rewrite edns0 local sett 1 a").find("did you mean 'set'?") != std::string::npos);
  CHECK(ednsError("rewrite edns0 locl set 1 a").find("Corefile:2:15: rewrite: unknown EDNS0 rule type 'locl'") == 0);
  CHECK(ednsError("rewrite edns0 local set 0x1ffff a").find("Corefile:2:25: rewrite: invalid EDNS0 option code") == 0);
  CHECK(ednsError("rewrite edns0 local set 1 0xabc").find("odd number of digits") != std::string::npos);
  CHECK(ednsError("rewrite edns0 local set 1 0xzz").find("invalid hex data") != std::string::npos);
  CHECK(ednsError("rewrite edns0 local set 1 {client}").find("unsupported variable {client}") != std::string::npos);
  CHECK(ednsError("rewrite edns0 local set 1").find("too few arguments: EDNS0 local set takes CODE DATA") !=
        std::string::npos);
  CHECK(ednsError("rewrite edns0 local unset 1 revert").find("Corefile:2:29: rewrite: too many arguments") == 0);
  CHECK(ednsError("rewrite edns0 nsid set x").find("too many arguments") != std::string::npos);
  CHECK(ednsError("rewrite edns0 subnet set 33 56").find("Corefile:2:26: rewrite: invalid IPv4 bit mask length") == 0);
  CHECK(ednsError("rewrite edns0 subnet set 24 129").find("invalid IPv6 bit mask length '129'") != std::string::npos);
  CHECK(ednsError("rewrite cname a").find("too few arguments for a cname rule") != std::string::npos);
  CHECK(ednsError("rewrite cname sufix a b").find("did you mean 'suffix'?") != std::string::npos);
  CHECK(ednsError("rewrite cname regex (a b").find("invalid regex pattern in a cname rule") != std::string::npos);
  CHECK(ednsError("rewrite cname exact a b c").find("too many arguments for a cname rule") != std::string::npos);
}

TEST_CASE("edns0 rules allocate nothing per query") {
  RewriteHandler h(ednsRules("rewrite continue edns0 local set 0xffee 0x61626364\n"
                             "rewrite continue edns0 local set 65001 {qname}\n"
                             "rewrite continue edns0 nsid append\n"
                             "rewrite continue edns0 subnet set 24 56 revert\n"
                             "rewrite continue edns0 local replace 0xffee abc\n"
                             "rewrite name suffix .example.org .example.net answer auto"),
                   1);
  auto q = std::make_unique<dns::Query>();
  for (int round = 0; round < 2; ++round) {
    for (const bool edns : {true, false}) {
      testing::loadQuery(*q, testing::makeQuery({.name = "a.example.org.", .edns = edns ? std::optional<uint16_t>(1232)
                                                                                        : std::nullopt}));
      q->reply.reserve(4096);
      testing::allocations = 0;
      testing::counting = true;
      const Verdict v = h.onQuery(*q);
      dns::MessageWriter w(q->reply);
      w.startReply(q->requestBytes(), q->view, dns::RCode::NoError, true);
      const std::array<uint8_t, 4> a{10, 0, 0, 1};
      w.addRR(dns::Section::Answer, q->view.question.lowerName(), rr::A, dns::rrclass::IN, 300, a);
      dns::finalizeReply(q->reply, q->view, q->proto);
      h.onReply(*q);
      testing::counting = false;
      CAPTURE(round);
      CAPTURE(edns);
      CHECK(v == Verdict::Next);
      CHECK(testing::allocations == 0);
      auto reply = testing::decode(q->reply);
      CHECK(reply.answer == std::vector<std::string>{"a.example.org. 300 IN A 10.0.0.1"});
      CHECK(reply.hasOpt == edns);
    }
  }
}

TEST_CASE("explain: edns0 rules say what they did to which option") {
  RewriteHandler h(ednsRules("rewrite continue edns0 local replace 0xffee x\nrewrite edns0 subnet set 24 56"), 1);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "a.example.org."}));
  testing::TraceNotes notes;
  q->trace = &notes;
  h.onQuery(*q);
  REQUIRE(notes.lines.size() == 3);
  CHECK(notes.lines[0] == "rewrite: the query had no EDNS: an OPT record added (taken off the reply)");
  CHECK(notes.lines[1] == "rewrite: continue edns0 local replace 0xffee x: not in the query: nothing to replace "
                          "(local option 65518)");
  CHECK(notes.lines[2] == "rewrite: edns0 subnet set 24 56: added (client subnet option 8)");
}

// --- cname: through a real ChainRunner, the plugins after rewrite being `Zone`.

std::vector<uint8_t> nameWire(const char* text) { return *dns::nameFromText(text); }

// CoreDNS's README example as data: my-app.com. is a CNAME chain to my-app.com.cdn.example.net.
struct Zone final : Handler {
  std::map<std::string, int> asked;
  bool count = true;  // off for the allocation test: counting names allocates
  // Built once: answering allocates nothing.
  const std::vector<uint8_t> app = nameWire("my-app.com."), mid = nameWire("my-app.example."),
                             cdn = nameWire("my-app.com.cdn.example.net."), other = nameWire("my-app.com.other.cdn.com."),
                             corp = nameWire("db.corp.internal."), alias = nameWire("alias.example.");
  Verdict onQuery(dns::Query& q) override {
    const auto owner = q.view.question.lowerName();
    auto is = [&](const std::vector<uint8_t>& n) { return std::equal(owner.begin(), owner.end(), n.begin(), n.end()); };
    if (count) ++asked[dns::nameToText(owner)];
    dns::MessageWriter w(q.reply);
    w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
    const uint8_t a1[4] = {20, 2, 0, 1}, a2[4] = {20, 2, 0, 2}, a3[4] = {30, 3, 1, 2};
    if (is(app)) {
      w.addRR(dns::Section::Answer, app, rr::CNAME, dns::rrclass::IN, 200, mid);
      w.addRR(dns::Section::Answer, mid, rr::CNAME, dns::rrclass::IN, 200, cdn);
      w.addRR(dns::Section::Answer, cdn, rr::A, dns::rrclass::IN, 300, a1);
      w.addRR(dns::Section::Answer, cdn, rr::A, dns::rrclass::IN, 300, a2);
    } else if (is(other)) {
      w.addRR(dns::Section::Answer, other, rr::A, dns::rrclass::IN, 100, a3);
    } else if (is(alias)) {
      w.addRR(dns::Section::Answer, alias, rr::CNAME, dns::rrclass::IN, 60, corp);
    }
    return Verdict::Answered;
  }
  std::string_view name() const override { return "zone"; }
};

struct Sink final : dns::ReplySink {
  std::vector<uint8_t> last;
  int sent = 0;
  void sendReply(dns::Query& q) override {
    last.assign(q.reply.begin(), q.reply.end());
    ++sent;
  }
  void dropQuery(dns::Query&) override {}
};

struct CnameChain {
  std::shared_ptr<Zone> zone = std::make_shared<Zone>();
  ChainRunner runner{1};
  Sink sink;

  explicit CnameChain(const std::string& rules) {
    auto zones = std::make_shared<PrivateZones>();
    zones->add(PrivateZone{.name = "internal."});
    auto table = std::make_shared<RouteTable>();
    table->listeners.emplace_back();
    auto chain = std::make_shared<Chain>();
    chain->add(std::make_shared<RewriteHandler>(ednsRules(rules), 1, zones));
    chain->add(zone);
    table->listeners[0].add(".", chain);
    runner.publish(table);
  }

  testing::Reply ask(const char* name, testing::TraceNotes* notes = nullptr) {
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, testing::makeQuery({.name = name, .edns = 1232}));
    q->sink = &sink;
    q->dispatcher = &runner;
    q->trace = notes;
    const int before = sink.sent;
    runner.dispatch(*q);
    REQUIRE(sink.sent == before + 1);
    auto r = testing::decode(sink.last);
    REQUIRE(r.ok);
    return r;
  }
};

TEST_CASE("cname: the matching target is rewritten and looked up, its answer replaces what followed") {
  CnameChain c("rewrite cname regex (.*).cdn.example.net. {1}.other.cdn.com.");
  auto r = c.ask("my-app.com.");
  CHECK(r.answer == std::vector<std::string>{"my-app.com. 200 IN CNAME my-app.example.",
                                             "my-app.example. 200 IN CNAME my-app.com.other.cdn.com.",
                                             "my-app.com.other.cdn.com. 100 IN A 30.3.1.2"});
  CHECK(c.zone->asked["my-app.com.other.cdn.com."] == 1);
  // A reply whose CNAME targets do not match is passed on as it is.
  CnameChain none("rewrite cname suffix .nowhere.example. .other.example.");
  CHECK(none.ask("my-app.com.").answer.size() == 4);
}

TEST_CASE("cname: a target under a private zone is not re-resolved as a public name") {
  CnameChain c("rewrite cname suffix .corp.internal. .corp.example.com.");
  testing::TraceNotes notes;
  auto r = c.ask("alias.example.", &notes);
  CHECK(r.answer == std::vector<std::string>{"alias.example. 60 IN CNAME db.corp.internal."});
  CHECK(c.zone->asked.count("db.corp.example.com.") == 0);
  bool said = false;
  for (const auto& l : notes.lines) said = said || l.find("under the private zone internal.") != std::string::npos;
  CHECK(said);
}

TEST_CASE("cname with a name rule: the question is rewritten first, the reply given the client's back") {
  CnameChain c("rewrite continue name exact app.test. my-app.com.\n"
               "rewrite cname exact my-app.com.cdn.example.net. my-app.com.other.cdn.com.");
  auto r = c.ask("app.test.");
  CHECK(r.answer == std::vector<std::string>{"app.test. 200 IN CNAME my-app.example.",
                                             "my-app.example. 200 IN CNAME my-app.com.other.cdn.com.",
                                             "my-app.com.other.cdn.com. 100 IN A 30.3.1.2"});
}

TEST_CASE("cname: once the subquery slots are warm, a rewritten target allocates nothing") {
  // A suffix rule: a regex with {N} groups costs RE2's work space per search (see rewrite_test).
  CnameChain c("rewrite cname suffix .cdn.example.net. .other.cdn.com.");
  c.sink.last.reserve(4096);
  c.zone->count = false;
  auto q = std::make_unique<dns::Query>();
  for (int round = 0; round < 3; ++round) {
    q->reset();
    testing::loadQuery(*q, testing::makeQuery({.name = "my-app.com.", .edns = 1232}));
    q->reply.reserve(4096);
    q->sink = &c.sink;
    q->dispatcher = &c.runner;
    testing::allocations = 0;
    testing::counting = true;
    c.runner.dispatch(*q);
    testing::counting = false;
    CAPTURE(round);
    if (round > 0) CHECK(testing::allocations == 0);
    CHECK(testing::decode(c.sink.last).answer.size() == 3);
  }
}

}  // namespace
}  // namespace moat::plugins::rewrite
