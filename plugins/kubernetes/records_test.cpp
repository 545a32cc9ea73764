// Table tests per record kind against the fixture cluster: rcode, AA and every section.
#include <doctest/doctest.h>

#include "dns/wire.hpp"
#include "plugins/kubernetes/records_fixture.hpp"

namespace moat::plugins::kubernetes {
namespace {

using namespace testing;
namespace rr = dns::rrtype;

struct Case {
  std::string name;
  uint16_t type;
  int rcode;
  Strings answer;
  Strings additional = {};
  std::string zone = "cluster.local.";  // whose SOA a denial carries
};

// Runs each case; denials must carry exactly the zone's SOA, answers no authority.
void run(Handler& h, const std::vector<Case>& cases, uint32_t ttl = 5) {
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.type);
    auto r = ask(h, c.name, c.type);
    REQUIRE(r.verdict == Verdict::Answered);
    CHECK(r.reply.rcode == c.rcode);
    CHECK(r.reply.aa);
    CHECK(r.reply.qr);
    CHECK(r.reply.answer == c.answer);
    CHECK(r.reply.additional == c.additional);
    if (c.answer.empty()) {
      CHECK(r.reply.authority == Strings{soa(c.zone, ttl)});
    } else {
      CHECK(r.reply.authority.empty());
    }
  }
}

const std::string kHead = "cluster.local in-addr.arpa ip6.arpa";

TEST_CASE("records: ClusterIP A/AAAA, single and dual stack") {
  auto h = makeHandler(kHead);
  run(*h, {
              {"svc1.testns.svc.cluster.local.", rr::A, kNoError,
               {"svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"}},
              {"svc1.testns.svc.cluster.local.", rr::AAAA, kNoError, {}},
              {"svc-dual.testns.svc.cluster.local.", rr::A, kNoError,
               {"svc-dual.testns.svc.cluster.local. 5 IN A 10.0.0.3"}},
              {"svc-dual.testns.svc.cluster.local.", rr::AAAA, kNoError,
               {"svc-dual.testns.svc.cluster.local. 5 IN AAAA fd00::3"}},
              {"svc-v6.testns.svc.cluster.local.", rr::A, kNoError, {}},
              {"svc-v6.testns.svc.cluster.local.", rr::AAAA, kNoError,
               {"svc-v6.testns.svc.cluster.local. 5 IN AAAA fd00::6"}},
              // Without ports a service still has its address (CoreDNS's port sentinel).
              {"svc-noports.testns.svc.cluster.local.", rr::A, kNoError,
               {"svc-noports.testns.svc.cluster.local. 5 IN A 10.0.0.5"}},
              {"nope.testns.svc.cluster.local.", rr::A, kNxDomain, {}},
              // Endpoint names work under a ClusterIP service too.
              {"172-0-0-10.svc1.testns.svc.cluster.local.", rr::A, kNoError,
               {"172-0-0-10.svc1.testns.svc.cluster.local. 5 IN A 172.0.0.10"}},
          });
}

TEST_CASE("records: headless A/AAAA per ready endpoint, deduplicated, endpoint names") {
  auto h = makeHandler(kHead);
  run(*h, {
              {"hdls1.testns.svc.cluster.local.", rr::A, kNoError,
               {"hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
                "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
                "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4"}},
              {"hdls1.testns.svc.cluster.local.", rr::AAAA, kNoError,
               {"hdls1.testns.svc.cluster.local. 5 IN AAAA fd00::5"}},
              {"dup-name.hdls1.testns.svc.cluster.local.", rr::A, kNoError,
               {"dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
                "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3"}},
              {"172-0-0-4.hdls1.testns.svc.cluster.local.", rr::A, kNoError,
               {"172-0-0-4.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4"}},
              {"fd00--5.hdls1.testns.svc.cluster.local.", rr::AAAA, kNoError,
               {"fd00--5.hdls1.testns.svc.cluster.local. 5 IN AAAA fd00::5"}},
              {"pod-4.hdls1.testns.svc.cluster.local.", rr::A, kNxDomain, {}},
              {"notready.hdls1.testns.svc.cluster.local.", rr::A, kNxDomain, {}},
              {"hdls-empty.testns.svc.cluster.local.", rr::A, kNxDomain, {}},
              {"hdls-noports.testns.svc.cluster.local.", rr::A, kNoError,
               {"hdls-noports.testns.svc.cluster.local. 5 IN A 172.0.1.1"}},
          });
}

TEST_CASE("records: endpoint_pod_names names endpoints without hostname by their pod") {
  auto h = makeHandler(kHead, {"endpoint_pod_names"});
  run(*h, {
              {"pod-4.hdls1.testns.svc.cluster.local.", rr::A, kNoError,
               {"pod-4.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4"}},
              {"172-0-0-4.hdls1.testns.svc.cluster.local.", rr::A, kNxDomain, {}},
              {"dup-name.hdls1.testns.svc.cluster.local.", rr::A, kNoError,
               {"dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
                "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3"}},
              {"4.0.0.172.in-addr.arpa.", rr::PTR, kNoError,
               {"4.0.0.172.in-addr.arpa. 5 IN PTR pod-4.hdls1.testns.svc.cluster.local."}},
          });
}

TEST_CASE("records: SRV weights, targets, merging and additional addresses") {
  auto h = makeHandler(kHead);
  const std::string svc1 = "svc1.testns.svc.cluster.local.";
  run(*h, {
      {"_http._tcp." + svc1, rr::SRV, kNoError,
       {"_http._tcp." + svc1 + " 5 IN SRV 0 100 80 " + svc1},
       {svc1 + " 5 IN A 10.0.0.1"}},
      {svc1, rr::SRV, kNoError, {svc1 + " 5 IN SRV 0 100 80 " + svc1}, {svc1 + " 5 IN A 10.0.0.1"}},
      {"_https._tcp." + svc1, rr::SRV, kNxDomain, {}},
      {"_http._udp." + svc1, rr::SRV, kNxDomain, {}},
      // Two cluster IPs count twice before the identical records merge.
      {"_http._tcp.svc-dual.testns.svc.cluster.local.", rr::SRV, kNoError,
       {"_http._tcp.svc-dual.testns.svc.cluster.local. 5 IN SRV 0 50 80 "
        "svc-dual.testns.svc.cluster.local."},
       {"svc-dual.testns.svc.cluster.local. 5 IN A 10.0.0.3",
        "svc-dual.testns.svc.cluster.local. 5 IN AAAA fd00::3"}},
      // The bare name lists every port, unnamed ones included; `_port._proto` only named ones.
      {"svc-multi.testns.svc.cluster.local.", rr::SRV, kNoError,
       {"svc-multi.testns.svc.cluster.local. 5 IN SRV 0 33 80 svc-multi.testns.svc.cluster.local.",
        "svc-multi.testns.svc.cluster.local. 5 IN SRV 0 33 443 svc-multi.testns.svc.cluster.local.",
        "svc-multi.testns.svc.cluster.local. 5 IN SRV 0 33 53 svc-multi.testns.svc.cluster.local."},
       {"svc-multi.testns.svc.cluster.local. 5 IN A 10.0.0.4"}},
      {"_HTTPS._TCP.svc-multi.testns.svc.cluster.local.", rr::SRV, kNoError,
       {"_HTTPS._TCP.svc-multi.testns.svc.cluster.local. 5 IN SRV 0 100 443 "
        "svc-multi.testns.svc.cluster.local."},
       {"svc-multi.testns.svc.cluster.local. 5 IN A 10.0.0.4"}},
      {"https.tcp.svc-multi.testns.svc.cluster.local.", rr::SRV, kNoError,
       {"https.tcp.svc-multi.testns.svc.cluster.local. 5 IN SRV 0 100 443 "
        "svc-multi.testns.svc.cluster.local."},
       {"svc-multi.testns.svc.cluster.local. 5 IN A 10.0.0.4"}},
      {"_._udp.svc-multi.testns.svc.cluster.local.", rr::SRV, kNoError,
       {"_._udp.svc-multi.testns.svc.cluster.local. 5 IN SRV 0 100 53 "
        "svc-multi.testns.svc.cluster.local."},
       {"svc-multi.testns.svc.cluster.local. 5 IN A 10.0.0.4"}},
      {"svc-noports.testns.svc.cluster.local.", rr::SRV, kNoError, {}},
      {"_http._tcp.svc-noports.testns.svc.cluster.local.", rr::SRV, kNxDomain, {}},
      {"hdls-noports.testns.svc.cluster.local.", rr::SRV, kNoError, {}},
  });
}

TEST_CASE("records: headless SRV, one per target and port, every address in additional") {
  auto h = makeHandler(kHead);
  const std::string base = "hdls1.testns.svc.cluster.local.";
  // Five candidates (the repeated address counts): weight 20.
  run(*h, {
      {"_http._tcp." + base, rr::SRV, kNoError,
       {"_http._tcp." + base + " 5 IN SRV 0 20 80 dup-name." + base,
        "_http._tcp." + base + " 5 IN SRV 0 20 80 172-0-0-4." + base,
        "_http._tcp." + base + " 5 IN SRV 0 20 80 fd00--5." + base},
       {"dup-name." + base + " 5 IN A 172.0.0.2", "dup-name." + base + " 5 IN A 172.0.0.3",
        "172-0-0-4." + base + " 5 IN A 172.0.0.4", "fd00--5." + base + " 5 IN AAAA fd00::5"}},
      {"dup-name." + base, rr::SRV, kNoError,
       {"dup-name." + base + " 5 IN SRV 0 33 80 dup-name." + base},
       {"dup-name." + base + " 5 IN A 172.0.0.2", "dup-name." + base + " 5 IN A 172.0.0.3"}},
  });
}

TEST_CASE("records: PTR for cluster IPs and endpoints, under the primary zone") {
  auto h = makeHandler(kHead);
  const std::string v6 = "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.";
  run(*h, {
      {"1.0.0.10.in-addr.arpa.", rr::PTR, kNoError,
       {"1.0.0.10.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local."}},
      {"3.0.0.10.in-addr.arpa.", rr::PTR, kNoError,
       {"3.0.0.10.in-addr.arpa. 5 IN PTR svc-dual.testns.svc.cluster.local."}},
      {v6, rr::PTR, kNoError, {v6 + " 5 IN PTR svc-dual.testns.svc.cluster.local."}},
      // The same address in two slices answers once.
      {"2.0.0.172.in-addr.arpa.", rr::PTR, kNoError,
       {"2.0.0.172.in-addr.arpa. 5 IN PTR dup-name.hdls1.testns.svc.cluster.local."}},
      {"4.0.0.172.in-addr.arpa.", rr::PTR, kNoError,
       {"4.0.0.172.in-addr.arpa. 5 IN PTR 172-0-0-4.hdls1.testns.svc.cluster.local."}},
      {"10.0.0.172.in-addr.arpa.", rr::PTR, kNoError,
       {"10.0.0.172.in-addr.arpa. 5 IN PTR 172-0-0-10.svc1.testns.svc.cluster.local."}},
      {"7.0.0.10.in-addr.arpa.", rr::PTR, kNoError,
       {"7.0.0.10.in-addr.arpa. 5 IN PTR MixedCase.testns.svc.cluster.local."}},
      {"5.0.0.172.in-addr.arpa.", rr::PTR, kNxDomain, {}, {}, "in-addr.arpa."},  // not ready
      {"9.9.9.9.in-addr.arpa.", rr::PTR, kNxDomain, {}, {}, "in-addr.arpa."},
      {"0.172.in-addr.arpa.", rr::PTR, kNxDomain, {}, {}, "in-addr.arpa."},  // partial: not a name here
      {"in-addr.arpa.", rr::PTR, kNoError, {}, {}, "in-addr.arpa."},
      {"svc1.testns.svc.cluster.local.", rr::PTR, kNoError, {}},  // forward name: NODATA
      {"nope.testns.svc.cluster.local.", rr::PTR, kNxDomain, {}},
  });
}

TEST_CASE("records: PTR targets use the primary zone even when asked in another") {
  auto h = makeHandler("10.in-addr.arpa example.org cluster.local");
  auto r = ask(*h, "1.0.0.10.in-addr.arpa.", rr::PTR);
  CHECK(r.reply.answer == Strings{"1.0.0.10.in-addr.arpa. 5 IN PTR svc1.testns.svc.example.org."});
}

TEST_CASE("records: ExternalName CNAME, chased inside the zone") {
  auto h = makeHandler(kHead);
  const std::string ns = ".testns.svc.cluster.local.";
  run(*h, {
      // Outside the zone: the CNAME alone until the server can be re-entered.
      {"external" + ns, rr::A, kNoError, {"external" + ns + " 5 IN CNAME ext.interwebs.test."}},
      {"external" + ns, rr::CNAME, kNoError, {"external" + ns + " 5 IN CNAME ext.interwebs.test."}},
      {"external" + ns, rr::TXT, kNoError, {}},
      {"external" + ns, rr::SRV, kNoError, {}},
      {"_http._tcp.external" + ns, rr::SRV, kNxDomain, {}},
      {"x.external" + ns, rr::A, kNxDomain, {}},
      {"ext-in" + ns, rr::A, kNoError,
       {"ext-in" + ns + " 5 IN CNAME svc1.testns.svc.cluster.local.",
        "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"}},
      // The target has no AAAA: CoreDNS drops the whole chain, leaving NODATA.
      {"ext-in" + ns, rr::AAAA, kNoError, {}},
      {"ext-chain" + ns, rr::A, kNoError,
       {"ext-chain" + ns + " 5 IN CNAME Ext-In.testns.svc.cluster.local.",
        "Ext-In.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.",
        "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"}},
      {"ext-loop" + ns, rr::A, kNoError, {}},
      {"ext-missing" + ns, rr::A, kNoError, {}},
      {"ext-ip" + ns, rr::A, kNxDomain, {}},
      {"ext-ip" + ns, rr::CNAME, kNxDomain, {}},
      {"svc1" + ns, rr::CNAME, kNoError, {}},
  });
}

TEST_CASE("records: dns-version TXT, apex SOA and NS") {
  auto h = makeHandler(kHead);
  run(*h, {
      {"dns-version.cluster.local.", rr::TXT, kNoError,
       {"dns-version.cluster.local. 28800 IN TXT \"1.1.0\""}},
      {"cluster.local.", rr::SOA, kNoError, {soa()}},
      {"cluster.local.", rr::NS, kNoError, {"cluster.local. 5 IN NS ns.dns.cluster.local."},
       {"ns.dns.cluster.local. 5 IN A 192.0.2.53"}},
      {"ns.dns.cluster.local.", rr::A, kNoError, {"ns.dns.cluster.local. 5 IN A 192.0.2.53"}},
      {"ns.dns.cluster.local.", rr::AAAA, kNoError, {}},
      {"cluster.local.", rr::A, kNoError, {}},
      {"cluster.local.", rr::SRV, kNoError, {}},
  });
}

TEST_CASE("records: NS names the DNS service when this host is one of its endpoints") {
  auto h = makeHandler(kHead, {}, fixtureCluster(), {ip("10.244.0.53"), ip("fd00::53")});
  run(*h, {
      {"cluster.local.", rr::NS, kNoError,
       {"cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local."},
       {"kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10"}},
      {"ns.dns.cluster.local.", rr::A, kNoError, {"ns.dns.cluster.local. 5 IN A 10.96.0.10"}},
  });
  auto none = makeHandler(kHead, {}, fixtureCluster(), {ip("fd00::53")});
  run(*none, {{"cluster.local.", rr::NS, kNoError, {"cluster.local. 5 IN NS ns.dns.cluster.local."},
               {"ns.dns.cluster.local. 5 IN AAAA fd00::53"}},
              {"ns.dns.cluster.local.", rr::AAAA, kNoError,
               {"ns.dns.cluster.local. 5 IN AAAA fd00::53"}}});
}

TEST_CASE("records: pods disabled, insecure, verified") {
  const std::string v4 = "10-244-1-1.testns.pod.cluster.local.";
  SUBCASE("disabled") {
    auto h = makeHandler(kHead);
    run(*h, {{v4, rr::A, kNxDomain, {}},
             {"testns.pod.cluster.local.", rr::A, kNxDomain, {}},
             {"pod.cluster.local.", rr::A, kNoError, {}}});
  }
  SUBCASE("insecure") {
    auto h = makeHandler(kHead, {"pods insecure"});
    run(*h, {{v4, rr::A, kNoError, {v4 + " 5 IN A 10.244.1.1"}},
             {v4, rr::AAAA, kNoError, {}},
             {"1-2-3-4.testns.pod.cluster.local.", rr::A, kNoError,
              {"1-2-3-4.testns.pod.cluster.local. 5 IN A 1.2.3.4"}},
             {"fd00--1.testns.pod.cluster.local.", rr::AAAA, kNoError,
              {"fd00--1.testns.pod.cluster.local. 5 IN AAAA fd00::1"}},
             {"not-an-ip.testns.pod.cluster.local.", rr::A, kNxDomain, {}},
             {"1-2-3-4.nons.pod.cluster.local.", rr::A, kNxDomain, {}},
             {"testns.pod.cluster.local.", rr::A, kNoError, {}},
             {v4, rr::SRV, kNoError, {v4 + " 5 IN SRV 0 100 0 " + v4}, {v4 + " 5 IN A 10.244.1.1"}}});
  }
  SUBCASE("verified") {
    auto h = makeHandler(kHead, {"pods verified"});
    run(*h, {{v4, rr::A, kNoError, {v4 + " 5 IN A 10.244.1.1"}},
             {"fd00--244-1-1.testns.pod.cluster.local.", rr::AAAA, kNoError,
              {"fd00--244-1-1.testns.pod.cluster.local. 5 IN AAAA fd00::244:1:1"}},
             {"1-2-3-4.testns.pod.cluster.local.", rr::A, kNxDomain, {}},
             {"10-244-1-1.other.pod.cluster.local.", rr::A, kNxDomain, {}}});
  }
}

TEST_CASE("records: ttl applies everywhere but dns-version, SOA ttl is capped at 300") {
  auto h = makeHandler(kHead, {"ttl 600"});
  run(*h, {{"svc1.testns.svc.cluster.local.", rr::A, kNoError,
            {"svc1.testns.svc.cluster.local. 600 IN A 10.0.0.1"}},
           {"dns-version.cluster.local.", rr::TXT, kNoError,
            {"dns-version.cluster.local. 28800 IN TXT \"1.1.0\""}},
           {"nope.testns.svc.cluster.local.", rr::A, kNxDomain, {}}},
      600);
  CHECK(soa("cluster.local.", 600).find(" 300 IN SOA ") != std::string::npos);
}

}  // namespace
}  // namespace moat::plugins::kubernetes
