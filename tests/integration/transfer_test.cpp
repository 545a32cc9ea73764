// Outgoing zone transfers over the wire: `file` + `transfer` served by the real binary, the zone
// fetched with kdig (Knot's client) and compared record for record with the zone file, refusals
// for strangers and UDP, and the NOTIFY a zone change sends to a listed secondary.
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "tests/integration/client_query.hpp"
#include "tests/support/kdig.hpp"
#include "tests/support/notify_listener.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace transfer_test {

using namespace moat::testing;

namespace {

constexpr uint16_t kAxfr = 252, kIxfr = 251;

// The zone, with `hosts` more A records (host0..) to make a transfer take several messages.
std::string zoneText(uint32_t serial, int hosts = 0) {
  std::string extra;
  for (int i = 0; i < hosts; ++i) {
    extra += "host" + std::to_string(i) + " IN A 198.51.100." + std::to_string(i % 256) + "\n";
  }
  return "$ORIGIN example.org.\n"
         "$TTL 3600\n"
         "@ IN SOA ns1.example.org. hostmaster.example.org. " + std::to_string(serial) +
         " 7200 3600 1209600 300\n"
         "@ IN NS ns1.example.org.\n"
         "@ IN NS ns2.example.org.\n"
         "@ IN MX 10 mail.example.org.\n"
         "@ IN TXT \"v=spf1 -all\"\n"
         "ns1 IN A 192.0.2.1\n"
         "ns2 IN AAAA 2001:db8::2\n"
         "mail 300 IN A 192.0.2.25\n"
         "www IN CNAME web.example.org.\n"
         "web IN A 192.0.2.80\n"
         "web IN A 192.0.2.81\n"
         "web IN RRSIG A 13 3 3600 20300101000000 20200101000000 12345 example.org. "
         "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSwganVzdCBieXRlcw==\n"
         "_sip._tcp IN SRV 10 60 5060 sip.example.org.\n"
         "deep.sub IN A 192.0.2.99\n" + extra;
}

// What every record of zoneText(serial) looks like in kdig's presentation (expanded names,
// explicit TTLs), in no particular order; the SOA once.
std::multiset<std::string> expectedRecords(uint32_t serial, int hosts = 0) {
  const std::string s = std::to_string(serial);
  std::multiset<std::string> out = {
      "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. " + s + " 7200 3600 1209600 300",
      "example.org. 3600 IN NS ns1.example.org.",
      "example.org. 3600 IN NS ns2.example.org.",
      "example.org. 3600 IN MX 10 mail.example.org.",
      "example.org. 3600 IN TXT \"v=spf1 -all\"",
      "ns1.example.org. 3600 IN A 192.0.2.1",
      "ns2.example.org. 3600 IN AAAA 2001:db8::2",
      "mail.example.org. 300 IN A 192.0.2.25",
      "www.example.org. 3600 IN CNAME web.example.org.",
      "web.example.org. 3600 IN A 192.0.2.80",
      "web.example.org. 3600 IN A 192.0.2.81",
      "web.example.org. 3600 IN RRSIG A 13 3 3600 20300101000000 20200101000000 12345 example.org. "
      "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSwganVzdCBieXRlcw==",
      "_sip._tcp.example.org. 3600 IN SRV 10 60 5060 sip.example.org.",
      "deep.sub.example.org. 3600 IN A 192.0.2.99",
  };
  for (int i = 0; i < hosts; ++i) {
    out.insert("host" + std::to_string(i) + ".example.org. 3600 IN A 198.51.100." + std::to_string(i % 256));
  }
  return out;
}

// Writes the zone file whole (a rename), so a reload never reads half of it.
void writeZone(const TempDir& dir, uint32_t serial, int hosts = 0) {
  const std::string tmp = dir.write("db.example.org.tmp", zoneText(serial, hosts));
  std::filesystem::rename(tmp, dir.path() + "/db.example.org");
}

std::string corefile(uint16_t notifyPort) {
  return "example.org:@PORT@ {\n"
         "  file db.example.org {\n"
         "    reload 100ms\n"
         "  }\n"
         "  transfer {\n"
         "    to 127.0.0.1:" + std::to_string(notifyPort) + "\n"
         "  }\n"
         "}\n";
}

}  // namespace

TEST_CASE("transfer: kdig AXFR over TCP gets every record of the zone file, SOA first and last") {
  REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/kdig"), "kdig (knot-dnsutils) is needed");
  // 3000 more records: about 100 KB, so the transfer takes several 16 KiB messages.
  constexpr int kHosts = 3000;
  TempDir dir;
  writeZone(dir, 2024010101, kHosts);
  NotifyListener secondary;
  ServerProcess server(dir, corefile(secondary.port()));
  REQUIRE(server.running());

  const std::string out = kdig(server.port(), {"+tcp", "example.org", "AXFR"});
  const auto records = kdigRecords(out);
  INFO(out.substr(0, 2000));
  REQUIRE(records.size() == expectedRecords(2024010101, kHosts).size() + 1);
  CHECK(records.front().find(" IN SOA ") != std::string::npos);
  CHECK(records.back() == records.front());
  std::multiset<std::string> got(records.begin() + 1, records.end());
  CHECK(got == expectedRecords(2024010101, kHosts));
  // kdig's summary counts the messages it read.
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex(R"(Received \d+ B \((\d+) messages?, (\d+) records?\))")));
  CHECK(std::stoi(m[1].str()) > 5);
  CHECK(std::stoul(m[2].str()) == records.size());

  // IXFR with the current serial: the SOA alone (kdig's ixfr=SERIAL puts it in authority).
  const auto ixfr = kdigRecords(kdig(server.port(), {"+tcp", "example.org", "IXFR=2024010101"}));
  REQUIRE(ixfr.size() == 1);
  CHECK(ixfr[0] == records.front());
}

TEST_CASE("transfer: a client not listed, and any client over UDP, is refused") {
  TempDir dir;
  writeZone(dir, 1);
  NotifyListener secondary;
  ServerProcess server(dir, corefile(secondary.port()));
  REQUIRE(server.running());

  // Fields one by one: designated initializers would leave `edns` to -Wextra's complaint.
  auto query = [](const std::string& from, const std::string& name, uint16_t type, bool tcp) {
    ClientQuery c;
    c.from = from;
    c.name = name;
    c.type = type;
    c.tcp = tcp;
    return c;
  };
  CHECK(askFrom(server.port(), query("127.0.0.2", "example.org.", kAxfr, true)) == "REFUSED");
  CHECK(askFrom(server.port(), query("127.0.0.2", "example.org.", kIxfr, true)) == "REFUSED");
  CHECK(askFrom(server.port(), query("127.0.0.1", "example.org.", kAxfr, false)) == "REFUSED");
  // The listed client still gets the zone; other questions are answered as before.
  CHECK(askFrom(server.port(), query("127.0.0.1", "example.org.", kAxfr, true)) == "NOERROR");
  const ClientQuery plain = query("127.0.0.1", "web.example.org.", 1, false);
  CHECK(askFrom(server.port(), plain) == "NOERROR");
}

TEST_CASE("transfer: NOTIFY at start and after the zone file gets a new serial") {
  TempDir dir;
  writeZone(dir, 10);
  NotifyListener secondary;
  ServerProcess server(dir, corefile(secondary.port()));
  REQUIRE(server.running());
  CHECK(secondary.awaitSerial(10));
  CHECK(secondary.lastQuestionOk);

  writeZone(dir, 11);
  CHECK(secondary.awaitSerial(11));
  const auto records = kdigRecords(kdig(server.port(), {"+tcp", "example.org", "AXFR"}));
  REQUIRE_FALSE(records.empty());
  CHECK(records.front().find(" 11 7200 ") != std::string::npos);
}

// The two Corefiles of CoreDNS's file README that transfer, with its 10.240.1.1 secondary moved
// to a loopback port: `to *` lets anyone transfer, and the listed address is NOTIFYed.
TEST_CASE("file README: example.org from db.example.org, transfers to anyone, NOTIFY to the secondary") {
  NotifyListener secondary;
  TempDir dir;
  writeZone(dir, 5);
  ServerProcess server(dir, "example.org:@PORT@ {\n    file db.example.org\n    transfer {\n        to * 127.0.0.1:" +
                                std::to_string(secondary.port()) + "\n    }\n}\n");
  CHECK(secondary.awaitSerial(5));
  const auto records = kdigRecords(kdig(server.port(), {"+tcp", "example.org", "AXFR"}));
  REQUIRE(records.size() == expectedRecords(5).size() + 1);  // the SOA twice
  CHECK(records.front() == records.back());
}

TEST_CASE("file README: one signed file for example.org and example.net in a root block, both transferable") {
  NotifyListener secondary;
  TempDir dir;
  // Relative names only, so the one file reads as either zone.
  dir.write("example.org.signed", "@ IN SOA ns1 hostmaster 6 7200 3600 1209600 300\n@ IN NS ns1\n"
                                  "ns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n");
  ServerProcess server(dir, ".:@PORT@ {\n    file example.org.signed example.org example.net\n"
                            "    transfer example.org example.net {\n        to * 127.0.0.1:" +
                                std::to_string(secondary.port()) + "\n    }\n}\n");
  CHECK(secondary.awaitSerial(6));
  for (const char* zone : {"example.org", "example.net"}) {
    CAPTURE(zone);
    const auto records = kdigRecords(kdig(server.port(), {"+tcp", zone, "AXFR"}));
    REQUIRE(records.size() == 5);  // SOA, NS, two A, SOA
    CHECK(records.front().rfind(std::string(zone) + ". ", 0) == 0);
    CHECK(records.front() == records.back());
  }
}

}  // namespace transfer_test
