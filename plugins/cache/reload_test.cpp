// A reload builds new handlers while the old ones still serve: a cache whose configuration did
// not change takes over the running one's entries (shards.hpp), a changed one starts empty.
#include <doctest/doctest.h>

#include "plugins/cache/cache.hpp"
#include "plugins/cache/test_support.hpp"

namespace moat::plugins::cache {
namespace {

using testing::a;
using testing::directive;
using testing::Setup;
using dns::RCode;

// What one block's setup builds from `head` and `block` (one worker, as without loops).
std::shared_ptr<Handler> build(const char* head, std::initializer_list<std::string_view> block = {}) {
  Setup s(directive(head, block));
  auto h = setupCache(s.ctx);
  REQUIRE(h.ok());
  return *h;
}

// Asks `cache` for www.example.org./A; when it passes the query on, plays the upstream.
bool answered(Handler& cache, uint8_t last = 1) {
  auto q = testing::makeQuery({});
  if (cache.onQuery(*q) == Verdict::Answered) {
    cache.onReply(*q);
    return true;
  }
  testing::reply(static_cast<Cache&>(cache), *q, RCode::NoError, {a("www.example.org.", 300, last)});
  return false;
}

TEST_CASE("reload: a cache built again from the same stanza sees the running one's entries") {
  auto running = build("cache 300", {"success 2048"});
  CHECK_FALSE(answered(*running));  // stored by the running configuration

  // Serving options (serve_stale, prefetch, keepttl) do not change what is stored.
  auto rebuilt = build("cache 300", {"success 2048", "serve_stale", "prefetch 5"});
  CHECK(answered(*rebuilt));
  CHECK(static_cast<Cache&>(*rebuilt).stats().successEntries == 1);

  // Both serve the same entries while the old one finishes its queries.
  auto q = testing::makeQuery({.name = "new.example.org."});
  REQUIRE(rebuilt->onQuery(*q) == Verdict::Next);
  testing::reply(static_cast<Cache&>(*rebuilt), *q, RCode::NoError, {a("new.example.org.", 300)});
  auto seen = testing::makeQuery({.name = "new.example.org."});
  CHECK(running->onQuery(*seen) == Verdict::Answered);
  running->onReply(*seen);

  // The old one goes; the next reload takes the entries from the one that replaced it.
  running.reset();
  auto third = build("cache 300", {"success 2048"});
  CHECK(answered(*third));
}

TEST_CASE("reload: a changed cache starts empty") {
  auto running = build("cache 300", {"success 2048"});
  answered(*running);
  CHECK_FALSE(answered(*build("cache 300", {"success 4096"})));  // capacity
  CHECK_FALSE(answered(*build("cache 60", {"success 2048"})));   // TTL
  CHECK_FALSE(answered(*build("cache 300", {"success 2048 300 10"})));  // min TTL
  CHECK_FALSE(answered(*build("cache 300 example.org", {"success 2048"})));  // zones
  CHECK_FALSE(answered(*build("cache 300", {"success 2048", "servfail 0"})));
  CHECK_FALSE(answered(*build("cache 300", {"success 2048", "disable denial"})));
  CHECK(answered(*build("cache 300", {"success 2048"})));  // and the running one is still found
}

TEST_CASE("reload: a cache with nothing running, or another worker count, starts empty") {
  {
    auto gone = build("cache 300");
    answered(*gone);
  }
  CHECK_FALSE(answered(*build("cache 300")));

  CacheConfig c;
  c.zones = {"."};
  auto one = std::make_shared<Cache>(c, 1, steadyClock(), "id");
  answered(*one);
  auto two = std::make_shared<Cache>(c, 2, steadyClock(), "id");
  CHECK_FALSE(answered(*two));
  auto again = std::make_shared<Cache>(c, 2, steadyClock(), "id");  // the newest is remembered
  CHECK(answered(*again));
}

TEST_CASE("reload: blocks with another server label keep their own caches") {
  Setup a53(directive("cache 300"));
  conf::ServerBlock block;
  block.keys.push_back({"example.org:1053", conf::Pos{"Corefile", 1, 1}, false});
  Setup a1053(directive("cache 300"));
  a1053.ctx.block = &block;
  auto first = setupCache(a53.ctx);
  auto second = setupCache(a1053.ctx);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  answered(**first);
  CHECK_FALSE(answered(**second));
}

}  // namespace
}  // namespace moat::plugins::cache
