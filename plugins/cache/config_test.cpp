#include "plugins/cache/config.hpp"

#include <doctest/doctest.h>

#include "plugins/cache/test_support.hpp"

namespace moat::plugins::cache {
namespace {

using testing::directive;
using testing::Setup;
using namespace std::chrono_literals;

TEST_CASE("parseCache: defaults follow CoreDNS") {
  Setup s(directive("cache"), {"example.org."});
  auto cfg = parseCache(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->zones == std::vector<std::string>{"example.org."});
  CHECK(cfg->success.capacity == 9984);
  CHECK(cfg->success.maxTtl == 3600);
  CHECK(cfg->success.minTtl == 5);
  CHECK(cfg->denial.capacity == 9984);
  CHECK(cfg->denial.maxTtl == 1800);
  CHECK(cfg->denial.minTtl == 5);
  CHECK(cfg->servfailTtl == 5s);
  CHECK_FALSE(cfg->keepTtl);
  CHECK(cfg->disableSuccess.empty());
  CHECK(cfg->disableDenial.empty());
}

TEST_CASE("parseCache: TTL and zones from the arguments") {
  Setup s(directive("cache 300 Example.ORG 10.0.0.0/8"));
  auto cfg = parseCache(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->success.maxTtl == 300);
  CHECK(cfg->denial.maxTtl == 300);
  CHECK(cfg->zones == std::vector<std::string>{"example.org.", "10.in-addr.arpa."});

  Setup z(directive("cache example.net"));
  auto zc = parseCache(z.ctx);
  REQUIRE(zc.ok());
  CHECK(zc->success.maxTtl == 3600);
  CHECK(zc->zones == std::vector<std::string>{"example.net."});
}

TEST_CASE("parseCache: options") {
  Setup s(directive("cache", {"success 5000 600 10", "denial 2500 60", "servfail 30s",
                              "disable success internal.", "disable denial", "keepttl"}));
  auto cfg = parseCache(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->success.capacity == 5000);
  CHECK(cfg->success.maxTtl == 600);
  CHECK(cfg->success.minTtl == 10);
  CHECK(cfg->denial.capacity == 2500);
  CHECK(cfg->denial.maxTtl == 60);
  CHECK(cfg->denial.minTtl == 5);
  CHECK(cfg->servfailTtl == 30s);
  CHECK(cfg->disableSuccess == std::vector<std::string>{"internal."});
  CHECK(cfg->disableDenial == std::vector<std::string>{"."});
  CHECK(cfg->keepTtl);
}

TEST_CASE("parseCache: servfail 0 turns SERVFAIL caching off, 5m is the limit") {
  Setup zero(directive("cache", {"servfail 0"}));
  auto c0 = parseCache(zero.ctx);
  REQUIRE(c0.ok());
  CHECK(c0->servfailTtl == 0s);
  Setup five(directive("cache", {"servfail 5m"}));
  REQUIRE(parseCache(five.ctx).ok());
}

TEST_CASE("parseCache: prefetch AMOUNT [[DURATION] [PERCENTAGE%]]") {
  Setup none(directive("cache"));
  auto off = parseCache(none.ctx);
  REQUIRE(off.ok());
  CHECK(off->prefetch.amount == 0);
  CHECK(off->prefetch.window == 1min);
  CHECK(off->prefetch.percentage == 10);

  Setup one(directive("cache", {"prefetch 10"}));
  auto c1 = parseCache(one.ctx);
  REQUIRE(c1.ok());
  CHECK(c1->prefetch.amount == 10);
  CHECK(c1->prefetch.window == 1min);
  CHECK(c1->prefetch.percentage == 10);

  Setup all(directive("cache", {"prefetch 2 30s 25%"}));
  auto c3 = parseCache(all.ctx);
  REQUIRE(c3.ok());
  CHECK(c3->prefetch.amount == 2);
  CHECK(c3->prefetch.window == 30s);
  CHECK(c3->prefetch.percentage == 25);

  Setup zero(directive("cache", {"prefetch 0"}));  // as CoreDNS: accepted, prefetches nothing
  REQUIRE(parseCache(zero.ctx).ok());
}

TEST_CASE("parseCache: serve_stale [DURATION [immediate|verify]]") {
  Setup none(directive("cache"));
  auto off = parseCache(none.ctx);
  REQUIRE(off.ok());
  CHECK(off->stale.upTo == 0s);

  Setup bare(directive("cache", {"serve_stale"}));
  auto c0 = parseCache(bare.ctx);
  REQUIRE(c0.ok());
  CHECK(c0->stale.upTo == 1h);
  CHECK_FALSE(c0->stale.verify);

  Setup d(directive("cache", {"serve_stale 90s"}));
  auto c1 = parseCache(d.ctx);
  REQUIRE(c1.ok());
  CHECK(c1->stale.upTo == 90s);
  CHECK_FALSE(c1->stale.verify);

  Setup v(directive("cache", {"serve_stale 1h VERIFY"}));  // CoreDNS lowercases the mode
  auto c2 = parseCache(v.ctx);
  REQUIRE(c2.ok());
  CHECK(c2->stale.verify);

  Setup i(directive("cache", {"serve_stale 1h verify", "serve_stale 2h immediate"}));  // last wins
  auto c3 = parseCache(i.ctx);
  REQUIRE(c3.ok());
  CHECK(c3->stale.upTo == 2h);
  CHECK_FALSE(c3->stale.verify);
}

TEST_CASE("storageIdentity: what is stored and how, not how it is served") {
  const auto identity = [](std::initializer_list<std::string_view> block) {
    Setup s(directive("cache 300", block));
    auto cfg = parseCache(s.ctx);
    REQUIRE(cfg.ok());
    return storageIdentity(*cfg);
  };
  const std::string base = identity({});
  CHECK(identity({"serve_stale 1h verify", "prefetch 3", "keepttl"}) == base);
  CHECK(identity({"success 9984"}) == base);
  CHECK(identity({"success 10000"}) == base);  // the same 9984 entries once rounded to shards
  CHECK(identity({"success 5000"}) != base);
  CHECK(identity({"denial 9984 300 6"}) != base);
  CHECK(identity({"servfail 10s"}) != base);
  CHECK(identity({"disable success"}) != base);
  CHECK(identity({"disable success example.org"}) != identity({"disable success"}));
}

TEST_CASE("effectiveCapacity: whole shards, at least 1024") {
  CHECK(effectiveCapacity(9984) == 9984);
  CHECK(effectiveCapacity(5000) == 4864);
  CHECK(effectiveCapacity(10) == 1024);
  CHECK(effectiveCapacity(0) == 1024);
}

TEST_CASE("parseCache: errors carry the position of the offending token") {
  struct Case {
    const char* head;
    std::initializer_list<std::string_view> block;
    uint32_t line, col;
    const char* message;
  };
  const Case cases[] = {
      {"cache 0", {}, 2, 7, "TTL"},
      {"cache -5", {}, 2, 7, "TTL"},
      {"cache", {"success"}, 3, 1, "'success' takes 1 to 3 arguments"},
      {"cache", {"success x"}, 3, 9, "capacity"},
      {"cache", {"success 10 0"}, 3, 12, "TTL"},
      {"cache", {"denial 10 20 -1"}, 3, 14, "min TTL"},
      {"cache", {"denial 1 2 3 4"}, 3, 14, "takes 1 to 3"},
      {"cache", {"servfail 6m"}, 3, 10, "not permitted"},
      {"cache", {"servfail 5"}, 3, 10, "servfail"},
      {"cache", {"servfail"}, 3, 1, "takes exactly 1"},
      {"cache", {"disable"}, 3, 1, "takes at least 1"},
      {"cache", {"disable both"}, 3, 9, "'success' or 'denial'"},
      {"cache", {"keepttl now"}, 3, 9, "takes no arguments"},
      {"cache", {"prefetch"}, 3, 1, "'prefetch' takes 1 to 3 arguments"},
      {"cache", {"prefetch 1 2 3 4"}, 3, 16, "takes 1 to 3"},
      {"cache", {"prefetch -1"}, 3, 10, "prefetch amount"},
      {"cache", {"prefetch x"}, 3, 10, "prefetch amount"},
      {"cache", {"prefetch 10 10%"}, 3, 13, "prefetch duration"},
      {"cache", {"prefetch 10 -1m"}, 3, 13, "must not be negative"},
      {"cache", {"prefetch 10 1m 10"}, 3, 16, "must end with '%'"},
      {"cache", {"prefetch 10 1m 9%"}, 3, 16, "prefetch percentage must be an integer from 10 to 90"},
      {"cache", {"prefetch 10 1m 91%"}, 3, 16, "from 10 to 90"},
      {"cache", {"prefetch 10 1m x%"}, 3, 16, "prefetch percentage"},
      {"cache", {"serve_stale 1h verify now"}, 3, 23, "'serve_stale' takes at most 2 arguments"},
      {"cache", {"serve_stale 3600"}, 3, 13, "serve_stale duration"},
      {"cache", {"serve_stale -1h"}, 3, 13, "must not be negative"},
      {"cache", {"serve_stale 1h later"}, 3, 16, "'immediate' or 'verify', got 'later'"},
      {"cache", {"sucess 10"}, 3, 1, "unknown option 'sucess', did you mean 'success'?"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.head);
    CAPTURE(c.message);
    Setup s(directive(c.head, c.block));
    auto cfg = parseCache(s.ctx);
    REQUIRE_FALSE(cfg.ok());
    CHECK(cfg.error().pos.line == c.line);
    CHECK(cfg.error().pos.col == c.col);
    CHECK(cfg.error().message.find("cache") != std::string::npos);
    CHECK(cfg.error().message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("parseCache: once per block") {
  conf::Directive first = directive("cache");
  conf::Directive second = directive("cache 10");
  SetupContext ctx;
  ctx.zones = {"."};
  ctx.stanzas = {&first, &second};
  auto cfg = parseCache(ctx);
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.error().message.find("only once") != std::string::npos);
}

}  // namespace
}  // namespace moat::plugins::cache
