#include "plugins/secondary/secondary.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/name.hpp"
#include "plugins/secondary/axfr.hpp"
#include "plugins/secondary/test_support.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/eventually.hpp"

using namespace moat;
using namespace moat::plugins;
using namespace moat::plugins::secondary;

namespace {

std::unique_ptr<PulledZone> pulled(const std::string& origin, const std::string& primary,
                                   const std::vector<std::string>& blockZones = {"."}) {
  PulledZoneConfig config;
  config.origin = origin;
  Primary p;
  REQUIRE(parsePrimary(primary, p));
  config.primaries.push_back(p);
  return std::make_unique<PulledZone>(config, EgressScope::narrowed(origin, blockZones), 1);
}

file::ZonePtr exampleZone(uint32_t serial) {
  AxfrReader reader(*dns::nameFromText("example.org."), 1);
  REQUIRE(reader.add(secondary::testing::message({.id = 1,
                                       .records = {secondary::testing::soa(serial), "www.example.org. 60 IN A 192.0.2.10",
                                                   secondary::testing::soa(serial)}})) == AxfrReader::Step::Done);
  return reader.take();
}

struct Sent {
  Verdict verdict;
  moat::testing::Reply reply;
};

Sent send(Handler& h, const std::string& name, uint16_t type, bool notify, const char* from = "127.0.0.1") {
  auto packet = moat::testing::makeQuery({.name = name, .type = type, .rd = false});
  if (notify) packet[2] = static_cast<uint8_t>((packet[2] & 0x87) | dns::opcode::Notify << 3);
  dns::Query q;
  moat::testing::loadQuery(q, packet, dns::Proto::Udp, from, 5353);
  Sent out{h.onQuery(q), {}};
  if (out.verdict == Verdict::Answered) out.reply = moat::testing::decode(q.reply);
  return out;
}

}  // namespace

TEST_CASE("handler: SERVFAIL before the first transfer, the zone's data once one is published") {
  std::vector<std::unique_ptr<PulledZone>> zones;
  zones.push_back(pulled("example.org.", "127.0.0.1:1"));
  Secondary s(std::move(zones), Fall{}, nullptr);
  CHECK(send(s, "www.example.org.", dns::rrtype::A, false).reply.rcode == 2);
  CHECK(send(s, "www.example.net.", dns::rrtype::A, false).verdict == Verdict::Next);

  s.zone(0).publish(exampleZone(5));
  const Sent a = send(s, "www.example.org.", dns::rrtype::A, false);
  REQUIRE(a.verdict == Verdict::Answered);
  CHECK(a.reply.rcode == 0);
  CHECK(a.reply.aa);
  REQUIRE(a.reply.answer.size() == 1);
  CHECK(a.reply.answer[0] == "www.example.org. 60 IN A 192.0.2.10");
  CHECK(s.servedZone(*dns::nameFromText("example.org."))->serial() == 5);
  CHECK(s.servedOrigins() == std::vector<std::string>{"example.org."});
}

TEST_CASE("handler: NOTIFY from a primary is answered NOERROR+AA and wakes the refresher, from anyone else dropped") {
  std::vector<std::unique_ptr<PulledZone>> zones;
  zones.push_back(pulled("example.org.", "127.0.0.1:1"));
  Secondary s(std::move(zones), Fall{}, nullptr);

  const Sent ok = send(s, "example.org.", dns::rrtype::SOA, true, "127.0.0.1");
  REQUIRE(ok.verdict == Verdict::Answered);
  CHECK(ok.reply.rcode == 0);
  CHECK(ok.reply.aa);
  CHECK(ok.reply.answer.empty());  // a NOTIFY is acknowledged, not answered as a query
  CHECK(s.zone(0).notified.load());
  CHECK(s.zone(0).stats.notifies.load() == 1);

  CHECK(send(s, "example.org.", dns::rrtype::SOA, true, "127.0.0.2").verdict == Verdict::Drop);
  CHECK(send(s, "example.org.", dns::rrtype::SOA, true, "::1").verdict == Verdict::Drop);
  CHECK(s.zone(0).stats.notifiesDropped.load() == 2);
  // Not one of its zones: for the next handler (the chain answers NOTIMP when none takes it).
  CHECK(send(s, "example.net.", dns::rrtype::SOA, true).verdict == Verdict::Next);
}

TEST_CASE("handler: the egress check keeps a private zone's SOA query and transfer in: nothing connects") {
  // A listener standing in for the primary; it must never see a connection.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string primary = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto privateZones = std::make_shared<PrivateZones>();
  privateZones->add(PrivateZone{.name = "internal."});
  std::vector<std::unique_ptr<PulledZone>> zones;
  // In a block for example.org, corp.internal is outside the scope: it may not be asked for.
  zones.push_back(pulled("corp.internal.", primary, {"example.org."}));
  auto s = std::make_shared<Secondary>(std::move(zones), Fall{}, privateZones);
  s->start();
  CHECK(moat::testing::eventually([&] { return s->zone(0).stats.egressBlocked.load() >= 2; }));
  CHECK(::accept(listener, nullptr, nullptr) < 0);  // nobody ever connected
  CHECK(s->zone(0).stats.transferFailures.load() == 0);
  s.reset();
  ::close(listener);
}
