// coredns_acl_* as CoreDNS exports them: blocked, filtered and dropped per rule zone, allowed per
// server; every series labelled with the block's server and view; summed over workers; a series
// appears once counted.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "plugins/acl/test_support.hpp"

namespace moat::plugins::acl {
namespace {

using testing::Ask;
using testing::ask;
using testing::build;

const MetricSample* find(const std::vector<MetricSample>& samples, std::string_view family,
                         std::string_view zone = {}) {
  for (const MetricSample& s : samples) {
    if (s.family != family) continue;
    if (zone.empty()) return &s;
    for (const auto& [k, v] : s.labels) {
      if (k == "zone" && v == zone) return &s;
    }
  }
  return nullptr;
}

TEST_CASE("metrics: each action counted in the zone of the rule that decided, labelled server, zone, view") {
  auto b = build(R"(example.org {
  acl a.example.org {
    block net 127.0.0.2
    filter net 127.0.0.3
    drop net 127.0.0.4
  }
  acl {
    block net 127.0.0.5
  }
})", {"example.org."}, 2, "office");
  Acl& h = *b->handler;
  std::vector<MetricSample> none;
  h.collect(none);
  CHECK(none.empty());  // nothing counted yet: no series

  ask(h, {.name = "a.example.org.", .client = "127.0.0.2", .worker = 0});
  ask(h, {.name = "x.a.example.org.", .client = "127.0.0.2", .worker = 1});
  ask(h, {.name = "a.example.org.", .client = "127.0.0.2", .worker = 9});  // the spare slot
  ask(h, {.name = "a.example.org.", .client = "127.0.0.3"});
  ask(h, {.name = "a.example.org.", .client = "127.0.0.4"});
  ask(h, {.name = "b.example.org.", .client = "127.0.0.5"});
  ask(h, {.name = "b.example.org.", .client = "127.0.0.1"});
  ask(h, {.name = "a.example.org.", .client = "127.0.0.1", .worker = 1});

  CHECK(h.decided(Action::Block, "a.example.org.") == 3);
  CHECK(h.decided(Action::Block, "example.org.") == 1);
  CHECK(h.decided(Action::Filter, "a.example.org.") == 1);
  CHECK(h.decided(Action::Drop, "a.example.org.") == 1);
  CHECK(h.allowed() == 2);

  std::vector<MetricSample> samples;
  h.collect(samples);
  CHECK(samples.size() == 5);
  const MetricSample* blocked = find(samples, "coredns_acl_blocked_requests_total", "a.example.org.");
  REQUIRE(blocked != nullptr);
  CHECK(blocked->value == 3);
  CHECK_FALSE(blocked->gauge);
  using Labels = std::vector<std::pair<std::string, std::string>>;
  CHECK(blocked->labels == Labels{{"server", "dns://:53"}, {"view", "office"}, {"zone", "a.example.org."}});
  const MetricSample* blockedParent = find(samples, "coredns_acl_blocked_requests_total", "example.org.");
  REQUIRE(blockedParent != nullptr);
  CHECK(blockedParent->value == 1);
  const MetricSample* filtered = find(samples, "coredns_acl_filtered_requests_total", "a.example.org.");
  REQUIRE(filtered != nullptr);
  CHECK(filtered->value == 1);
  const MetricSample* dropped = find(samples, "coredns_acl_dropped_requests_total", "a.example.org.");
  REQUIRE(dropped != nullptr);
  CHECK(dropped->value == 1);
  const MetricSample* allowed = find(samples, "coredns_acl_allowed_requests_total");
  REQUIRE(allowed != nullptr);
  CHECK(allowed->value == 2);
  CHECK(allowed->labels == Labels{{"server", "dns://:53"}, {"view", "office"}});
}

TEST_CASE("metrics: the view label is empty for a block without a view") {
  auto b = build(". {\n  acl {\n    allow\n  }\n}\n");
  ask(*b->handler, {});
  std::vector<MetricSample> samples;
  b->handler->collect(samples);
  REQUIRE(samples.size() == 1);
  CHECK(samples[0].labels == std::vector<std::pair<std::string, std::string>>{{"server", "dns://:53"}, {"view", ""}});
}

}  // namespace
}  // namespace moat::plugins::acl
