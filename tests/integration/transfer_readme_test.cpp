// The two Corefile snippets of CoreDNS's transfer README (plugin/transfer/README.md, "Examples"),
// run by the real binary with example.org served by `file`, as Moat's transfer README shows them.
// Mapped onto loopback:
//   10.1.0.0/16 (the allowed network) -> 127.1.0.0/16;
//   2001:db8::1 (the secondary) -> a NOTIFY listener on 127.0.0.1 at its own port;
//   2001:db8::53 (the `source`) -> 127.0.0.53. IPv4, because the IPv6 loopback is one address:
//     a NOTIFY from ::1 to ::1 leaves from ::1 with or without `source`, proving nothing.
// kdig is the transfer client; its -b picks the client's address.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "tests/integration/client_query.hpp"
#include "tests/support/kdig.hpp"
#include "tests/support/notify_listener.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace transfer_readme_test {

using namespace moat::testing;

namespace {

constexpr uint16_t kA = 1, kAxfr = 252, kIxfr = 251;
constexpr uint32_t kSerial = 2024060101;

void writeZone(const TempDir& dir) {
  dir.write("db.example.org", "$ORIGIN example.org.\n$TTL 3600\n"
                              "@ IN SOA ns1 hostmaster " + std::to_string(kSerial) + " 7200 3600 1209600 300\n"
                              "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\nmail IN MX 10 www\n");
}
constexpr size_t kRecords = 5;  // the SOA once

ClientQuery transferFrom(const std::string& from, uint16_t type) {
  ClientQuery c;
  c.from = from;
  c.to = from.find(':') != std::string::npos ? "::1" : "127.0.0.1";
  c.type = type;
  c.tcp = true;
  return c;
}

}  // namespace

// "Use in conjunction with the acl plugin to restrict access to subnet 10.1.0.0/16."
TEST_CASE("transfer README: with acl, AXFR and IXFR only from 10.1.0.0/16") {
  REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/kdig"), "kdig (knot-dnsutils) is needed");
  TempDir dir;
  writeZone(dir);
  ServerProcess server(dir, "example.org:@PORT@ {\n    file db.example.org\n"
                            "    acl {\n"
                            "        allow type AXFR net 127.1.0.0/16\n"
                            "        allow type IXFR net 127.1.0.0/16\n"
                            "        block type AXFR net *\n"
                            "        block type IXFR net *\n"
                            "    }\n"
                            "    transfer {\n        to *\n    }\n}\n");
  const uint16_t port = server.port();

  // Inside the network, at both ends of it: the whole zone, or "up to date" for IXFR.
  for (const char* inside : {"127.1.0.1", "127.1.255.254"}) {
    CAPTURE(inside);
    const std::string axfr = kdig(port, {"-b", inside, "+tcp", "example.org", "AXFR"});
    INFO(axfr);
    CHECK(transferredZone(axfr).size() == kRecords);
    const std::string current = "IXFR=" + std::to_string(kSerial);
    const auto upToDate = kdigRecords(kdig(port, {"-b", inside, "+tcp", "example.org", current}));
    REQUIRE(upToDate.size() == 1);
    CHECK(upToDate[0].find(" SOA ") != std::string::npos);
    const std::string behind = kdig(port, {"-b", inside, "+tcp", "example.org", "IXFR=" + std::to_string(kSerial - 1)});
    INFO(behind);
    CHECK(transferredZone(behind).size() == kRecords);  // no history kept: the whole zone
  }

  // Outside it (next to it, the rest of loopback, IPv6): acl's block, REFUSED with EDE 15.
  for (const char* outside : {"127.0.255.255", "127.2.0.0", "127.0.0.1", "::1"}) {
    CAPTURE(outside);
    CHECK(askFrom(port, transferFrom(outside, kAxfr)) == "REFUSED EDE 15");
    CHECK(askFrom(port, transferFrom(outside, kIxfr)) == "REFUSED EDE 15");
    // Only transfers are blocked: a query from there is answered from the zone.
    ClientQuery plain = transferFrom(outside, kA);
    plain.name = "www.example.org.";
    CHECK(askFrom(port, plain) == "NOERROR");
  }
  // And a real client sees the refusal, no records.
  const std::string refused = kdig(port, {"-b", "127.0.0.1", "+tcp", "example.org", "AXFR"});
  INFO(refused);
  CHECK(refused.find("REFUSED") != std::string::npos);
  CHECK(kdigRecords(refused).empty());
}

// "Send NOTIFY messages from a specific local address."
TEST_CASE("transfer README: NOTIFY to 2001:db8::1 is sent from source 2001:db8::53") {
  TempDir dir;
  writeZone(dir);
  NotifyListener secondary("127.0.0.1");
  ServerProcess server(dir, "example.org:@PORT@ {\n    file db.example.org\n    transfer {\n"
                            "        to 127.0.0.1:" + std::to_string(secondary.port()) + "\n"
                            "        source 127.0.0.53\n    }\n}\n");
  REQUIRE(secondary.awaitSerial(kSerial));
  INFO("senders: " << secondary.senders.size());
  CHECK(std::all_of(secondary.senders.begin(), secondary.senders.end(),
                    [](const std::string& s) { return s == "127.0.0.53"; }));
  // `source` says where NOTIFYs leave from, not who may transfer: the listed secondary may,
  // the source address may not.
  CHECK(askFrom(server.port(), transferFrom("127.0.0.1", kAxfr)) == "NOERROR");
  CHECK(askFrom(server.port(), transferFrom("127.0.0.53", kAxfr)) == "REFUSED");
}

// The control for the test above: without `source` the kernel picks 127.0.0.1 for a NOTIFY to
// 127.0.0.1, so 127.0.0.53 there can only have come from `source`.
TEST_CASE("transfer README: without source, the NOTIFY leaves from the address the kernel picks") {
  TempDir dir;
  writeZone(dir);
  NotifyListener secondary("127.0.0.1");
  ServerProcess server(dir, "example.org:@PORT@ {\n    file db.example.org\n    transfer {\n"
                            "        to 127.0.0.1:" + std::to_string(secondary.port()) + "\n    }\n}\n");
  REQUIRE(secondary.awaitSerial(kSerial));
  CHECK(secondary.senders.back() == "127.0.0.1");
}

// The README's own family, on the one IPv6 loopback address: `to` and `source` as IPv6 work.
TEST_CASE("transfer README: to and source as IPv6 addresses") {
  TempDir dir;
  writeZone(dir);
  NotifyListener secondary("::1");
  ServerProcess server(dir, "example.org:@PORT@ {\n    file db.example.org\n    transfer {\n"
                            "        to [::1]:" + std::to_string(secondary.port()) + "\n"
                            "        source ::1\n    }\n}\n");
  REQUIRE(secondary.awaitSerial(kSerial));
  CHECK(secondary.senders.back() == "::1");
  CHECK(askFrom(server.port(), transferFrom("::1", kAxfr)) == "NOERROR");
}

}  // namespace transfer_readme_test
