// The egress rule on its own: scopes narrowed by block zones, and which names may leave.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/name.hpp"
#include "plugins/egress.hpp"

namespace moat::plugins {
namespace {

dns::WireName wire(const std::string& text) { return dns::lowercased(*dns::nameFromText(text)); }

std::vector<std::string> scopeTexts(const EgressScope& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.zones().size(); ++i) out.push_back(s.zones().text(static_cast<int>(i)));
  return out;
}

PrivateZones zones(std::initializer_list<const char*> names) {
  PrivateZones z;
  for (const char* n : names) z.add(PrivateZone{n});
  return z;
}

TEST_CASE("egress: a forward's scope is FROM narrowed by the block's zones") {
  using V = std::vector<std::string>;
  CHECK(scopeTexts(EgressScope::narrowed(".", V{"."})) == V{"."});
  CHECK(scopeTexts(EgressScope::narrowed(".", V{})) == V{"."});
  CHECK(scopeTexts(EgressScope::narrowed(".", V{"internal.company."})) == V{"internal.company."});
  CHECK(scopeTexts(EgressScope::narrowed("Internal.Company", V{"."})) == V{"internal.company."});
  CHECK(scopeTexts(EgressScope::narrowed("company.", V{"a.company.", "b.company.", "example."})) ==
        V{"a.company.", "b.company."});
  CHECK(scopeTexts(EgressScope::narrowed("a.company.", V{"company."})) == V{"a.company."});
  CHECK(scopeTexts(EgressScope::narrowed("example.org.", V{"example.net."})).empty());
}

TEST_CASE("egress: private names leave only through a scope at or below their zone") {
  const PrivateZones z = zones({"internal.company.", "local.", "corp.local."});
  const auto root = EgressScope::narrowed(".", std::vector<std::string>{"."});
  const auto company = EgressScope::narrowed("internal.company.", std::vector<std::string>{"."});
  const auto deeper = EgressScope::narrowed("eu.internal.company.", std::vector<std::string>{"."});
  const auto local = EgressScope::narrowed("local.", std::vector<std::string>{"."});

  auto blocked = [&](const EgressScope& s, const std::string& name) {
    const PrivateZone* p = egressBlockedBy(&z, s, wire(name));
    return p == nullptr ? std::string() : p->name;
  };
  CHECK(blocked(root, "www.example.com.").empty());
  CHECK(blocked(root, "api.internal.company.") == "internal.company.");
  CHECK(blocked(root, "API.INTERNAL.company.") == "internal.company.");
  CHECK(blocked(root, "internal.company.") == "internal.company.");
  CHECK(blocked(root, "company.").empty());  // the parent is not private
  CHECK(blocked(company, "api.internal.company.").empty());
  CHECK(blocked(company, "internal.company.").empty());
  CHECK(blocked(deeper, "x.eu.internal.company.").empty());
  // A scope outside the name never sends it (forward would not match it either).
  CHECK(blocked(deeper, "api.internal.company.") == "internal.company.");
  CHECK(blocked(local, "printer.local.").empty());
  CHECK(blocked(local, "dc1.corp.local.") == "corp.local.");  // the deepest private zone rules
  CHECK(egressBlockedBy(nullptr, root, wire("api.internal.company.")) == nullptr);
}

TEST_CASE("egress: a zone added again replaces the first (explicit over built-in)") {
  PrivateZones z;
  z.add(PrivateZone{"local.", 30, false, true});
  z.add(PrivateZone{"Local", 5, true, false});
  REQUIRE(z.zones().size() == 1);
  CHECK(z.zones()[0].name == "local.");
  CHECK(z.zones()[0].negttl == 5);
  CHECK(z.zones()[0].refuse);
  CHECK_FALSE(z.zones()[0].builtin);
  CHECK(z.find(wire("a.b.LOCAL.")) == &z.zones()[0]);
  CHECK(z.find(wire("localhost.")) == nullptr);
}

}  // namespace
}  // namespace moat::plugins
