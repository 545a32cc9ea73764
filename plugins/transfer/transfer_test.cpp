#include "plugins/transfer/transfer.hpp"

#include <doctest/doctest.h>

#include "dns/message.hpp"
#include "plugins/transfer/test_support.hpp"
#include "tests/support/dns_test_util.hpp"
#include "tests/support/plugin_test_util.hpp"

namespace moat::plugins::transfer {
namespace {

using namespace moat::plugins::transfer::testing;

struct Fixture {
  moat::testing::Parsed parsed;
  std::shared_ptr<FakeFile> file;
  std::shared_ptr<Transfer> handler;

  explicit Fixture(std::string_view corefile, int hosts = 20)
      : parsed(moat::testing::stanzasOf(corefile, "transfer")),
        file(std::make_shared<FakeFile>(exampleZone(2024010101, hosts))) {
    SetupContext ctx;
    ctx.block = &parsed.file.blocks[0];
    ctx.zones = {"example.org."};
    ctx.stanzas = parsed.stanzas;
    auto cfg = parseTransfer(ctx);
    REQUIRE(cfg.ok());
    TransferOptions options;
    options.notify = false;
    handler = std::make_shared<Transfer>(std::move(*cfg), options);
    std::vector<HandlerPtr> chain{handler, file};
    handler->peersReady(chain);
  }

  struct Result {
    Verdict verdict;
    moat::testing::Reply reply;
    std::vector<std::vector<uint8_t>> ahead;
  };

  Result ask(const std::string& name, uint16_t type, dns::Proto proto, const std::string& client = "127.0.0.1",
             std::optional<uint32_t> ixfrSerial = std::nullopt) {
    moat::testing::QuerySpec spec;
    spec.name = name;
    spec.type = type;
    auto packet = moat::testing::makeQuery(spec);
    if (ixfrSerial) {  // RFC 1995: the client's SOA in the authority section
      const auto owner = wire(name);
      const auto rdata = soaRdata(*ixfrSerial);
      dns::MessageWriter w(packet);
      w.addRR(dns::Section::Authority, owner, dns::rrtype::SOA, dns::rrclass::IN, 0, rdata);
    }
    dns::Query q;
    moat::testing::loadQuery(q, packet, proto, client);
    RecordingSink sink;
    q.sink = &sink;
    Result r{handler->onQuery(q), {}, {}};
    if (r.verdict == Verdict::Answered) r.reply = moat::testing::decode(q.reply);
    r.ahead = sink.ahead;
    return r;
  }
};

constexpr const char* kCorefile = "example.org {\n transfer {\n  to 127.0.0.1\n }\n}\n";

TEST_CASE("transfer: other queries pass on untouched") {
  Fixture f(kCorefile);
  auto r = f.ask("example.org.", dns::rrtype::SOA, dns::Proto::Tcp);
  CHECK(r.verdict == Verdict::Next);
  CHECK(f.ask("host1.example.org.", dns::rrtype::A, dns::Proto::Udp).verdict == Verdict::Next);
}

TEST_CASE("transfer: AXFR over TCP to a listed client sends the zone in several messages") {
  Fixture f(kCorefile, 1000);
  auto r = f.ask("example.org.", dns::rrtype::AXFR, dns::Proto::Tcp);
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.rcode == 0);
  REQUIRE(r.ahead.size() >= 1);
  size_t records = r.reply.answer.size();
  for (const auto& m : r.ahead) records += moat::testing::decode(m).answer.size();
  CHECK(records == 1000 + 3 + 1);
  CHECK(r.reply.answer.back().find(" SOA ") != std::string::npos);
}

TEST_CASE("transfer: refusals (UDP, unlisted client, zone not served) are answered and counted") {
  Fixture f(kCorefile);
  auto udp = f.ask("example.org.", dns::rrtype::AXFR, dns::Proto::Udp);
  CHECK(udp.verdict == Verdict::Answered);
  CHECK(udp.reply.rcode == 5);
  auto stranger = f.ask("example.org.", dns::rrtype::AXFR, dns::Proto::Tcp, "127.0.0.2");
  CHECK(stranger.reply.rcode == 5);
  CHECK(stranger.ahead.empty());
  f.ask("example.org.", dns::rrtype::IXFR, dns::Proto::Tcp, "127.0.0.2", 1);
  auto sub = f.ask("sub.example.org.", dns::rrtype::AXFR, dns::Proto::Tcp);
  CHECK(sub.reply.rcode == 5);
  CHECK(f.handler->refused(Refusal::Udp) == 1);
  CHECK(f.handler->refused(Refusal::NotAllowed) == 2);
  CHECK(f.handler->refused(Refusal::NotServed) == 1);
  // A name no stanza covers is someone else's.
  CHECK(f.ask("example.net.", dns::rrtype::AXFR, dns::Proto::Tcp).verdict == Verdict::Next);

  std::vector<MetricSample> samples;
  f.handler->collect(samples);
  REQUIRE(samples.size() == 3);
  CHECK(samples[0].family == "moat_transfer_refused_total");
}

TEST_CASE("transfer: IXFR with the current serial gets the SOA alone, an older one the whole zone") {
  Fixture f(kCorefile);
  auto current = f.ask("example.org.", dns::rrtype::IXFR, dns::Proto::Tcp, "127.0.0.1", 2024010101);
  REQUIRE(current.verdict == Verdict::Answered);
  CHECK(current.ahead.empty());
  REQUIRE(current.reply.answer.size() == 1);
  CHECK(current.reply.answer[0].find(" SOA ") != std::string::npos);

  auto older = f.ask("example.org.", dns::rrtype::IXFR, dns::Proto::Tcp, "127.0.0.1", 2024010100);
  REQUIRE(older.verdict == Verdict::Answered);
  CHECK(older.reply.answer.size() == 20 + 3 + 1);

  auto bare = f.ask("example.org.", dns::rrtype::IXFR, dns::Proto::Tcp);  // no SOA: as CoreDNS
  CHECK(bare.reply.rcode == 2);
}

TEST_CASE("transfer: without NOTIFY (as under moat explain) no change listener is registered") {
  Fixture f(kCorefile);
  REQUIRE(f.file->listener_ == nullptr);  // notify off (as under `moat explain`): no listener
}

TEST_CASE("transfer: the NOTIFY message names the zone and carries its SOA") {
  auto zone = exampleZone(42, 1);
  const auto m = notifyMessage(*zone, 0x1234);
  const dns::Header h = dns::Header::read(m.data());
  CHECK(h.id == 0x1234);
  CHECK(h.opcode() == 4);
  CHECK((h.flags & dns::flag::AA) != 0);
  CHECK((h.flags & dns::flag::QR) == 0);
  CHECK(h.qdcount == 1);
  CHECK(h.ancount == 1);
  const auto decoded = moat::testing::decode(m);
  REQUIRE(decoded.ok);
  REQUIRE(decoded.answer.size() == 1);
  CHECK(decoded.answer[0].find(" 42 ") != std::string::npos);
}

std::vector<std::string> targetsOf(std::string_view corefile, std::vector<std::string> blockZones,
                                   const std::string& origin) {
  auto parsed = moat::testing::stanzasOf(corefile, "transfer");
  SetupContext ctx;
  ctx.block = &parsed.file.blocks[0];
  ctx.zones = blockZones;
  ctx.stanzas = parsed.stanzas;
  auto cfg = parseTransfer(ctx);
  REQUIRE(cfg.ok());
  auto zones = std::make_shared<PrivateZones>();
  PrivateZone internal;
  internal.name = "internal.";
  zones->add(internal);
  TransferOptions options;
  options.notify = false;
  options.blockZones = blockZones;
  options.privateZones = zones;
  Transfer handler(std::move(*cfg), options);
  const auto name = wire(origin);
  const Stanza* stanza = handler.config().match(name);
  REQUIRE(stanza != nullptr);
  std::vector<std::string> out;
  for (const auto& t : handler.notifyTargets(*stanza, name)) out.push_back(t.text);
  return out;
}

TEST_CASE("transfer: a NOTIFY of a private zone leaves the box only from a stanza scoped to it") {
  using V = std::vector<std::string>;
  // Unscoped (`.`): only the loopback target hears of corp.internal.
  CHECK(targetsOf(". {\n transfer {\n  to 192.0.2.1 127.0.0.1:5300\n }\n}\n", {"."}, "corp.internal.") ==
        V{"127.0.0.1:5300"});
  // Public zones are not affected.
  CHECK(targetsOf(". {\n transfer {\n  to 192.0.2.1\n }\n}\n", {"."}, "example.org.") == V{"192.0.2.1:53"});
  // The stanza names the zone, or the block is the zone: it may.
  CHECK(targetsOf(". {\n transfer corp.internal {\n  to 192.0.2.1\n }\n}\n", {"."}, "corp.internal.") ==
        V{"192.0.2.1:53"});
  CHECK(targetsOf("corp.internal {\n transfer {\n  to 192.0.2.1\n }\n}\n", {"corp.internal."}, "corp.internal.") ==
        V{"192.0.2.1:53"});
}

}  // namespace
}  // namespace moat::plugins::transfer
