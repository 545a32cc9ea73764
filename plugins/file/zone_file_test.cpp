// Loading zone files: ldns parses the records; these check what the loop around it adds
// ($INCLUDE, errors at file:line, records outside the origin, the serial shortcut) and the
// canonical ordering the index answers from.
#include <doctest/doctest.h>

#include "dns/name.hpp"
#include "plugins/file/test_support.hpp"
#include "plugins/file/zone_file.hpp"

using namespace moat::plugins::file;
using namespace moat::plugins::file::testing;

namespace {

moat::dns::WireName wire(const char* text) { return moat::dns::lowercased(*moat::dns::nameFromText(text)); }

const char* const kSoa = "@ IN SOA ns hostmaster 7 7200 3600 1209600 300\n";

}  // namespace

TEST_CASE("names sort in DNSSEC canonical order, and descendants are found by prefix") {
  // RFC 4034 §6.1's example, shuffled.
  const std::string text = std::string("$ORIGIN example.\n") + kSoa +
                           "z.example. IN A 192.0.2.1\n"
                           "\\200.z.example. IN A 192.0.2.1\n"
                           "a.example. IN A 192.0.2.1\n"
                           "*.z.example. IN A 192.0.2.1\n"
                           "yljkjljk.a.example. IN A 192.0.2.1\n"
                           "Z.a.example. IN A 192.0.2.1\n"
                           "zABC.a.EXAMPLE. IN A 192.0.2.1\n"
                           "\\001.z.example. IN A 192.0.2.1\n";
  ZoneLoad load = loadZoneText(text, "db", "example.");
  REQUIRE_MESSAGE(load.zone, load.error);
  const Zone& zone = *load.zone;
  std::vector<std::string> order;
  for (const Node* n = zone.previous(wire("\\255.z.example.")); n != nullptr; n = zone.previous(zone.name(*n))) {
    order.insert(order.begin(), moat::dns::nameToText(zone.name(*n)));
  }
  CHECK(order == std::vector<std::string>{"example.", "a.example.", "yljkjljk.a.example.", "z.a.example.",
                                          "zabc.a.example.", "z.example.", "\\001.z.example.",
                                          "*.z.example.", "\\200.z.example."});
  CHECK(zone.hasDescendant(wire("a.example.")));
  CHECK_FALSE(zone.hasDescendant(wire("zabc.a.example.")));
  CHECK_FALSE(zone.hasDescendant(wire("b.example.")));
  CHECK(zone.find(wire("ZABC.a.example.")) != nullptr);
  CHECK(zone.find(wire("b.example.")) == nullptr);
  CHECK(zone.serial() == 7);
}

TEST_CASE("$INCLUDE reads a file relative to the including one, with its own origin, then the old origin is back") {
  ScratchDir dir;
  dir.write("hosts.inc", "web IN A 192.0.2.5\n");
  const std::string path = dir.write("db", std::string("$ORIGIN example.org.\n") + kSoa +
                                               "$INCLUDE hosts.inc lab\n"
                                               "www IN A 192.0.2.1\n");
  ZoneLoad load = loadZoneFile(path, "example.org.");
  REQUIRE_MESSAGE(load.zone, load.error);
  CHECK(load.zone->find(wire("web.lab.example.org.")) != nullptr);
  CHECK(load.zone->find(wire("www.example.org.")) != nullptr);

  const std::string missing = dir.write("db2", std::string(kSoa) + "\n$INCLUDE nothere.inc\n");
  ZoneLoad broken = loadZoneFile(missing, "example.org.");
  CHECK_FALSE(broken.zone);
  CHECK(broken.error == missing + ":3: cannot read $INCLUDE file " + dir.path() + "/nothere.inc");

  const std::string self = dir.write("db3", std::string(kSoa) + "$INCLUDE db3\n");
  CHECK(loadZoneFile(self, "example.org.").error.find("too deeply nested $INCLUDE") != std::string::npos);
}

TEST_CASE("a record that does not parse is reported at its file and line") {
  ZoneLoad load = loadZoneText(std::string(kSoa) + "www IN A 192.0.2.1\n\nbad IN MX mail\n", "db.example", "example.org.");
  CHECK_FALSE(load.zone);
  CHECK(load.error.rfind("db.example:4: ", 0) == 0);

  ZoneLoad noSoa = loadZoneText("www IN A 192.0.2.1\n", "db.example", "example.org.");
  CHECK(noSoa.error == "db.example: no SOA record for origin example.org.");

  ZoneLoad nsec3 = loadZoneText(std::string(kSoa) + "@ IN NSEC3PARAM 1 0 0 -\n", "db.example", "example.org.");
  CHECK(nsec3.error.find("NSEC3 zones are not supported") != std::string::npos);
}

TEST_CASE("records outside the origin are left out and counted, the same record twice is one") {
  ZoneLoad load = loadZoneText(std::string(kSoa) +
                                   "www IN A 192.0.2.1\nwww IN A 192.0.2.1\nwww.example.net. IN A 192.0.2.2\n",
                               "db", "example.org.");
  REQUIRE(load.zone);
  CHECK(load.outOfZone == 1);
  CHECK(load.zone->find(wire("www.example.net.")) == nullptr);
  const Node* www = load.zone->find(wire("www.example.org."));
  REQUIRE(www != nullptr);
  CHECK(load.zone->rrset(*www, moat::dns::rrtype::A)->count == 1);
}

TEST_CASE("with the serial already loaded, the load stops at the SOA") {
  ZoneLoad same = loadZoneText(std::string(kSoa) + "www IN A 192.0.2.1\n", "db", "example.org.", 7);
  CHECK(same.unchanged);
  CHECK_FALSE(same.zone);
  ZoneLoad changed = loadZoneText(std::string(kSoa) + "www IN A 192.0.2.1\n", "db", "example.org.", 6);
  CHECK(changed.zone);
}
