#include "dns/name.hpp"

#include <doctest/doctest.h>

#include "dns/zone_set.hpp"

using namespace moat::dns;

TEST_CASE("names round-trip between text and wire") {
  for (const char* text : {"example.org.", ".", "a.b.c.d.", "x\\.y.org."}) {
    CAPTURE(text);
    auto wire = nameFromText(text);
    REQUIRE(wire);
    CHECK(nameToText(*wire) == text);
  }
  CHECK(nameToText(*nameFromText("example.org")) == "example.org.");
  CHECK(nameToText(*nameFromText("a\\032b.org.")) == "a\\032b.org.");
}

TEST_CASE("bad names are rejected") {
  CHECK_FALSE(nameFromText("a..b"));
  CHECK_FALSE(nameFromText(std::string(64, 'a') + ".org"));
  std::string longName;
  for (int i = 0; i < 5; ++i) longName += std::string(60, 'a') + ".";
  CHECK_FALSE(nameFromText(longName));
}

TEST_CASE("isSubdomain compares whole labels") {
  auto w = [](const char* t) { return *nameFromText(t); };
  CHECK(isSubdomain(w("a.example.org."), w("example.org.")));
  CHECK(isSubdomain(w("example.org."), w("example.org.")));
  CHECK(isSubdomain(w("example.org."), w(".")));
  CHECK_FALSE(isSubdomain(w("badexample.org."), w("example.org.")));
  CHECK_FALSE(isSubdomain(w("org."), w("example.org.")));
}

TEST_CASE("ZoneSet picks the longest zone") {
  ZoneSet zones;
  int root = zones.add(".");
  int org = zones.add("Example.ORG");
  int sub = zones.add("internal.example.org.");
  CHECK(zones.add("example.org.") == org);
  auto w = [](const char* t) { return *nameFromText(t); };
  CHECK(zones.longestMatch(w("a.internal.example.org.")) == sub);
  CHECK(zones.longestMatch(w("www.example.org.")) == org);
  CHECK(zones.longestMatch(w("example.com.")) == root);
  ZoneSet noRoot;
  noRoot.add("example.org.");
  CHECK(noRoot.longestMatch(w("example.com.")) == ZoneSet::kNone);
  CHECK(zones.text(org) == "example.org.");
}
