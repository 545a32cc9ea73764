// What the private handler counts and logs: per-zone counters summed over workers (the spare
// slot included), the egress warning and its once-a-minute limit, the explain note, setup, and
// an allocation-free query path.
#include <doctest/doctest.h>

#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dns/log.hpp"
#include "plugins/private/answer.hpp"
#include "plugins/private/test_support.hpp"
#include "tests/support/alloc_counter.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated Ask fields

namespace moat::plugins::private_zone {
namespace {

using namespace std::chrono_literals;
using testing::ask;
using testing::indexOf;
using testing::zonesOf;
namespace rr = dns::rrtype;

constexpr std::string_view kCountersCorefile = ". {\n  private internal.company\n}\n";

// A handler whose warnings land in a string, one "[WARNING] ..." line each.
struct Captured {
  Captured() : Captured(kCountersCorefile, 2) {}
  Captured(std::string_view corefile, size_t workers) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    logger = std::make_shared<spdlog::logger>("private-test", sink);
    logger->set_formatter(logging::makeFormatter());
    logger->set_level(spdlog::level::trace);
    handler = std::make_unique<PrivateAnswer>(zonesOf(corefile), workers, logger);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(text.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<PrivateAnswer> handler;
};

const auto t0 = std::chrono::steady_clock::time_point(1000h);

TEST_CASE("counters: per zone, summed over workers and the spare slot") {
  Captured c;
  PrivateAnswer& h = *c.handler;
  const size_t company = indexOf(h.zones(), "internal.company.");
  const size_t ten = indexOf(h.zones(), "10.in-addr.arpa.");
  const size_t local = indexOf(h.zones(), "local.");

  ask(h, {.name = "a.internal.company.", .worker = 0});
  ask(h, {.name = "b.internal.company.", .worker = 1});
  ask(h, {.name = "c.internal.company.", .worker = 7});           // a tool: the spare slot
  ask(h, {.name = "d.internal.company.", .worker = ~0u});         // no overflow into a real slot
  ask(h, {.name = "1.10.in-addr.arpa.", .type = rr::PTR, .worker = 1});
  ask(h, {.name = "example.org.", .worker = 0});                  // not private: not counted

  CHECK(h.blocked(company) == 4);
  CHECK(h.blocked(ten) == 1);
  CHECK(h.blocked(local) == 0);
  CHECK(h.blocked(h.zones().zones().size()) == 0);  // out of range: zero, no crash

  auto all = h.blockedByZone();
  REQUIRE(all.size() == h.zones().zones().size());
  uint64_t total = 0;
  for (const auto& z : all) total += z.blocked;
  CHECK(total == 5);
  CHECK(all[company].zone == "internal.company.");
  CHECK(all[company].blocked == 4);
  CHECK(all[ten].zone == "10.in-addr.arpa.");
}

TEST_CASE("counters: REFUSED, NODATA and localhost answers count too") {
  Captured c(". {\n  private r.example { refuse }\n}\n", 1);
  PrivateAnswer& h = *c.handler;
  ask(h, {.name = "x.r.example."});
  ask(h, {.name = "localhost."});
  ask(h, {.name = "x.localhost.", .type = rr::MX});
  ask(h, {.name = "h.local.", .nameExists = true});
  CHECK(h.blocked(indexOf(h.zones(), "r.example.")) == 1);
  CHECK(h.blocked(indexOf(h.zones(), "localhost.")) == 2);
  CHECK(h.blocked(indexOf(h.zones(), "local.")) == 1);
}

TEST_CASE("counters: a handler with zero workers still has a slot") {
  PrivateAnswer h(zonesOf(kCountersCorefile), 0);
  ask(h, {.name = "a.internal.company.", .worker = 0});
  ask(h, {.name = "a.internal.company.", .worker = 3});
  CHECK(h.blocked(indexOf(h.zones(), "internal.company.")) == 2);
}

TEST_CASE("log: a name the egress check stopped is logged as a warning") {
  Captured c;
  ask(*c.handler, {.name = "API.internal.company.", .egressBlocked = "forward", .start = t0});
  auto lines = c.lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] ==
        "[WARNING] plugin/private: api.internal.company. A: forward tried to send it; answered "
        "locally (private zone internal.company.)");
  CHECK(c.handler->warnings() == 1);
}

TEST_CASE("log: nothing when no one tried to send it") {
  Captured c;
  ask(*c.handler, {.name = "api.internal.company.", .start = t0});
  ask(*c.handler, {.name = "localhost.", .start = t0});
  CHECK(c.lines().empty());
  CHECK(c.handler->warnings() == 0);
}

TEST_CASE("log: the same name twice within a minute logs once, after a minute, again") {
  Captured c;
  PrivateAnswer& h = *c.handler;
  ask(h, {.name = "api.internal.company.", .egressBlocked = "forward", .start = t0});
  ask(h, {.name = "API.Internal.Company.", .egressBlocked = "forward", .start = t0 + 1s});
  ask(h, {.name = "api.internal.company.", .type = rr::AAAA, .egressBlocked = "forward",
          .start = t0 + 59s});
  CHECK(c.lines().size() == 1);
  ask(h, {.name = "api.internal.company.", .type = rr::AAAA, .egressBlocked = "forward",
          .start = t0 + 60s});
  auto lines = c.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].find("api.internal.company. AAAA: forward") != std::string::npos);
  // Every one was still answered and counted; only the log is limited.
  CHECK(h.blocked(indexOf(h.zones(), "internal.company.")) == 4);
}

TEST_CASE("log: different names both log") {
  Captured c;
  ask(*c.handler, {.name = "a.internal.company.", .egressBlocked = "forward", .start = t0});
  ask(*c.handler, {.name = "b.internal.company.", .egressBlocked = "forward", .start = t0});
  ask(*c.handler, {.name = "4.3.2.10.in-addr.arpa.", .type = rr::PTR, .egressBlocked = "forward",
                   .start = t0});
  auto lines = c.lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[2] ==
        "[WARNING] plugin/private: 4.3.2.10.in-addr.arpa. PTR: forward tried to send it; answered "
        "locally (private zone 10.in-addr.arpa.)");
}

TEST_CASE("log: each worker has its own limit") {
  Captured c;
  ask(*c.handler, {.name = "a.internal.company.", .egressBlocked = "forward", .worker = 0, .start = t0});
  ask(*c.handler, {.name = "a.internal.company.", .egressBlocked = "forward", .worker = 1, .start = t0});
  ask(*c.handler, {.name = "a.internal.company.", .egressBlocked = "forward", .worker = 1, .start = t0});
  CHECK(c.lines().size() == 2);
}

TEST_CASE("limiter: once per name per window, earlier times count as inside it") {
  LogLimiter limiter;
  auto wire = [](const char* text) {
    auto w = dns::nameFromText(text);
    REQUIRE(w.has_value());
    return *w;
  };
  const auto a = wire("a.internal.company."), b = wire("b.internal.company.");
  CHECK(limiter.admit(a, t0));
  CHECK_FALSE(limiter.admit(a, t0));
  CHECK_FALSE(limiter.admit(a, t0 + 59s + 999ms));
  CHECK_FALSE(limiter.admit(a, t0 - 5s));
  CHECK(limiter.admit(b, t0 + 1s));
  CHECK(limiter.admit(a, t0 + 60s));
  CHECK_FALSE(limiter.admit(a, t0 + 61s));
  CHECK_FALSE(limiter.admit(b, t0 + 2s));
}

TEST_CASE("limiter: many names that share slots may log again, but are never silenced wrongly") {
  LogLimiter limiter;
  std::vector<dns::WireName> names;
  for (int i = 0; i < 3 * int(LogLimiter::kSlots); ++i) {
    auto w = dns::nameFromText("host" + std::to_string(i) + ".internal.company.");
    REQUIRE(w.has_value());
    names.push_back(*w);
  }
  for (const auto& n : names) CHECK(limiter.admit(n, t0));  // each name is new: each admitted
}

TEST_CASE("explain: one note says which zone, why, and the answer") {
  Captured c;
  moat::testing::TraceNotes trace;
  ask(*c.handler, {.name = "api.internal.company.", .egressBlocked = "forward", .trace = &trace});
  ask(*c.handler, {.name = "1.10.in-addr.arpa.", .type = rr::PTR, .trace = &trace});
  ask(*c.handler, {.name = "example.org.", .trace = &trace});
  REQUIRE(trace.lines.size() == 2);
  CHECK(trace.lines[0] ==
        "private: api.internal.company. is under private zone internal.company. (private at "
        "Corefile:2:3); forward tried to send it -> NXDOMAIN aa, SOA internal.company.");
  CHECK(trace.lines[1].find("private: 1.10.in-addr.arpa. is under private zone 10.in-addr.arpa. "
                            "(built-in: RFC 6303") == 0);
  CHECK(trace.lines[1].find("-> NXDOMAIN aa, SOA 10.in-addr.arpa.") != std::string::npos);
}

TEST_CASE("setup: a handler in every block, stanzas or not, none without private zones") {
  SetupContext ctx;
  CHECK(setupPrivate(ctx)->get() == nullptr);  // no zones built: nothing to answer
  ctx.privateZones = zonesOf(". {\n  private off\n}\n");
  CHECK(setupPrivate(ctx)->get() == nullptr);  // every zone turned off
  ctx.privateZones = zonesOf(kCountersCorefile);
  auto h = setupPrivate(ctx);  // no stanzas, no loops
  REQUIRE(h.ok());
  REQUIRE(*h != nullptr);
  CHECK((*h)->name() == "private");
  auto* answer = dynamic_cast<PrivateAnswer*>(h->get());
  REQUIRE(answer != nullptr);
  CHECK(ask(*answer, {.name = "x.internal.company.", .worker = 0}).reply.rcode == 3);
}

TEST_CASE("onQuery does not allocate, logging aside") {
  PrivateAnswer h(zonesOf(kCountersCorefile), 1);
  struct Case {
    const char* name;
    uint16_t type;
    bool nameExists;
    Verdict verdict;
  };
  const Case cases[] = {
      {"example.org.", rr::A, false, Verdict::Next},
      {"a.b.c.internal.company.", rr::A, false, Verdict::Answered},
      {"a.internal.company.", rr::MX, true, Verdict::Answered},
      {"localhost.", rr::ANY, false, Verdict::Answered},
      {"x.localhost.", rr::TXT, false, Verdict::Answered},
      {"4.3.2.10.in-addr.arpa.", rr::PTR, false, Verdict::Answered},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto q = std::make_unique<dns::Query>();
    moat::testing::QuerySpec spec;
    spec.name = c.name;
    spec.type = c.type;
    moat::testing::loadQuery(*q, moat::testing::makeQuery(spec));
    q->nameExists = c.nameExists;
    q->reply.reserve(512);  // the worker's pool keeps reply capacity
    moat::testing::allocations = 0;
    moat::testing::counting = true;
    Verdict v = h.onQuery(*q);
    moat::testing::counting = false;
    CHECK(v == c.verdict);
    CHECK(moat::testing::allocations == 0);
  }
}

}  // namespace
}  // namespace moat::plugins::private_zone
