// The in-place edits of a query's OPT (rewrite's edns0 rules) and the removals from a reply's.
#include "dns/edns_option.hpp"

#include <doctest/doctest.h>

#include <memory>

#include "dns/reply_fit.hpp"
#include "tests/support/dns_test_util.hpp"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // designated QuerySpec fields

namespace moat::dns {
namespace {

using OptionList = std::vector<std::pair<uint16_t, std::vector<uint8_t>>>;

OptionList optionsOf(const Query& q) {
  const auto r = testing::decode(q.request.data(), q.requestLen);
  REQUIRE(r.ok);
  return r.ednsOptions;
}

TEST_CASE("query OPT edits: add an OPT, append, replace and remove options, the view kept in step") {
  auto q = std::make_unique<Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "www.example.org."}));
  REQUIRE_FALSE(q->view.edns.present);
  REQUIRE(addQueryOpt(*q, 4096));
  CHECK_FALSE(addQueryOpt(*q, 4096));  // one OPT only
  CHECK(q->view.edns.present);
  CHECK(q->view.udpLimit() == 4096);
  const std::array<uint8_t, 3> abc{'a', 'b', 'c'};
  REQUIRE(appendQueryOption(*q, 0xffee, abc));
  REQUIRE(appendQueryOption(*q, 3, {}));
  REQUIRE(appendQueryOption(*q, 0xffee, abc));
  CHECK(optionsOf(*q) == OptionList{{0xffee, {'a', 'b', 'c'}}, {3, {}}, {0xffee, {'a', 'b', 'c'}}});
  const size_t at = findQueryOption(*q, 3);
  REQUIRE(at != 0);
  const std::array<uint8_t, 2> xy{'x', 'y'};
  REQUIRE(setQueryOptionData(*q, at, xy));
  CHECK(optionsOf(*q) == OptionList{{0xffee, {'a', 'b', 'c'}}, {3, {'x', 'y'}}, {0xffee, {'a', 'b', 'c'}}});
  CHECK(removeQueryOptions(*q, 0xffee) == 2);
  CHECK(findQueryOption(*q, 0xffee) == 0);
  CHECK(optionsOf(*q) == OptionList{{3, {'x', 'y'}}});
  // What the view says is what a fresh parse finds.
  QueryView fresh;
  REQUIRE(parseQuery(q->requestBytes(), fresh) == ParseStatus::Ok);
  CHECK(fresh.edns.length == q->view.edns.length);
  CHECK(fresh.edns.offset == q->view.edns.offset);
  removeQueryOpt(*q);
  CHECK_FALSE(q->view.edns.present);
  REQUIRE(parseQuery(q->requestBytes(), fresh) == ParseStatus::Ok);
  CHECK_FALSE(fresh.edns.present);
  CHECK(q->requestLen == testing::makeQuery({.name = "www.example.org."}).size());
}

TEST_CASE("query OPT edits refuse what would not fit the request buffer, changing nothing") {
  auto q = std::make_unique<Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "www.example.org.", .edns = 1232}));
  const std::vector<uint8_t> big(kMaxRequest, 7);
  const uint16_t before = q->requestLen;
  CHECK_FALSE(appendQueryOption(*q, 65001, big));
  CHECK(q->requestLen == before);
  CHECK(optionsOf(*q).empty());
}

TEST_CASE("reply OPT: options of one code removed, the OPT itself removed") {
  auto q = std::make_unique<Query>();
  testing::loadQuery(*q, testing::makeQuery({.name = "www.example.org.", .edns = 1232}));
  std::vector<uint8_t> reply(q->request.begin(), q->request.begin() + q->view.edns.offset);
  reply[2] |= 0x80;
  put16(&reply[10], 0);
  finalizeReply(reply, q->view, Proto::Udp);
  const std::array<uint8_t, 1> one{1};
  REQUIRE(putReplyOption(reply, 8, one));
  REQUIRE(putReplyOption(reply, 3, one));
  CHECK(removeReplyOptions(reply, 8) == 5);
  CHECK(removeReplyOptions(reply, 8) == 0);
  auto r = testing::decode(reply);
  REQUIRE(r.ok);
  CHECK(r.ednsOptions == OptionList{{3, {1}}});
  REQUIRE(removeReplyOpt(reply));
  r = testing::decode(reply);
  REQUIRE(r.ok);
  CHECK_FALSE(r.hasOpt);
}

}  // namespace
}  // namespace moat::dns
