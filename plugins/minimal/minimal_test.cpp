// minimal: the stanza's checks, and which replies lose authority and additional.
#include "plugins/minimal/minimal.hpp"

#include <doctest/doctest.h>

#include "dns/message.hpp"
#include "dns/reply_fit.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

using namespace moat;
using namespace moat::testing;
using plugins::minimal::Kind;
using plugins::minimal::minimize;

namespace {

const uint8_t kNs[] = {2, 'n', 's', 0};
const uint8_t kAddr[4] = {192, 0, 2, 1};

// A fitted reply to an A query (EDNS when `edns`) with the given rcode and records.
dns::Query& reply(dns::Query& q, dns::RCode rcode, int answers, bool soa, bool ns, bool edns = true) {
  loadQuery(q, makeQuery({.name = "www.example.org", .edns = edns ? std::optional<uint16_t>(1232) : std::nullopt}), dns::Proto::Udp);
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, rcode, true);
  const auto name = q.view.question.lowerName();
  for (int i = 0; i < answers; ++i) w.addRR(dns::Section::Answer, name, dns::rrtype::A, dns::rrclass::IN, 60, kAddr);
  if (soa) {
    std::vector<uint8_t> rdata(kNs, kNs + 4);
    rdata.insert(rdata.end(), kNs, kNs + 4);
    rdata.resize(rdata.size() + 20, 0);
    w.addRR(dns::Section::Authority, name, dns::rrtype::SOA, dns::rrclass::IN, 60, rdata);
  }
  if (ns) w.addRR(dns::Section::Authority, name, dns::rrtype::NS, dns::rrclass::IN, 60, kNs);
  w.addRR(dns::Section::Additional, kNs, dns::rrtype::A, dns::rrclass::IN, 60, kAddr);
  dns::finalizeReply(q.reply, q.view, q.proto);
  return q;
}

}  // namespace

TEST_CASE("minimal: a positive answer keeps its answers and the OPT, nothing else") {
  dns::Query q;
  reply(q, dns::RCode::NoError, 2, false, true);
  unsigned removed = 0;
  CHECK(minimize(q.reply, 0, removed) == Kind::Success);
  CHECK(removed == 2);
  const Reply r = decode(q.reply);
  REQUIRE(r.ok);
  CHECK(r.answer.size() == 2);
  CHECK(r.authority.empty());
  CHECK(r.additional.empty());
  CHECK(r.hasOpt);
  CHECK(r.optUdpSize == 1232);
  CHECK(r.aa);
}

TEST_CASE("minimal: without EDNS no OPT is left either") {
  dns::Query q;
  reply(q, dns::RCode::NoError, 1, false, true, false);
  unsigned removed = 0;
  CHECK(minimize(q.reply, 0, removed) == Kind::Success);
  const Reply r = decode(q.reply);
  CHECK(r.answer.size() == 1);
  CHECK_FALSE(r.hasOpt);
  CHECK(r.additional.empty());
}

TEST_CASE("minimal: NXDOMAIN, NODATA, delegations and errors pass whole") {
  struct Case {
    dns::RCode rcode;
    int answers;
    bool soa, ns;
    Kind kind;
  };
  for (const Case c : {Case{dns::RCode::NXDomain, 0, true, false, Kind::Denial},
                       Case{dns::RCode::NoError, 0, true, false, Kind::Denial},
                       Case{dns::RCode::NoError, 0, false, true, Kind::Delegation},
                       Case{dns::RCode::ServFail, 0, false, true, Kind::Error},
                       Case{dns::RCode::NXDomain, 1, false, true, Kind::Error},
                       Case{dns::RCode::Refused, 0, false, true, Kind::Error}}) {
    dns::Query q;
    reply(q, c.rcode, c.answers, c.soa, c.ns);
    const std::vector<uint8_t> before = q.reply;
    unsigned removed = 0;
    CHECK(minimize(q.reply, 0, removed) == c.kind);
    CHECK(q.reply == before);
  }
}

TEST_CASE("minimal: a NOERROR without answers, SOA or NS is a success, its additional removed") {
  dns::Query q;
  reply(q, dns::RCode::NoError, 0, false, false);
  unsigned removed = 0;
  CHECK(minimize(q.reply, 0, removed) == Kind::Success);
  CHECK(removed == 1);
  CHECK(decode(q.reply).additional.empty());
}

TEST_CASE("minimal: setup takes no arguments and no block") {
  auto args = stanzasOf(". {\n  minimal yes\n}\n", "minimal");
  plugins::SetupContext ctx;
  ctx.stanzas = args.stanzas;
  auto r = plugins::minimal::setupMinimal(ctx);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().pos.line == 2);
  CHECK(r.error().pos.col == 11);
  auto block = stanzasOf(". {\n  minimal {\n  }\n}\n", "minimal");
  ctx.stanzas = block.stanzas;
  auto b = plugins::minimal::setupMinimal(ctx);
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().message.find("takes no block") != std::string::npos);
}

TEST_CASE("minimal: removing sections allocates nothing") {
  dns::Query q;
  reply(q, dns::RCode::NoError, 2, false, true);
  plugins::minimal::MinimalHandler handler;
  counting = true;
  allocations = 0;
  handler.onReply(q);
  counting = false;
  CHECK(allocations == 0);
  CHECK(decode(q.reply).authority.empty());
}
