// The query path must not allocate (handler.hpp): every outcome of an acl (allow, block, filter,
// drop, across rules, both address families) with the reply buffer warmed first, as the
// worker's query pool keeps it.
#include <doctest/doctest.h>

#include "plugins/acl/test_support.hpp"
#include "tests/support/alloc_counter.hpp"

namespace moat::plugins::acl {
namespace {

using moat::testing::allocations;
using moat::testing::counting;
namespace rr = dns::rrtype;

TEST_CASE("acl: onQuery does not allocate") {
  auto b = testing::build(R"(. {
  acl example.org {
    allow net 192.168.1.0/24 2001:db8::/32
    block type A AAAA net 192.168.0.0/16
    filter type CAA net 10.0.0.0/8
    drop net 127.0.0.3
  }
  acl {
    filter type TXT
  }
})", {"."}, 2);
  struct Case {
    const char* name;
    uint16_t type;
    const char* client;
    Verdict verdict;
  };
  const Case cases[] = {
      {"www.example.org.", rr::A, "192.168.1.1", Verdict::Next},
      {"www.example.org.", rr::A, "192.168.2.1", Verdict::Answered},
      {"www.example.org.", 257, "10.0.0.1", Verdict::Answered},
      {"www.example.org.", rr::A, "127.0.0.3", Verdict::Drop},
      {"www.example.org.", rr::A, "2001:db8::1", Verdict::Next},
      {"www.example.net.", rr::TXT, "::1", Verdict::Answered},
      {"www.example.net.", rr::A, "::1", Verdict::Next},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.client);
    for (unsigned worker : {0u, 1u, 7u}) {  // two workers and the spare slot
      dns::Query q;
      moat::testing::QuerySpec spec;
      spec.name = c.name;
      spec.type = c.type;
      spec.edns = 1232;
      moat::testing::loadQuery(q, moat::testing::makeQuery(spec), dns::Proto::Udp, c.client);
      q.worker = worker;
      q.reply.reserve(512);
      allocations = 0;
      counting = true;
      Verdict v = b->handler->onQuery(q);
      counting = false;
      CHECK(v == c.verdict);
      CHECK(allocations == 0);
    }
  }
}

}  // namespace
}  // namespace moat::plugins::acl
