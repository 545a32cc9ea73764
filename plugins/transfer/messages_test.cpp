#include "plugins/transfer/messages.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "plugins/transfer/test_support.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::transfer {
namespace {

using namespace moat::plugins::transfer::testing;

struct Transferred {
  std::vector<std::vector<uint8_t>> messages;  // the last one is the reply
};

Transferred transfer(const file::Zone& zone, size_t limit) {
  dns::Query q;
  moat::testing::QuerySpec spec;
  spec.name = "Example.ORG.";
  spec.type = dns::rrtype::AXFR;
  spec.id = 0xBEEF;
  moat::testing::loadQuery(q, moat::testing::makeQuery(spec), dns::Proto::Tcp);
  Transferred out;
  TransferWriter w(q.reply, q.requestBytes(), q.view, limit, [&](std::span<const uint8_t> m) {
    out.messages.emplace_back(m.begin(), m.end());
    return true;
  });
  REQUIRE(writeZone(w, zone));
  out.messages.push_back(q.reply);
  CHECK(w.messages() == out.messages.size());
  CHECK(w.records() == zone.recordCount() + 1);  // the SOA twice
  return out;
}

TEST_CASE("transfer messages: SOA first and last, every record once, each message a reply of its own") {
  auto zone = exampleZone(2024010101, 200);
  const auto t = transfer(*zone, 1024);
  REQUIRE(t.messages.size() > 5);

  std::vector<std::string> records;
  for (const auto& m : t.messages) {
    CHECK(m.size() <= 1024);
    const auto reply = moat::testing::decode(m);
    REQUIRE(reply.ok);
    CHECK(reply.id == 0xBEEF);
    CHECK(reply.qr);
    CHECK(reply.aa);
    CHECK(reply.rcode == 0);
    CHECK(dns::get16(m.data() + 4) == 1);  // the question, in every message
    CHECK(m[dns::kHeaderSize] == 7);       // as the client spelled it
    CHECK(m[dns::kHeaderSize + 1] == 'E');
    CHECK_FALSE(reply.answer.empty());
    records.insert(records.end(), reply.answer.begin(), reply.answer.end());
  }
  REQUIRE(records.size() == 1 + 2 + 200 + 1);  // SOA, NS, A, SOA
  CHECK(records.front().find(" SOA ") != std::string::npos);
  CHECK(records.back() == records.front());
  for (size_t i = 1; i + 1 < records.size(); ++i) CHECK(records[i].find(" SOA ") == std::string::npos);
  std::sort(records.begin() + 1, records.end() - 1);
  CHECK(std::adjacent_find(records.begin() + 1, records.end() - 1) == records.end() - 1);
}

TEST_CASE("transfer messages: a small zone is one message, a record over the limit travels alone") {
  auto zone = exampleZone(1, 3);
  CHECK(transfer(*zone, kMessageLimit).messages.size() == 1);
  // A limit below one record: every record its own message.
  CHECK(transfer(*zone, 20).messages.size() == zone->recordCount() + 1);
}

TEST_CASE("transfer messages: a failed send stops the transfer") {
  auto zone = exampleZone(1, 100);
  dns::Query q;
  moat::testing::QuerySpec spec;
  spec.name = "example.org.";
  spec.type = dns::rrtype::AXFR;
  moat::testing::loadQuery(q, moat::testing::makeQuery(spec), dns::Proto::Tcp);
  int sent = 0;
  TransferWriter w(q.reply, q.requestBytes(), q.view, 512, [&](std::span<const uint8_t>) { return ++sent < 2; });
  CHECK_FALSE(writeZone(w, *zone));
  CHECK(sent == 2);
}

}  // namespace
}  // namespace moat::plugins::transfer
