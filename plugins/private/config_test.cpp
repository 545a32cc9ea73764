// `private` stanzas and built-ins -> PrivateZones: what is private, with which options, and
// the positioned errors.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "plugins/private/private.hpp"
#include "plugins/private/test_support.hpp"

namespace moat::plugins::private_zone {
namespace {

using testing::errorOf;
using testing::zoneOf;
using testing::zonesOf;

TEST_CASE("built-ins: present with no directive, each with a reason") {
  auto zones = zonesOf(". {\n  whoami\n}\n");
  REQUIRE(zones->zones().size() == builtinZones().size());
  for (const BuiltinZone& b : builtinZones()) {
    CAPTURE(b.name);
    const PrivateZone* z = zoneOf(*zones, b.name);
    REQUIRE(z != nullptr);
    CHECK(z->name == b.name);
    CHECK(z->builtin);
    CHECK_FALSE(z->refuse);
    CHECK(z->negttl == 30);
    CHECK_FALSE(z->why.empty());
  }
}

TEST_CASE("built-ins: the zones DESIGN.md §4 lists, and not test. or example.") {
  std::set<std::string> names;
  for (const BuiltinZone& b : builtinZones()) names.emplace(b.name);
  for (const char* want :
       {"localhost.", "invalid.", "local.", "home.arpa.", "internal.", "10.in-addr.arpa.",
        "16.172.in-addr.arpa.", "24.172.in-addr.arpa.", "31.172.in-addr.arpa.",
        "168.192.in-addr.arpa.", "254.169.in-addr.arpa.", "127.in-addr.arpa.", "d.f.ip6.arpa.",
        "8.e.f.ip6.arpa.", "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."}) {
    CAPTURE(want);
    CHECK(names.count(want) == 1);
  }
  for (const char* not_private : {"test.", "example.", "15.172.in-addr.arpa.", "32.172.in-addr.arpa.",
                                  "c.f.ip6.arpa.", "c.e.f.ip6.arpa.", "arpa.", "ip6.arpa."}) {
    CAPTURE(not_private);
    CHECK(names.count(not_private) == 0);
  }
}

TEST_CASE("built-ins: names under them are private, lookalikes are not") {
  auto zones = zonesOf(". {\n  whoami\n}\n");
  CHECK(zoneOf(*zones, "cluster.local.")->name == "local.");
  CHECK(zoneOf(*zones, "a.b.c.CLUSTER.Local.")->name == "local.");
  CHECK(zoneOf(*zones, "4.3.2.10.in-addr.arpa.")->name == "10.in-addr.arpa.");
  CHECK(zoneOf(*zones, "1.1.20.172.in-addr.arpa.")->name == "20.172.in-addr.arpa.");
  CHECK(zoneOf(*zones, "corp.internal.")->name == "internal.");
  CHECK(zoneOf(*zones, "printer.home.arpa.")->name == "home.arpa.");
  CHECK(zoneOf(*zones, "notlocal.") == nullptr);
  CHECK(zoneOf(*zones, "local.example.org.") == nullptr);
  CHECK(zoneOf(*zones, "1.1.32.172.in-addr.arpa.") == nullptr);
  CHECK(zoneOf(*zones, "8.8.8.8.in-addr.arpa.") == nullptr);
  CHECK(zoneOf(*zones, "internal.company.") == nullptr);
  CHECK(zoneOf(*zones, ".") == nullptr);
}

TEST_CASE("private off removes the built-ins, and only those") {
  auto zones = zonesOf(". {\n  private off\n  private internal.company\n}\n");
  REQUIRE(zones->zones().size() == 1);
  CHECK(zones->zones()[0].name == "internal.company.");
  CHECK(zoneOf(*zones, "localhost.") == nullptr);
  CHECK(zoneOf(*zones, "cluster.local.") == nullptr);
  CHECK(zoneOf(*zones, "api.internal.company.") != nullptr);
}

TEST_CASE("private off in any block turns the built-ins off for all of them") {
  auto zones = zonesOf(". {\n  whoami\n}\nexample.org {\n  private off\n}\n");
  CHECK(zones->empty());
}

TEST_CASE("an explicit zone: default options, its position, below a built-in") {
  auto zones = zonesOf(". {\n  private Internal.Company corp.local\n}\n");
  const PrivateZone* z = zoneOf(*zones, "api.internal.company.");
  REQUIRE(z != nullptr);
  CHECK(z->name == "internal.company.");
  CHECK(z->negttl == 30);
  CHECK_FALSE(z->refuse);
  CHECK_FALSE(z->builtin);
  CHECK(z->pos.str() == "Corefile:2:3");
  // corp.local is deeper than the built-in local., so it is the longest match.
  CHECK(zoneOf(*zones, "dc1.corp.local.")->name == "corp.local.");
  CHECK(zoneOf(*zones, "other.local.")->name == "local.");
}

TEST_CASE("negttl and refuse parse, and apply to every zone of the stanza") {
  auto zones = zonesOf(". {\n  private a.example b.example {\n    negttl 300\n    refuse\n  }\n"
                       "  private c.example { negttl 0 }\n}\n");
  for (const char* name : {"x.a.example.", "b.example."}) {
    CAPTURE(name);
    const PrivateZone* z = zoneOf(*zones, name);
    REQUIRE(z != nullptr);
    CHECK(z->negttl == 300);
    CHECK(z->refuse);
  }
  const PrivateZone* c = zoneOf(*zones, "c.example.");
  REQUIRE(c != nullptr);
  CHECK(c->negttl == 0);
  CHECK_FALSE(c->refuse);
}

TEST_CASE("an explicit stanza overrides a built-in's options") {
  auto zones = zonesOf(". {\n  private local {\n    negttl 5\n    refuse\n  }\n}\n");
  CHECK(zones->zones().size() == builtinZones().size());  // replaced, not added
  const PrivateZone* z = zoneOf(*zones, "cluster.local.");
  REQUIRE(z != nullptr);
  CHECK(z->name == "local.");
  CHECK(z->negttl == 5);
  CHECK(z->refuse);
  CHECK_FALSE(z->builtin);
  CHECK(z->pos.str() == "Corefile:2:3");
}

TEST_CASE("a CIDR argument declares its reverse zones") {
  auto zones = zonesOf(". {\n  private 100.64.0.0/10\n}\n");
  const PrivateZone* z = zoneOf(*zones, "1.0.64.100.in-addr.arpa.");
  REQUIRE(z != nullptr);
  CHECK(z->name == "64.100.in-addr.arpa.");
  CHECK(zoneOf(*zones, "1.0.127.100.in-addr.arpa.")->name == "127.100.in-addr.arpa.");
  CHECK(zoneOf(*zones, "1.0.128.100.in-addr.arpa.") == nullptr);
}

TEST_CASE("bare private declares its block's zones") {
  auto zones = zonesOf("corp.example other.example:1053 {\n  private\n}\n");
  const PrivateZone* z = zoneOf(*zones, "host.corp.example.");
  REQUIRE(z != nullptr);
  CHECK(z->name == "corp.example.");
  CHECK(z->pos.str() == "Corefile:2:3");
  CHECK(zoneOf(*zones, "other.example.") != nullptr);
}

TEST_CASE("bare private in a block that lists one zone on two ports declares it once") {
  auto zones = zonesOf("corp.example:53 corp.example:1053 {\n  private\n}\n");
  CHECK(zoneOf(*zones, "corp.example.") != nullptr);
}

TEST_CASE("bare private in a root block is an error") {
  CHECK(errorOf(". {\n  private\n}\n") ==
        "Corefile:2:3: private: a bare 'private' in a root block would make every name private; "
        "name the zones");
  CHECK(errorOf("example.org . {\n  private\n}\n").find("Corefile:2:3: private: a bare") == 0);
}

TEST_CASE("the root zone cannot be private") {
  CHECK(errorOf(". {\n  private example.org .\n}\n") ==
        "Corefile:2:23: private: the root zone cannot be private (no name could ever leave)");
}

TEST_CASE("a zone declared twice: error at the second, naming the first") {
  CHECK(errorOf(". {\n  private a.example\n  private b.example A.example.\n}\n") ==
        "Corefile:3:21: private: zone a.example. is already private (at Corefile:2:3)");
  // Across blocks too: private zones hold for the whole configuration.
  CHECK(errorOf("a.example {\n  private\n}\n. {\n  private a.example\n}\n") ==
        "Corefile:5:11: private: zone a.example. is already private (at Corefile:2:3)");
}

TEST_CASE("off must stand alone") {
  CHECK(errorOf(". {\n  private off a.example\n}\n") ==
        "Corefile:2:11: private: 'off' must be the only argument");
  CHECK(errorOf(". {\n  private a.example off\n}\n") ==
        "Corefile:2:21: private: 'off' must be the only argument");
  CHECK(errorOf(". {\n  private off {\n    negttl 5\n  }\n}\n") ==
        "Corefile:2:11: private: 'off' takes no options");
}

TEST_CASE("option errors are positioned") {
  CHECK(errorOf(". {\n  private a.example {\n    negtll 5\n  }\n}\n") ==
        "Corefile:3:5: private: unknown option 'negtll', did you mean 'negttl'?");
  CHECK(errorOf(". {\n  private a.example {\n    refuse now\n  }\n}\n").find("Corefile:3:12: private:") == 0);
  CHECK(errorOf(". {\n  private a.example {\n    negttl\n  }\n}\n").find("Corefile:3:5: private:") == 0);
  std::string range = errorOf(". {\n  private a.example {\n    negttl 86401\n  }\n}\n");
  CHECK(range.find("Corefile:3:12: private:") == 0);
  CHECK(range.find("negttl") != std::string::npos);
  CHECK(errorOf(". {\n  private a.example {\n    negttl -1\n  }\n}\n").find("Corefile:3:12:") == 0);
}

TEST_CASE("a malformed zone name is an error at the argument") {
  std::string e = errorOf(". {\n  private a..example\n}\n");
  CHECK(e.find("Corefile:2:11:") == 0);
}

TEST_CASE("README: every corefile example parses and builds its private zones") {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/plugins/private/README.md");
  REQUIRE(in.good());
  std::vector<std::string> examples;
  std::string line, current;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line == "~~~ corefile") {
      inside = true;
      current.clear();
    } else if (inside && line == "~~~") {
      inside = false;
      examples.push_back(current);
    } else if (inside) {
      current += line + "\n";
    }
  }
  CHECK(examples.size() == 4);
  for (const std::string& example : examples) {
    CAPTURE(example);
    auto zones = zonesOf(example);  // REQUIREs a clean build
    const bool off = example.find("private off") != std::string::npos;
    CHECK(zones->empty() == off);
  }
}

}  // namespace
}  // namespace moat::plugins::private_zone
