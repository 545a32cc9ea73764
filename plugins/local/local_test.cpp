#include <doctest/doctest.h>

#include <memory>

#include "plugins/local/local.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::plugins::local {
namespace {

namespace rr = dns::rrtype;
using moat::testing::stanzasOf;

const std::string kSoaText = " 604800 IN SOA localhost. root.localhost. 1 0 0 0 604800";

testing::Outcome ask(LocalHandler& h, const std::string& name, uint16_t type) {
  return testing::ask(h, name, type);
}

TEST_CASE("localhost.: A 127.0.0.1 and AAAA ::1, a week's TTL, not authoritative, not counted") {
  LocalHandler h({}, 1);
  auto a = ask(h, "localhost.", rr::A);
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK(a.reply.rcode == 0);
  CHECK_FALSE(a.reply.aa);
  CHECK(a.reply.answer == std::vector<std::string>{"localhost. 604800 IN A 127.0.0.1"});
  CHECK(a.reply.authority.empty());
  CHECK(ask(h, "LocalHost.", rr::AAAA).reply.answer ==
        std::vector<std::string>{"LocalHost. 604800 IN AAAA ::1"});
  CHECK(h.localhostRequests() == 0);
}

TEST_CASE("the apexes: SOA and NS answered, other types no data with the SOA") {
  LocalHandler h({}, 1);
  for (const char* apex : {"localhost.", "0.in-addr.arpa.", "127.in-addr.arpa.", "255.in-addr.arpa."}) {
    CAPTURE(apex);
    const std::string name = apex;
    CHECK(ask(h, name, rr::SOA).reply.answer == std::vector<std::string>{name + kSoaText});
    CHECK(ask(h, name, rr::NS).reply.answer == std::vector<std::string>{name + " 604800 IN NS localhost."});
    auto mx = ask(h, name, rr::MX);
    CHECK(mx.reply.rcode == 0);
    CHECK(mx.reply.answer.empty());
    CHECK(mx.reply.authority == std::vector<std::string>{name + kSoaText});
  }
  // Only localhost. has addresses: the reverse apexes are no data.
  auto a = ask(h, "127.in-addr.arpa.", rr::A);
  CHECK(a.reply.rcode == 0);
  CHECK(a.reply.answer.empty());
  CHECK(a.reply.authority == std::vector<std::string>{"127.in-addr.arpa." + kSoaText});
}

TEST_CASE("1.0.0.127.in-addr.arpa.: PTR localhost., other types no data, the zone's SOA") {
  LocalHandler h({}, 1);
  CHECK(ask(h, "1.0.0.127.in-addr.arpa.", rr::PTR).reply.answer ==
        std::vector<std::string>{"1.0.0.127.in-addr.arpa. 604800 IN PTR localhost."});
  auto a = ask(h, "1.0.0.127.IN-ADDR.arpa.", rr::A);
  CHECK(a.reply.rcode == 0);
  CHECK(a.reply.answer.empty());
  CHECK(a.reply.authority == std::vector<std::string>{"127.IN-ADDR.arpa." + kSoaText});
}

TEST_CASE("anything else in the reverse zones: NXDOMAIN with the zone's SOA") {
  LocalHandler h({}, 1);
  // A pair, not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
  for (const auto& c : {std::pair{"2.0.0.127.in-addr.arpa.", "127.in-addr.arpa."},
                        std::pair{"1.0.0.0.in-addr.arpa.", "0.in-addr.arpa."},
                        std::pair{"255.255.255.255.in-addr.arpa.", "255.in-addr.arpa."}}) {
    const char* name = c.first;
    const std::string zone = c.second;
    CAPTURE(name);
    auto r = ask(h, name, rr::PTR);
    REQUIRE(r.verdict == Verdict::Answered);
    CHECK(r.reply.rcode == 3);
    CHECK(r.reply.answer.empty());
    CHECK(r.reply.authority == std::vector<std::string>{zone + kSoaText});
  }
}

TEST_CASE("names below localhost.: the loopback host, counted") {
  LocalHandler h({}, 2);
  CHECK(ask(h, "foo.localhost.", rr::A).reply.answer ==
        std::vector<std::string>{"foo.localhost. 604800 IN A 127.0.0.1"});
  CHECK(ask(h, "a.b.LOCALHOST.", rr::AAAA).reply.answer ==
        std::vector<std::string>{"a.b.LOCALHOST. 604800 IN AAAA ::1"});
  auto mx = ask(h, "foo.localhost.", rr::MX);
  CHECK(mx.reply.rcode == 0);
  CHECK(mx.reply.answer.empty());
  CHECK(mx.reply.authority == std::vector<std::string>{"foo.localhost." + kSoaText});
  CHECK(h.localhostRequests() == 3);
}

TEST_CASE("localhost.<domain>: loopback with localhost_prefix on (the default), passed on when off") {
  LocalHandler on({}, 1);
  CHECK(ask(on, "localhost.example.org.", rr::A).reply.answer ==
        std::vector<std::string>{"localhost.example.org. 604800 IN A 127.0.0.1"});
  CHECK(on.localhostRequests() == 1);
  LocalHandler off({.localhostPrefix = false}, 1);
  CHECK(ask(off, "localhost.example.org.", rr::A).verdict == Verdict::Next);
  CHECK(ask(off, "foo.localhost.", rr::A).verdict == Verdict::Answered);  // RFC 6761 stays
  CHECK(off.localhostRequests() == 1);
}

TEST_CASE("every other name passes to the next plugin") {
  LocalHandler h({}, 1);
  for (const char* other : {".", "example.org.", "xlocalhost.", "localhostx.example.", "in-addr.arpa.",
                            "1.in-addr.arpa.", "1.0.0.127.ip6.arpa.", "localhost.ip6.arpa"}) {
    CAPTURE(other);
    // localhost.ip6.arpa is a localhost.<domain> name: answered, as CoreDNS answers it.
    const bool legacy = std::string(other) == "localhost.ip6.arpa";
    CHECK((ask(h, other, rr::A).verdict == Verdict::Answered) == legacy);
  }
}

TEST_CASE("answers allocate nothing") {
  LocalHandler h({}, 1);
  for (const char* name : {"localhost.", "foo.localhost.", "1.0.0.127.in-addr.arpa.", "9.127.in-addr.arpa.",
                           "localhost.example.org.", "example.org."}) {
    CAPTURE(name);
    auto q = std::make_unique<dns::Query>();
    testing::loadQuery(*q, testing::makeQuery({.name = name, .type = rr::A, .edns = 1232}));
    q->reply.reserve(512);
    testing::allocations = 0;
    testing::counting = true;
    h.onQuery(*q);
    testing::counting = false;
    CHECK(testing::allocations == 0);
  }
}

TEST_CASE("explain: what was answered, and that it stays on the host") {
  LocalHandler h({}, 1);
  auto q = std::make_unique<dns::Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "foo.localhost.", .type = rr::A}));
  struct Notes : dns::Trace {
    std::vector<std::string> lines;
    void note(std::string_view handler, std::string text) override {
      lines.push_back(std::string(handler) + ": " + text);
    }
    void outcome(std::string_view, std::string_view) override {}
  } notes;
  q->trace = &notes;
  REQUIRE(h.onQuery(*q) == Verdict::Answered);
  REQUIRE(notes.lines.size() == 1);
  CHECK(notes.lines[0].starts_with("local: foo.localhost."));
  CHECK(notes.lines[0].find("A 127.0.0.1") != std::string::npos);
  CHECK(notes.lines[0].find("never sent upstream") != std::string::npos);
}

TEST_CASE("the metric: coredns_local_localhost_requests_total, no labels, present at 0") {
  LocalHandler h({}, 1);
  std::vector<MetricSample> samples;
  h.collect(samples);
  REQUIRE(samples.size() == 1);
  CHECK(samples[0].family == "coredns_local_localhost_requests_total");
  CHECK(samples[0].labels.empty());
  CHECK(samples[0].value == 0);
  ask(h, "localhost.", rr::A);  // not counted, as in CoreDNS
  ask(h, "x.localhost.", rr::A);
  samples.clear();
  h.collect(samples);
  CHECK(samples[0].value == 1);
}

conf::Result<Config> parse(const char* corefile) {
  auto parsed = stanzasOf(corefile, "local");
  return parseConfig(parsed.stanzas);
}

TEST_CASE("setup: both syntaxes of the README, and the last localhost_prefix of a block wins") {
  CHECK(parse(". {\n  local\n}\n")->localhostPrefix);
  CHECK_FALSE(parse(". {\n  local {\n    localhost_prefix off\n  }\n}\n")->localhostPrefix);
  CHECK(parse(". {\n  local {\n    localhost_prefix off\n    localhost_prefix on\n  }\n}\n")->localhostPrefix);
}

TEST_CASE("setup errors, each at its place") {
  auto args = parse(". {\n  local foo\n}\n");
  REQUIRE_FALSE(args);
  CHECK(args.error().pos.line == 2);
  CHECK(args.error().message.find("takes no arguments") != std::string::npos);

  auto typo = parse(". {\n  local {\n    localhost_prefx off\n  }\n}\n");
  REQUIRE_FALSE(typo);
  CHECK(typo.error().pos.line == 3);
  CHECK(typo.error().pos.col == 5);
  CHECK(typo.error().message.find("did you mean 'localhost_prefix'") != std::string::npos);

  auto value = parse(". {\n  local {\n    localhost_prefix yes\n  }\n}\n");
  REQUIRE_FALSE(value);
  CHECK(value.error().pos.line == 3);
  CHECK(value.error().pos.col == 22);
  CHECK(value.error().message.find("'on' or 'off', got 'yes'") != std::string::npos);

  auto count = parse(". {\n  local {\n    localhost_prefix\n  }\n}\n");
  REQUIRE_FALSE(count);
  CHECK(count.error().pos.line == 3);
}

}  // namespace
}  // namespace moat::plugins::local
