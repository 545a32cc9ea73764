#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "plugins/chain.hpp"
#include "plugins/template/rr_text.hpp"
#include "plugins/template/template.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::tmpl {
namespace {

namespace rr = dns::rrtype;
using testing::stanzasOf;

conf::Result<Config> parse(const std::string& corefile, std::vector<std::string> zones = {"."}) {
  auto parsed = stanzasOf(corefile, "template");
  return parseConfig(parsed.stanzas, zones);
}

std::shared_ptr<TemplateHandler> handler(const std::string& corefile, std::vector<std::string> zones = {"."}) {
  auto config = parse(corefile, std::move(zones));
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? std::string() : config.error().str()));
  return std::make_shared<TemplateHandler>(std::move(*config), 1, "dns://:53", "");
}

struct Asked {
  Verdict verdict = Verdict::Drop;
  testing::Reply reply;
  std::vector<std::string> notes;
};

Asked ask(TemplateHandler& h, const std::string& name, uint16_t type = rr::A, uint16_t klass = dns::rrclass::IN,
          std::optional<uint16_t> edns = std::nullopt) {
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = name, .type = type, .klass = klass, .edns = edns}));
  testing::TraceNotes notes;
  q->trace = &notes;
  Asked a;
  a.verdict = h.onQuery(*q);
  if (a.verdict == Verdict::Answered) a.reply = testing::decode(q->reply);
  a.notes = notes.lines;
  return a;
}

std::string errorOf(const std::string& corefile) {
  auto c = parse(corefile);
  return c.ok() ? std::string("ok") : c.error().str();
}

TEST_CASE("parse errors name the Corefile position") {
  CHECK(errorOf(". {\n  template IN\n}\n") ==
        "Corefile:2:3: template: template needs a CLASS and a TYPE: template CLASS TYPE [ZONE...]");
  CHECK(errorOf(". {\n  template XX A\n}\n") == "Corefile:2:12: template: invalid query class XX");
  CHECK(errorOf(". {\n  template IN FOO\n}\n") == "Corefile:2:15: template: invalid RR type FOO");
  CHECK(errorOf(". {\n  template IN A {\n    match (x\n  }\n}\n").starts_with(
      "Corefile:3:11: template: could not parse regex: (x"));
  CHECK(errorOf(". {\n  template IN A {\n    rcode NOPE\n  }\n}\n") == "Corefile:3:11: template: unknown rcode NOPE");
  CHECK(errorOf(". {\n  template IN A {\n    ederror x\n  }\n}\n").starts_with(
      "Corefile:3:13: template: error parsing extended DNS error code x"));
  const std::string unknown = errorOf(". {\n  template IN A {\n    answr \"x\"\n  }\n}\n");
  CHECK(unknown.starts_with("Corefile:3:5: template:"));
  CHECK(unknown.find("did you mean 'answer'") != std::string::npos);
  // A template that does not compile: the column of the offending word inside the quotes.
  CHECK(errorOf(". {\n  template IN A {\n    answer \"{{ .Nope }} 60 IN A 1.2.3.4\"\n  }\n}\n") ==
        "Corefile:3:16: template: could not compile template: '.Nope' is not a field of the template's data");
  CHECK(errorOf(". {\n  template IN A {\n    answer \"{{ .Name 60 IN A 1.2.3.4\"\n  }\n}\n").find(
            "unclosed action") != std::string::npos);
  CHECK(errorOf(". {\n  template IN A {\n    answer \"{{ printf .Name }}\"\n  }\n}\n").find(
            "'printf' is not in the template language") != std::string::npos);
  CHECK(errorOf(". {\n  template IN A {\n    answer \"{{ parseInt .Name 1 8 }}\"\n  }\n}\n").find(
            "base") != std::string::npos);
  CHECK(errorOf(". {\n  template IN A {\n    answer \"{{ .Var.x }}\"\n  }\n}\n").find(
            "no variable 'x'") != std::string::npos);
  CHECK(errorOf(". {\n  template IN A {\n    var x name()\n  }\n}\n").find("var is not supported") != std::string::npos);
  CHECK(errorOf(". {\n  template IN A {\n    expr nope()\n  }\n}\n").starts_with("Corefile:3:10:"));
  CHECK(errorOf(std::string(". {\n  template IN A {\n    match ") + std::string(10001, 'a') + "\n  }\n}\n")
            .find("regex pattern too long") != std::string::npos);
  // Every option of CoreDNS's README parses.
  CHECK(errorOf(". {\n  template ANY ANY example.org 10.0.0.0/8 {\n    match ^a ^b\n    answer \"{{ .Name }} 60 IN A "
                "1.2.3.4\"\n    additional \"x. A 1.1.1.1\"\n    authority \"x. NS y.\"\n    rcode NXDOMAIN\n    "
                "ederror 21 \"why\"\n    fallthrough example.org\n    upstream\n    expr type() == 'A'\n  }\n}\n") == "ok");
}

TEST_CASE("records render from the query: name, zone, class, type, groups, matches and parseInt") {
  auto h = handler(
      ". {\n  template IN A example {\n"
      "    match \"^ip0a(?P<b>[a-f0-9]{2})(?P<c>[a-f0-9]{2})(?P<d>[a-f0-9]{2})[.]example[.]$\"\n"
      "    answer \"{{ .Name }} 60 IN A 10.{{ parseInt .Group.b 16 8 }}.{{ parseInt (index .Match 2) 16 8 }}."
      "{{ parseInt (index .Group \\\"d\\\") 16 8 }}\"\n"
      "    answer \"{{ .Name }} 61 {{ .Class }} TXT \\\"{{ .Zone }}\\\" \\\"{{ .Type }}\\\" {{ .Remote }} \\\"{{ .Meta \\\"x\\\" }}\\\"\"\n"
      "    authority \"{{ .Zone }} 60 IN NS ns.{{ .Zone }}\"\n"
      "    additional \"ns.{{ .Zone }} 60 IN AAAA 2001:db8::{{ .Message.Id }}\"\n"
      "  }\n}\n");
  auto a = ask(*h, "IP0A7B7B7B.example.");
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK(a.reply.rcode == 0);
  CHECK(a.reply.aa);
  CHECK(a.reply.answer == std::vector<std::string>{"ip0a7b7b7b.example. 60 IN A 10.123.123.123",
                                                   "ip0a7b7b7b.example. 61 IN TXT \"example.\" \"A\" \"127.0.0.1\" \"\""});
  CHECK(a.reply.authority == std::vector<std::string>{"example. 60 IN NS ns.example."});
  CHECK(a.reply.additional == std::vector<std::string>{"ns.example. 60 IN AAAA 2001:db8::4660"});
}

TEST_CASE("README's reverse pair: named groups, fallthrough to the next template") {
  auto h = handler(
      ". {\n"
      "  template IN A example {\n"
      "    match (^|[.])ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$\n"
      "    answer \"{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"\n"
      "    fallthrough\n  }\n"
      "  template IN PTR in-addr.arpa {\n"
      "    match ^(?P<d>[0-9]*)[.](?P<c>[0-9]*)[.](?P<b>[0-9]*)[.](?P<a>[0-9]*)[.]in-addr[.]arpa[.]$\n"
      "    answer \"{{ .Name }} 60 IN PTR ip-{{ .Group.a }}-{{ .Group.b }}-{{ .Group.c }}-{{ .Group.d }}.example.\"\n"
      "  }\n}\n");
  CHECK(ask(*h, "x.ip-10-1-2-3.example.").reply.answer ==
        std::vector<std::string>{"x.ip-10-1-2-3.example. 60 IN A 10.1.2.3"});
  CHECK(ask(*h, "3.2.1.10.in-addr.arpa.", rr::PTR).reply.answer ==
        std::vector<std::string>{"3.2.1.10.in-addr.arpa. 60 IN PTR ip-10-1-2-3.example."});
  // No regex matched, fallthrough: the next plugin decides.
  CHECK(ask(*h, "www.example.").verdict == Verdict::Next);
  // Another type: the template is not for it.
  CHECK(ask(*h, "ip-10-1-2-3.example.", rr::MX).verdict == Verdict::Next);
  // Outside every template's zones.
  CHECK(ask(*h, "ip-10-1-2-3.example.org.").verdict == Verdict::Next);
  // The PTR template has no fallthrough: a name of its zone that does not match is SERVFAIL.
  auto miss = ask(*h, "x.in-addr.arpa.", rr::PTR);
  REQUIRE(miss.verdict == Verdict::Answered);
  CHECK(miss.reply.rcode == 2);
  REQUIRE(!miss.notes.empty());
  CHECK(miss.notes.back().find("no fallthrough: SERVFAIL") != std::string::npos);
}

TEST_CASE("multiple regexes: the first that matches wins, .Group reads its groups") {
  auto h = handler(
      ". {\n  template IN A example {\n"
      "    match \"^ip-(?P<a>10)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]dc[.]example[.]$\"\n"
      "    match \"^(?P<a>[0-9]*)[.](?P<b>[0-9]*)[.](?P<c>[0-9]*)[.](?P<d>[0-9]*)[.]ext[.]example[.]$\"\n"
      "    answer \"{{ .Name }} 60 IN A {{ .Group.a}}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"\n"
      "    fallthrough\n  }\n}\n");
  CHECK(ask(*h, "ip-10-0-0-1.dc.example.").reply.answer ==
        std::vector<std::string>{"ip-10-0-0-1.dc.example. 60 IN A 10.0.0.1"});
  CHECK(ask(*h, "192.0.2.7.ext.example.").reply.answer ==
        std::vector<std::string>{"192.0.2.7.ext.example. 60 IN A 192.0.2.7"});
}

TEST_CASE("rcode, an SOA in authority and the extended error, ANY class and type") {
  auto h = handler(
      ". {\n  template ANY ANY invalid {\n    rcode NXDOMAIN\n"
      "    authority \"invalid. 60 {{ .Class }} SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)\"\n"
      "    ederror 21 \"Blocked according to RFC2606\"\n  }\n}\n");
  for (uint16_t klass : {dns::rrclass::IN, dns::rrclass::CH}) {
    auto a = ask(*h, "foo.invalid.", rr::TXT, klass);
    REQUIRE(a.verdict == Verdict::Answered);
    CHECK(a.reply.rcode == 3);
    CHECK(a.reply.answer.empty());
    REQUIRE(a.reply.authority.size() == 1);
    CHECK(a.reply.authority[0] == std::string("invalid. 60 ") + (klass == dns::rrclass::IN ? "IN" : "CH") +
                                      " SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60");
    std::string extra;
    CHECK(testing::extendedError(a.reply, &extra) == 21);
    CHECK(extra == "Blocked according to RFC2606");
  }
  // The default regex is .*, the default zones the block's.
  auto all = handler(". {\n  template ANY ANY {\n    rcode NXDOMAIN\n  }\n}\n");
  CHECK(ask(*all, "anything.org.", rr::AAAA).reply.rcode == 3);
  auto fail = handler(". {\n  template ANY ANY {\n    rcode SERVFAIL\n  }\n}\n");
  CHECK(ask(*fail, "anything.org.").reply.rcode == 2);
}

TEST_CASE("fallthrough with zones: only names below them pass") {
  auto h = handler(". {\n  template IN A example {\n    match ^nothing$\n    fallthrough a.example\n  }\n}\n");
  CHECK(ask(*h, "x.a.example.").verdict == Verdict::Next);
  CHECK(ask(*h, "x.b.example.").reply.rcode == 2);
}

TEST_CASE("expr: every condition must hold, otherwise fallthrough decides") {
  auto h = handler(
      ". {\n  template IN A example {\n    expr \"incidr(client_ip(), '127.0.0.0/8')\"\n    expr name() != 'no.example.'\n"
      "    answer \"{{ .Name }} 60 IN A 192.0.2.1\"\n    fallthrough\n  }\n}\n");
  CHECK(ask(*h, "yes.example.").reply.answer == std::vector<std::string>{"yes.example. 60 IN A 192.0.2.1"});
  CHECK(ask(*h, "no.example.").verdict == Verdict::Next);
}

TEST_CASE("a template that fails or renders no valid record is SERVFAIL, counted as CoreDNS counts it") {
  auto h = handler(
      ". {\n  template IN A bad {\n    match ^(x)?y\n    answer \"{{ .Name }} 60 IN A {{ parseInt (index .Match 1) 10 8 }}\"\n  }\n"
      "  template IN A worse {\n    answer \"{{ .Name }} 60 IN A not-an-address\"\n  }\n}\n");
  auto a = ask(*h, "y.bad.");
  CHECK(a.reply.rcode == 2);
  CHECK(a.notes.back().find("fails (parseInt") != std::string::npos);
  auto b = ask(*h, "y.worse.");
  CHECK(b.reply.rcode == 2);
  CHECK(b.notes.back().find("is no valid record (no IPv4 address)") != std::string::npos);
  std::vector<MetricSample> samples;
  h->collect(samples);
  auto find = [&](const std::string& family, const std::string& zone) -> const MetricSample* {
    for (const MetricSample& s : samples) {
      if (s.family == family && s.labels[1].second == zone) return &s;
    }
    return nullptr;
  };
  const MetricSample* matches = find("coredns_template_matches_total", "bad.");
  REQUIRE(matches != nullptr);
  CHECK(matches->value == 1);
  CHECK(matches->labels == std::vector<std::pair<std::string, std::string>>{
                               {"server", "dns://:53"}, {"zone", "bad."}, {"view", ""}, {"class", "IN"}, {"type", "A"}});
  const MetricSample* tf = find("coredns_template_template_failures_total", "bad.");
  REQUIRE(tf != nullptr);
  CHECK(tf->labels[5] == std::pair<std::string, std::string>{"section", "answer"});
  CHECK(tf->labels[6].second == "{{ .Name }} 60 IN A {{ parseInt (index .Match 1) 10 8 }}");
  REQUIRE(find("coredns_template_rr_failures_total", "worse.") != nullptr);
}

TEST_CASE("record text to wire: defaults, order of TTL and class, the ldns path for other types") {
  WireRecord rec;
  std::string_view why;
  REQUIRE(parseRecord("a.example IN 30 MX 10 mail.example", rec, why));
  CHECK(rec.ttl == 30);
  CHECK(rec.type == rr::MX);
  REQUIRE(parseRecord("a.example. A 192.0.2.1", rec, why));
  CHECK(rec.ttl == 3600);  // miekg/dns's default
  CHECK(rec.klass == dns::rrclass::IN);
  REQUIRE(parseRecord("_x._tcp.example. 60 IN SRV 1 2 3 t.example.", rec, why));
  CHECK(rec.rdataLen == 6 + 11);
  REQUIRE(parseRecord("a.example. 60 IN CAA 0 issue \"ca.example\"", rec, why));
  CHECK(rec.type == 257);
  CHECK_FALSE(parseRecord("a..example. 60 IN A 192.0.2.1", rec, why));
  CHECK_FALSE(parseRecord("a.example. 60 IN A", rec, why));
  CHECK_FALSE(parseRecord("a.example. 60 IN NOPE x", rec, why));
  CHECK_FALSE(parseRecord("", rec, why));
  // Meta types are no records: never handed to ldns.
  CHECK_FALSE(parseRecord("a.example. 60 IN ANY x", rec, why));
  CHECK(why == "a meta type is no record");
}

TEST_CASE("answering from a template allocates nothing beyond the reply buffer") {
  auto h = handler(
      ". {\n"
      "  template IN A example {\n"
      "    match ^ip-10-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$\n"
      "    answer \"{{ .Name }} 60 IN A 10.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"\n"
      "    authority  \"example. 60 IN NS ns0.example.\"\n"
      "    additional \"ns0.example. 60 IN A 203.0.113.8\"\n"
      "    fallthrough\n  }\n"
      "  template IN MX example {\n    answer \"{{ .Name }} 60 IN MX 10 {{ .Name }}\"\n  }\n"
      "  template IN TXT example {\n    answer \"{{ .Name }} 60 IN TXT \\\"{{ .Type }}\\\"\"\n"
      "    authority \"example. 60 IN SOA ns.example. h.example. (1 60 60 60 60)\"\n    rcode NXDOMAIN\n"
      "    ederror 21 \"why\"\n  }\n"
      "}\n");
  struct Case {
    const char* name;
    uint16_t type;
  };
  for (const Case c : {Case{"ip-10-1-2-3.example.", rr::A}, Case{"mx.example.", rr::MX}, Case{"t.example.", rr::TXT}}) {
    CAPTURE(c.name);
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, testing::makeQuery({.name = c.name, .type = c.type, .edns = 1232}));
    q->reply.reserve(4096);
    REQUIRE(h->onQuery(*q) == Verdict::Answered);  // RE2 fills its DFA cache on first use
    for (int round = 0; round < 3; ++round) {
      testing::allocations = 0;
      testing::counting = true;
      const Verdict v = h->onQuery(*q);
      testing::counting = false;
      CHECK(v == Verdict::Answered);
      CHECK(testing::allocations == 0);
    }
    CHECK(testing::decode(q->reply).answer.size() == 1);
  }
}

// A pattern outside RE2's one-pass engine (here six submatches: the README's reverse example)
// captures with its backtracker, which allocates its work space per match: measured, bounded.
TEST_CASE("capturing past the one-pass engine costs RE2's work space, bounded") {
  auto h = handler(
      ". {\n  template IN A example {\n"
      "    match (^|[.])ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$\n"
      "    answer \"{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"\n"
      "  }\n}\n");
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "x.ip-10-1-2-3.example.", .type = rr::A}));
  q->reply.reserve(4096);
  REQUIRE(h->onQuery(*q) == Verdict::Answered);
  testing::allocations = 0;
  testing::counting = true;
  h->onQuery(*q);
  testing::counting = false;
  MESSAGE("allocations with six submatches: ", testing::allocations);
  CHECK(testing::allocations <= 4);
  CHECK(testing::decode(q->reply).answer == std::vector<std::string>{"x.ip-10-1-2-3.example. 60 IN A 10.1.2.3"});
}

// The data the CNAME target resolves to: what forward would bring back.
struct Data final : Handler {
  int asked = 0;
  Verdict onQuery(dns::Query& q) override {
    ++asked;
    dns::MessageWriter w(q.reply);
    w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, false);
    const std::array<uint8_t, 4> a{192, 0, 2, 80};
    w.addRR(dns::Section::Answer, q.view.question.lowerName(), rr::A, dns::rrclass::IN, 300, a);
    return Verdict::Answered;
  }
  std::string_view name() const override { return "data"; }
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

TEST_CASE("a CNAME answer to A has its target resolved through the server (CoreDNS's upstream)") {
  auto h = handler(". {\n  template IN ANY foogle.com {\n    match \"^foogle\\.com\\.$\"\n"
                   "    answer \"foogle.com 60 IN CNAME google.com\"\n  }\n}\n");
  auto data = std::make_shared<Data>();
  ChainRunner runner{1};
  auto table = std::make_shared<RouteTable>();
  table->listeners.emplace_back();
  auto chain = std::make_shared<Chain>();
  chain->add(h);
  chain->add(data);
  table->listeners[0].add(".", chain);
  runner.publish(table);
  Sink sink;
  auto run = [&](const char* name, uint16_t type) {
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, testing::makeQuery({.name = name, .type = type}));
    q->sink = &sink;
    q->dispatcher = &runner;
    const int before = sink.sent;
    runner.dispatch(*q);
    REQUIRE(sink.sent == before + 1);
    return testing::decode(sink.last);
  };
  auto a = run("foogle.com.", rr::A);
  CHECK(a.answer == std::vector<std::string>{"foogle.com. 60 IN CNAME google.com.", "google.com. 300 IN A 192.0.2.80"});
  CHECK(data->asked == 1);
  // Not for MX: the CNAME alone, as CoreDNS.
  auto mx = run("foogle.com.", rr::MX);
  CHECK(mx.answer == std::vector<std::string>{"foogle.com. 60 IN CNAME google.com."});
  CHECK(data->asked == 1);
}

TEST_CASE("explain says which template matched and what it answered") {
  auto h = handler(". {\n  template IN A example {\n    answer \"{{ .Name }} 60 IN A 192.0.2.1\"\n  }\n}\n");
  auto a = ask(*h, "x.example.");
  REQUIRE(a.notes.size() == 1);
  CHECK(a.notes[0] == "template: template at Corefile:2:3 (IN A example.) matched x.example. with regex .*: NOERROR, 1 "
                      "answer(s), 1 record(s) templated; local data, never sent upstream");
}

TEST_CASE("setup: the block's zones, several stanzas, and the handler's name") {
  auto parsed = stanzasOf(". {\n  template IN A\n  template IN AAAA example.org {\n  }\n}\n", "template");
  SetupContext ctx;
  ctx.stanzas = parsed.stanzas;
  ctx.zones = {"example.net."};
  auto h = setupTemplate(ctx);
  REQUIRE(h.ok());
  CHECK((*h)->name() == "template");
  auto* t = dynamic_cast<TemplateHandler*>(h->get());
  REQUIRE(t != nullptr);
  REQUIRE(t->config().rules.size() == 2);
  CHECK(t->config().rules[0].zones.text(0) == "example.net.");
  CHECK(t->config().rules[1].zones.text(0) == "example.org.");
}

}  // namespace
}  // namespace moat::plugins::tmpl
