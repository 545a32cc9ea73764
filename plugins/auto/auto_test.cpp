// The auto handler driven scan by scan: zones appear with their files, reload when the serial
// moves, keep their data when the file breaks, and go with their files; queries outside ZONES
// and names no zone serves; what transfer sees; and the scanner thread on its own.
#include <doctest/doctest.h>

#include <filesystem>

#include "plugins/auto/test_support.hpp"
#include "tests/support/eventually.hpp"

using namespace moat::plugins::auto_zone;
using namespace moat::plugins::auto_zone::testing;
using moat::plugins::Handler;
using moat::plugins::HandlerPtr;
using moat::plugins::Verdict;
using Addresses = std::vector<std::string>;

namespace {

// Scans only when the test says so (reload 0: no thread).
constexpr std::string_view kManual = ". {\n  auto {\n    directory zones\n    reload 0\n  }\n}\n";

struct Fixture {
  ScratchDir dir;
  std::string zones = (std::filesystem::create_directory(dir.path() + "/zones"), dir.path() + "/zones");
  // Written beside and renamed into place, as an editor saves: a scan never sees half a file.
  void write(const std::string& name, const std::string& text) const {
    const std::string partial = dir.write("partial.tmp", text);
    std::filesystem::rename(partial, zones + "/" + name);
  }
  void remove(const std::string& name) const { std::filesystem::remove(zones + "/" + name); }
};

// A handler that answers everything, to sit after auto in a chain.
class Answering final : public Handler {
 public:
  Verdict onQuery(moat::dns::Query&) override { return Verdict::Answered; }
  std::string_view name() const override { return "whoami"; }
};

}  // namespace

TEST_CASE("the first scan happens at setup: every matching file is a zone, others are ignored") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1, "192.0.2.1"));
  f.write("db.example.net", zoneText("example.net.", 1, "192.0.2.2"));
  f.write("README", "not a zone");
  AutoServer server(f.dir, kManual);
  Auto& plugin = server.plugin();
  CHECK(server.warnings.empty());
  CHECK(plugin.servedOrigins() == std::vector<std::string>{"example.net.", "example.org."});
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"www.example.org. A 192.0.2.1"});
  CHECK(addresses(plugin, "WWW.Example.NET.") == Addresses{"www.example.net. A 192.0.2.2"});
  CHECK(addresses(plugin, "nope.example.org.") == Addresses{"NXDOMAIN"});
}

TEST_CASE("a new file's zone appears on the next scan, a vanished file's zone goes") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1));
  AutoServer server(f.dir, kManual);
  Auto& plugin = server.plugin();
  CHECK(addresses(plugin, "www.example.com.") == Addresses{"REFUSED"});  // auto is last: CoreDNS's REFUSED

  f.write("db.example.com", zoneText("example.com.", 7, "192.0.2.7"));
  ScanReport report = plugin.scan();
  CHECK(report.added == 1);
  CHECK(report.removed == 0);
  CHECK(addresses(plugin, "www.example.com.") == Addresses{"www.example.com. A 192.0.2.7"});

  f.remove("db.example.org");
  report = plugin.scan();
  CHECK(report.removed == 1);
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"REFUSED"});
  CHECK(plugin.servedOrigins() == std::vector<std::string>{"example.com."});

  // With a plugin after auto, a name no zone serves is that plugin's.
  const HandlerPtr next = std::make_shared<Answering>();
  const HandlerPtr self = *server.handler;
  const HandlerPtr chain[] = {self, next};
  plugin.peersReady(chain);
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"next"});
}

TEST_CASE("a changed serial reloads the zone, the same serial is not read again") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1, "192.0.2.1"));
  AutoServer server(f.dir, kManual);
  Auto& plugin = server.plugin();

  f.write("db.example.org", zoneText("example.org.", 1, "192.0.2.99"));
  ScanReport report = plugin.scan();
  CHECK(report.reloaded == 0);
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"www.example.org. A 192.0.2.1"});

  f.write("db.example.org", zoneText("example.org.", 2, "192.0.2.2"));
  report = plugin.scan();
  CHECK(report.reloaded == 1);
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"www.example.org. A 192.0.2.2"});
  CHECK(plugin.servedZone(moat::dns::nameFromText("example.org.").value())->serial() == 2);
}

TEST_CASE("a broken file keeps the zone's old data and is reported once, a new broken file is not served") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1, "192.0.2.1"));
  AutoServer server(f.dir, kManual);
  Auto& plugin = server.plugin();

  f.write("db.example.org", zoneText("example.org.", 2, "192.0.2.2") + "bad IN A not-an-address\n");
  ScanReport report = plugin.scan();
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].find("zone example.org.: " + f.zones + "/db.example.org:7:") == 0);
  CHECK(report.problems[0].find("keeping serial 1") != std::string::npos);
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"www.example.org. A 192.0.2.1"});
  CHECK(plugin.scan().problems.empty());  // logged once, not on every scan

  f.write("db.example.net", "garbage\n");
  report = plugin.scan();
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0].find("zone example.net. not loaded: ") == 0);
  CHECK(addresses(plugin, "www.example.net.") == Addresses{"REFUSED"});

  f.write("db.example.org", zoneText("example.org.", 3, "192.0.2.3"));
  report = plugin.scan();
  CHECK(report.reloaded == 1);
  CHECK(report.problems.empty());
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"www.example.org. A 192.0.2.3"});
}

TEST_CASE("broken at start: a warning at the directory, and the zone is not served") {
  Fixture f;
  f.write("db.example.org", "garbage\n");
  AutoServer server(f.dir, kManual);
  REQUIRE(server.warnings.size() == 1);
  CHECK(server.warnings[0].str().find("Corefile:3:15: auto: zone example.org. not loaded: ") == 0);
  CHECK(server.plugin().servedOrigins().empty());
}

TEST_CASE("only names under ZONES are looked at, a zone file for another name loads but is never asked") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1));
  f.write("db.example.com", zoneText("example.com.", 1));
  AutoServer server(f.dir, ". {\n  auto example.org sub.example.net {\n    directory zones\n    reload 0\n  }\n}\n");
  Auto& plugin = server.plugin();
  CHECK(plugin.servedOrigins().size() == 2);
  CHECK(addresses(plugin, "www.example.org.") == Addresses{"www.example.org. A 192.0.2.1"});
  CHECK(addresses(plugin, "www.example.com.") == Addresses{"next"});
  CHECK(addresses(plugin, "www.sub.example.net.") == Addresses{"REFUSED"});  // under ZONES, no zone
}

TEST_CASE("subdirectories count, and when two files name one zone the first in name order wins") {
  Fixture f;
  std::filesystem::create_directory(f.zones + "/a");
  f.write("a/db.example.org", zoneText("example.org.", 1, "192.0.2.1"));
  f.write("db.example.org", zoneText("example.org.", 1, "192.0.2.2"));
  AutoServer server(f.dir, kManual);
  REQUIRE(server.warnings.size() == 1);
  CHECK(server.warnings[0].message == "auto: several files name zone example.org.: using " + f.zones +
                                          "/a/db.example.org, not " + f.zones + "/db.example.org");
  CHECK(addresses(server.plugin(), "www.example.org.") == Addresses{"www.example.org. A 192.0.2.1"});

  // The winner goes: the other file takes over, read whole.
  f.remove("a/db.example.org");
  CHECK(server.plugin().scan().reloaded == 1);
  CHECK(addresses(server.plugin(), "www.example.org.") == Addresses{"www.example.org. A 192.0.2.2"});
}

TEST_CASE("the directory may be a symlink, and may appear after start") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1));
  std::filesystem::create_directory_symlink(f.zones, f.dir.path() + "/link");
  AutoServer linked(f.dir, ". {\n  auto {\n    directory link\n    reload 0\n  }\n}\n");
  CHECK(addresses(linked.plugin(), "www.example.org.") == Addresses{"www.example.org. A 192.0.2.1"});

  AutoServer later(f.dir, ". {\n  auto {\n    directory later\n    reload 0\n  }\n}\n");
  CHECK(later.plugin().servedOrigins().empty());
  std::filesystem::create_directory_symlink(f.zones, f.dir.path() + "/later");
  CHECK(later.plugin().scan().added == 1);
}

TEST_CASE("fallthrough passes names the zone does not hold to the next plugin") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1));
  AutoServer server(f.dir, ". {\n  auto {\n    directory zones\n    reload 0\n    fallthrough\n  }\n}\n");
  CHECK(addresses(server.plugin(), "nope.example.org.") == Addresses{"next"});
  CHECK(addresses(server.plugin(), "www.example.org.") == Addresses{"www.example.org. A 192.0.2.1"});
}

TEST_CASE("transfer sees the zones as served and hears of each zone that appears or reloads") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1));
  AutoServer server(f.dir, kManual);
  Auto& plugin = server.plugin();
  std::vector<std::string> heard;
  plugin.onZoneChanged([&](const std::string& origin) { heard.push_back(origin); });

  f.write("db.example.net", zoneText("example.net.", 1));
  f.write("db.example.org", zoneText("example.org.", 5));
  plugin.scan();
  CHECK(heard == std::vector<std::string>{"example.net.", "example.org."});
  CHECK(plugin.servedZone(moat::dns::nameFromText("example.org.").value())->serial() == 5);
  CHECK(plugin.servedZone(moat::dns::nameFromText("example.com.").value()) == nullptr);

  heard.clear();
  plugin.scan();
  CHECK(heard.empty());  // nothing changed: no NOTIFY
}

TEST_CASE("zone transfers are refused without the transfer plugin") {
  Fixture f;
  f.write("db.example.org", zoneText("example.org.", 1));
  AutoServer server(f.dir, kManual);
  auto asked = moat::plugins::file::testing::ask(server.plugin(), "example.org.", moat::dns::rrtype::AXFR);
  REQUIRE(asked.verdict == Verdict::Answered);
  CHECK(asked.reply.rcode == 5);
}

TEST_CASE("the scanner thread picks up a new file by itself") {
  Fixture f;
  AutoServer server(f.dir, ". {\n  auto {\n    directory zones\n    reload 20ms\n  }\n}\n");
  Auto& plugin = server.plugin();
  f.write("db.example.org", zoneText("example.org.", 1));
  CHECK(moat::testing::eventually([&] { return !plugin.servedOrigins().empty(); }));
}
