// The egress check inside forward (DESIGN.md §4): private names never reach an upstream through
// a stanza whose scope is not their private zone or below it, over UDP, TCP, retries or probes.
#include <doctest/doctest.h>

#include <cctype>

#include "plugins/forward/test_util.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/plugin_test_util.hpp"

namespace moat::plugins::forward::testing {
namespace {

using moat::testing::FakeUpstream;
using Mode = FakeUpstream::Mode;

PrivateZonesPtr privateZones(std::initializer_list<const char*> names) {
  auto zones = std::make_shared<PrivateZones>();
  for (const char* n : names) zones->add(PrivateZone{n});
  return zones;
}

size_t under(const FakeUpstream& up, std::string_view suffix) {
  size_t n = 0;
  for (const auto& r : up.received()) {
    std::string lower;
    for (char c : r.name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.size() >= suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0) ++n;
  }
  return n;
}

TEST_CASE("forward egress: an unscoped forward passes private names on and sends public ones") {
  FakeUpstream up;
  Harness h(block("forward . " + up.address()), {privateZones({"internal.company."}), {"."}});
  for (const char* name : {"api.internal.company.", "API.Internal.Company.", "internal.company.",
                           "a.b.c.internal.company."}) {
    CAPTURE(name);
    for (uint16_t type : {dns::rrtype::A, dns::rrtype::AAAA, dns::rrtype::MX}) {
      for (auto proto : {dns::Proto::Udp, dns::Proto::Tcp}) {
        QuerySpec spec = query(name);
        spec.type = type;
        auto o = h.start(spec, proto);
        CHECK(o.verdict == Verdict::Next);
        CHECK(o.query->egressBlocked == "forward");
      }
    }
  }
  CHECK(h.ask(query("www.example.com.")).verdict == Verdict::Answered);
  h.runFor(std::chrono::milliseconds(20));
  CHECK(under(up, "internal.company.") == 0);
  CHECK(up.names() == std::vector<std::string>{"www.example.com."});
  CHECK(h.stats().keptIn == 24);
  CHECK(h.stats().sendsStopped == 0);
}

TEST_CASE("forward egress: a stanza scoped to the private zone sends it, a later one can take it") {
  FakeUpstream site, world;
  site.setAnswerAddress("192.0.2.10");
  Harness h(block("forward . " + world.address() + "\nforward internal.company " + site.address()),
            {privateZones({"internal.company."}), {"."}});
  // `forward .` comes first and may not send it; the scoped stanza after it does.
  CHECK(hasA(h.ask(query("api.internal.company.")).reply, "192.0.2.10"));
  CHECK(hasA(h.ask(query("www.example.com.")).reply, "192.0.2.1"));
  CHECK(under(world, "internal.company.") == 0);
  CHECK(countName(site, "api.internal.company.") == 1);
}

TEST_CASE("forward egress: the block's zones narrow `forward .` (CoreDNS's split-DNS idiom)") {
  FakeUpstream up;
  Harness scoped(block("forward . " + up.address()),
                 {privateZones({"internal.company."}), {"internal.company."}});
  CHECK(scoped.ask(query("api.internal.company.")).verdict == Verdict::Answered);
  CHECK(countName(up, "api.internal.company.") == 1);

  // A scope above the private zone is not enough: corp.local stays in through a `local.` forward
  // when corp.local itself is the (deeper) private zone.
  Harness broader(block("forward local " + up.address()),
                  {privateZones({"local.", "corp.local."}), {"."}});
  CHECK(broader.start(query("dc1.corp.local.")).verdict == Verdict::Next);
  CHECK(broader.ask(query("printer.local.")).verdict == Verdict::Answered);
  CHECK(countName(up, "dc1.corp.local.") == 0);
  CHECK(countName(up, "printer.local.") == 1);
}

TEST_CASE("forward egress: TCP-forced stanzas and TC retries keep private names in") {
  FakeUpstream up;
  up.setMode(Mode::Truncate);
  Harness h(block("forward . " + up.address() + " {\n  prefer_udp\n}"),
            {privateZones({"corp.example."}), {"."}});
  CHECK(h.start(query("db.corp.example."), dns::Proto::Tcp).verdict == Verdict::Next);
  auto pub = h.ask(query("www.example.com."));
  CHECK(pub.verdict == Verdict::Answered);
  CHECK(under(up, "corp.example.") == 0);
}

TEST_CASE("forward egress: a health_check domain under a private zone is a config error") {
  auto cf = moat::testing::stanzasOf(
      ".:53 {\n  forward . 127.0.0.1:5300 {\n    health_check 1s domain probe.internal\n  }\n}\n",
      "forward");
  SetupContext ctx;
  ctx.stanzas = cf.stanzas;
  ctx.zones = {"."};
  ctx.privateZones = privateZones({"internal."});
  auto handler = setupForward(ctx);
  REQUIRE_FALSE(handler.ok());
  CHECK(handler.error().str() ==
        "Corefile:2:3: forward: health_check domain probe.internal. is under private zone "
        "internal., which this forward may not send");
  ctx.privateZones = privateZones({"corp."});
  CHECK(setupForward(ctx).ok());
}

}  // namespace
}  // namespace moat::plugins::forward::testing
