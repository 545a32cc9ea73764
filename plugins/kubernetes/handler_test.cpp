// The handler's decisions: NXDOMAIN vs NODATA, case, fallthrough, zones, options.
#include <doctest/doctest.h>

#include "dns/wire.hpp"
#include "plugins/kubernetes/records_fixture.hpp"

namespace moat::plugins::kubernetes {
namespace {

using namespace testing;
namespace rr = dns::rrtype;

const std::string kClusterZones = "cluster.local in-addr.arpa ip6.arpa";

// A denial: rcode, AA, no answer, the zone's SOA in authority.
void denied(Handler& h, const std::string& name, uint16_t type, int rcode,
            const std::string& zone = "cluster.local.") {
  CAPTURE(name);
  CAPTURE(type);
  auto r = ask(h, name, type);
  REQUIRE(r.verdict == Verdict::Answered);
  CHECK(r.reply.rcode == rcode);
  CHECK(r.reply.aa);
  CHECK(r.reply.answer.empty());
  CHECK(r.reply.additional.empty());
  CHECK(r.reply.authority == Strings{soa(zone)});
}

TEST_CASE("handler: NXDOMAIN vs NODATA") {
  auto h = makeHandler(kClusterZones);
  constexpr uint16_t kHinfo = 13, kCaa = 257;
  struct Case {
    const char* name;
    uint16_t type;
    int rcode;
  };
  const Case cases[] = {
      // The name exists, not with this type.
      {"svc1.testns.svc.cluster.local.", rr::AAAA, kNoError},
      {"svc1.testns.svc.cluster.local.", rr::MX, kNoError},
      {"svc1.testns.svc.cluster.local.", rr::TXT, kNoError},
      {"svc1.testns.svc.cluster.local.", kHinfo, kNoError},
      {"svc1.testns.svc.cluster.local.", kCaa, kNoError},
      {"svc1.testns.svc.cluster.local.", rr::NS, kNoError},
      {"svc1.testns.svc.cluster.local.", rr::SOA, kNoError},
      {"svc1.testns.svc.cluster.local.", rr::PTR, kNoError},
      {"svc.cluster.local.", rr::A, kNoError},
      {"svc.cluster.local.", rr::NS, kNoError},
      {"pod.cluster.local.", rr::A, kNoError},
      {"testns.svc.cluster.local.", rr::A, kNoError},
      {"testns.svc.cluster.local.", rr::NS, kNoError},
      {"empty.svc.cluster.local.", rr::A, kNoError},  // a Namespace object without services
      {"cluster.local.", rr::A, kNoError},
      {"cluster.local.", kHinfo, kNoError},
      {"ns.dns.cluster.local.", rr::MX, kNoError},
      // SOA below the apex is NODATA without looking the name up.
      {"bogus.testns.svc.cluster.local.", rr::SOA, kNoError},
      // The name does not exist.
      {"bogus.testns.svc.cluster.local.", rr::A, kNxDomain},
      {"bogus.testns.svc.cluster.local.", rr::MX, kNxDomain},
      {"bogus.testns.svc.cluster.local.", kHinfo, kNxDomain},
      {"svc0.nons.svc.cluster.local.", rr::TXT, kNxDomain},
      {"nons.svc.cluster.local.", rr::A, kNxDomain},
      {"foo.cluster.local.", rr::A, kNxDomain},
      {"foo.cluster.local.", rr::NS, kNxDomain},
      {"foo.svc.cluster.local.", rr::NS, kNxDomain},
      {"svc1.testns.foo.cluster.local.", rr::A, kNxDomain},
      {"a.b.c.svc1.testns.svc.cluster.local.", rr::A, kNxDomain},
      {"x.y.svc1.testns.svc.cluster.local.", rr::A, kNxDomain},
      {"testns.pod.cluster.local.", rr::A, kNxDomain},  // pods disabled
      {"dns-version.cluster.local.", rr::A, kNxDomain},
      {"ns.dns.cluster.local.", rr::TXT, kNxDomain},
      // TXT is NODATA only for names holding records (CoreDNS's TXT path).
      {"cluster.local.", rr::TXT, kNxDomain},
      {"svc.cluster.local.", rr::TXT, kNxDomain},
      {"testns.svc.cluster.local.", rr::TXT, kNxDomain},
  };
  for (const Case& c : cases) denied(*h, c.name, c.type, c.rcode);
  // Reverse-shaped names are not forward names.
  denied(*h, "1.0.0.10.in-addr.arpa.", rr::A, kNxDomain, "in-addr.arpa.");
  denied(*h, "1.0.0.10.in-addr.arpa.", rr::TXT, kNxDomain, "in-addr.arpa.");
}

TEST_CASE("handler: zone transfers are refused, unwritten as in CoreDNS") {
  auto h = makeHandler(kClusterZones);
  for (uint16_t type : {rr::AXFR, rr::IXFR}) {
    auto r = ask(*h, "cluster.local.", type);
    REQUIRE(r.verdict == Verdict::Answered);
    CHECK(r.reply.rcode == kRefused);
    CHECK_FALSE(r.reply.aa);
    CHECK(r.reply.authority.empty());
  }
}

TEST_CASE("handler: names outside the zones are the next plugin's") {
  auto h = makeHandler("cluster.local");
  CHECK(ask(*h, "example.org.", rr::A).verdict == Verdict::Next);
  CHECK(ask(*h, "local.", rr::A).verdict == Verdict::Next);
  CHECK(ask(*h, "1.0.0.10.in-addr.arpa.", rr::PTR).verdict == Verdict::Next);
}

TEST_CASE("handler: answers keep the query's spelling, object names come out as stored") {
  auto h = makeHandler(kClusterZones, {"ignore empty_service"});
  auto a = ask(*h, "SvC1.TeStNs.SvC.cLuStEr.LoCaL.", rr::A);
  CHECK(a.reply.answer == Strings{"SvC1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN A 10.0.0.1"});

  auto srv = ask(*h, "_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.", rr::SRV);
  CHECK(srv.reply.answer == Strings{"_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN SRV 0 100 80 "
                                    "svc1.testns.svc.cLuStEr.LoCaL."});
  CHECK(srv.reply.additional == Strings{"svc1.testns.svc.cLuStEr.LoCaL. 5 IN A 10.0.0.1"});

  auto plain = makeHandler(kClusterZones);  // MixedCase has no endpoints: not with ignore empty_service
  auto mixed = ask(*plain, "mixedcase.testns.svc.cluster.local.", rr::SRV);
  CHECK(mixed.reply.answer == Strings{"mixedcase.testns.svc.cluster.local. 5 IN SRV 0 100 80 "
                                      "MixedCase.testns.svc.cluster.local."});

  auto nx = ask(*h, "not-a-service.testns.svc.ClUsTeR.lOcAl.", rr::A);
  CHECK(nx.reply.rcode == kNxDomain);
  CHECK(nx.reply.authority == Strings{soa("ClUsTeR.lOcAl.")});

  auto apex = ask(*h, "Cluster.local.", rr::SOA);
  CHECK(apex.reply.answer == Strings{soa("Cluster.local.")});
  auto ns = ask(*h, "Cluster.local.", rr::NS);
  CHECK(ns.reply.answer == Strings{"Cluster.local. 5 IN NS ns.dns.Cluster.local."});
  CHECK(ns.reply.additional == Strings{"ns.dns.Cluster.local. 5 IN A 192.0.2.53"});

  // The question section is the client's, byte for byte.
  const uint8_t question[] = {4, 'S', 'v', 'C', '1'};
  REQUIRE(a.wire.size() > dns::kHeaderSize + sizeof question);
  CHECK(std::equal(std::begin(question), std::end(question), a.wire.begin() + dns::kHeaderSize));
}

TEST_CASE("handler: fallthrough only for names that do not exist, within its zones") {
  SUBCASE("every zone") {
    auto h = makeHandler(kClusterZones, {"fallthrough"});
    CHECK(ask(*h, "bogus.testns.svc.cluster.local.", rr::A).verdict == Verdict::Next);
    CHECK(ask(*h, "9.9.9.9.in-addr.arpa.", rr::PTR).verdict == Verdict::Next);
    // NODATA never falls through.
    CHECK(ask(*h, "svc1.testns.svc.cluster.local.", rr::AAAA).verdict == Verdict::Answered);
    CHECK(ask(*h, "svc1.testns.svc.cluster.local.", rr::A).verdict == Verdict::Answered);
  }
  SUBCASE("reverse zones only, as kubeadm writes it") {
    auto h = makeHandler(kClusterZones, {"fallthrough in-addr.arpa ip6.arpa"});
    CHECK(ask(*h, "9.9.9.9.in-addr.arpa.", rr::PTR).verdict == Verdict::Next);
    CHECK(ask(*h, "1.0.0.10.in-addr.arpa.", rr::PTR).verdict == Verdict::Answered);
    denied(*h, "bogus.testns.svc.cluster.local.", rr::A, kNxDomain);
  }
}

TEST_CASE("handler: namespaces limits what is exposed, PTR included") {
  auto h = makeHandler(kClusterZones, {"namespaces testns"});
  CHECK(ask(*h, "svc1.testns.svc.cluster.local.", rr::A).reply.answer.size() == 1);
  denied(*h, "svc2.other.svc.cluster.local.", rr::A, kNxDomain);
  denied(*h, "other.svc.cluster.local.", rr::A, kNxDomain);
  denied(*h, "1.1.0.10.in-addr.arpa.", rr::PTR, kNxDomain, "in-addr.arpa.");
  denied(*h, "1.3.0.172.in-addr.arpa.", rr::PTR, kNxDomain, "in-addr.arpa.");
  CHECK(ask(*h, "1.0.0.10.in-addr.arpa.", rr::PTR).reply.answer.size() == 1);
}

TEST_CASE("handler: ignore empty_service and noendpoints") {
  SUBCASE("ignore empty_service: ClusterIP services without ready addresses vanish") {
    auto h = makeHandler(kClusterZones, {"ignore empty_service"});
    denied(*h, "svc-empty.testns.svc.cluster.local.", rr::A, kNxDomain);
    CHECK(ask(*h, "svc1.testns.svc.cluster.local.", rr::A).reply.answer.size() == 1);
    CHECK(ask(*h, "external.testns.svc.cluster.local.", rr::A).reply.answer.size() == 1);
    CHECK(ask(*h, "hdls1.testns.svc.cluster.local.", rr::A).reply.answer.size() == 3);
  }
  SUBCASE("noendpoints: headless and endpoint names are gone") {
    auto h = makeHandler(kClusterZones, {"noendpoints"});
    denied(*h, "hdls1.testns.svc.cluster.local.", rr::A, kNxDomain);
    denied(*h, "172-0-0-10.svc1.testns.svc.cluster.local.", rr::A, kNxDomain);
    denied(*h, "2.0.0.172.in-addr.arpa.", rr::PTR, kNxDomain, "in-addr.arpa.");
    CHECK(ask(*h, "svc1.testns.svc.cluster.local.", rr::A).reply.answer.size() == 1);
  }
}

TEST_CASE("handler: zonal names, objects carry no topology, so pin is empty, prefer is all") {
  auto h = makeHandler(kClusterZones, {"zonal"});
  denied(*h, "eu-1a.pin._zone.hdls1.testns.svc.cluster.local.", rr::A, kNoError);
  denied(*h, "eu-1a.pin._zone.hdls1.testns.svc.cluster.local.", rr::TXT, kNoError);
  CHECK(ask(*h, "eu-1a.prefer._zone.hdls1.testns.svc.cluster.local.", rr::A).reply.answer.size() ==
        3);
  denied(*h, "eu-1a.pin._zone.svc1.testns.svc.cluster.local.", rr::A, kNxDomain);
  auto off = makeHandler(kClusterZones);
  denied(*off, "eu-1a.pin._zone.hdls1.testns.svc.cluster.local.", rr::A, kNxDomain);
}

TEST_CASE("handler: multicluster zones have no ServiceImports in object files") {
  auto h = makeHandler("cluster.local clusterset.local", {"multicluster clusterset.local"});
  denied(*h, "svc1.testns.svc.clusterset.local.", rr::A, kNxDomain, "clusterset.local.");
  denied(*h, "testns.svc.clusterset.local.", rr::A, kNoError, "clusterset.local.");
  CHECK(ask(*h, "svc1.testns.svc.cluster.local.", rr::A).reply.answer.size() == 1);
}

TEST_CASE("handler: before the objects load, would-be NXDOMAINs are SERVFAIL") {
  auto h = makeHandler(kClusterZones, {}, nullptr);
  CHECK_FALSE(h->ready());
  auto r = ask(*h, "svc1.testns.svc.cluster.local.", rr::A);
  CHECK(r.reply.rcode == kServFail);
  CHECK(r.reply.aa);
  CHECK(r.reply.authority.size() == 1);
  // What needs no objects still answers.
  CHECK(ask(*h, "dns-version.cluster.local.", rr::TXT).reply.answer.size() == 1);
  CHECK(ask(*h, "cluster.local.", rr::SOA).reply.answer.size() == 1);
  CHECK(makeHandler(kClusterZones)->ready());
}

}  // namespace
}  // namespace moat::plugins::kubernetes
