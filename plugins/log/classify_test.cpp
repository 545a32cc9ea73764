#include <doctest/doctest.h>

#include "plugins/log/classify.hpp"
#include "plugins/log/log_test_util.hpp"

namespace moat::plugins::log {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15

struct Built {
  std::unique_ptr<dns::Query> q;
  dns::MessageWriter w;
  explicit Built(testing::QuerySpec spec, dns::RCode rcode = dns::RCode::NoError)
      : q(test::query(spec)), w(q->reply) {
    w.startReply(q->requestBytes(), q->view, rcode, true);
  }
  ResponseClass cls(bool requestDo = false) const {
    return classify(inspectReply(q->reply, kNow), requestDo);
  }
};

const dns::WireName kOwner = *dns::nameFromText("example.org.");  // no REQUIRE before main
const uint8_t kAddr[4] = {192, 0, 2, 1};

std::vector<uint8_t> soaRdata() {
  std::vector<uint8_t> r = test::wire("ns.example.org.");
  auto mbox = test::wire("hostmaster.example.org.");
  r.insert(r.end(), mbox.begin(), mbox.end());
  r.resize(r.size() + 20, 0);
  return r;
}

std::vector<uint8_t> rrsigRdata(uint32_t inception, uint32_t expiration) {
  std::vector<uint8_t> r(18, 0);
  dns::put16(r.data(), dns::rrtype::A);
  dns::put32(r.data() + 8, expiration);
  dns::put32(r.data() + 12, inception);
  auto signer = test::wire("example.org.");
  r.insert(r.begin() + 18, signer.begin(), signer.end());
  return r;
}

TEST_CASE("classify: success, denial and error as CoreDNS's response package") {
  SUBCASE("NOERROR with answers is success") {
    Built b({.name = "example.org."});
    b.w.addRR(dns::Section::Answer, kOwner, dns::rrtype::A, 1, 60, kAddr);
    CHECK(b.cls() == ResponseClass::Success);
  }
  SUBCASE("NXDOMAIN without SOA is denial") {
    Built b({.name = "example.org."}, dns::RCode::NXDomain);
    CHECK(b.cls() == ResponseClass::Denial);
  }
  SUBCASE("NXDOMAIN with SOA is denial") {
    Built b({.name = "example.org."}, dns::RCode::NXDomain);
    b.w.addRR(dns::Section::Authority, kOwner, dns::rrtype::SOA, 1, 60, soaRdata());
    CHECK(b.cls() == ResponseClass::Denial);
  }
  SUBCASE("NOERROR with SOA in authority (NODATA) is denial") {
    Built b({.name = "example.org."});
    b.w.addRR(dns::Section::Authority, kOwner, dns::rrtype::SOA, 1, 60, soaRdata());
    CHECK(b.cls() == ResponseClass::Denial);
  }
  SUBCASE("NOERROR with nothing at all is success") {
    Built b({.name = "example.org."});
    CHECK(b.cls() == ResponseClass::Success);
  }
  SUBCASE("a delegation is success") {
    Built b({.name = "example.org."});
    b.w.addRR(dns::Section::Authority, kOwner, dns::rrtype::NS, 1, 60, test::wire("ns.example.org."));
    CHECK(b.cls() == ResponseClass::Success);
  }
  SUBCASE("SERVFAIL, NOTIMP, REFUSED, FORMERR are errors") {
    for (auto rc : {dns::RCode::ServFail, dns::RCode::NotImp, dns::RCode::Refused,
                    dns::RCode::FormErr, dns::RCode::YXDomain}) {
      Built b({.name = "example.org."}, rc);
      CHECK(b.cls() == ResponseClass::Error);
    }
  }
  SUBCASE("NXDOMAIN with answers is an error") {
    Built b({.name = "example.org."}, dns::RCode::NXDomain);
    b.w.addRR(dns::Section::Answer, kOwner, dns::rrtype::A, 1, 60, kAddr);
    CHECK(b.cls() == ResponseClass::Error);
  }
  SUBCASE("transfers and non-query opcodes are errors") {
    Built axfr({.name = "example.org.", .type = dns::rrtype::AXFR});
    CHECK(axfr.cls() == ResponseClass::Error);
    Built ixfr({.name = "example.org.", .type = dns::rrtype::IXFR});
    CHECK(ixfr.cls() == ResponseClass::Error);
    Built notify({.name = "example.org."});
    dns::put16(notify.q->reply.data() + 2, dns::flag::QR | (4 << 11));
    CHECK(notify.cls() == ResponseClass::Error);
    Built update({.name = "example.org."});
    dns::put16(update.q->reply.data() + 2, dns::flag::QR | (5 << 11));
    CHECK(update.cls() == ResponseClass::Error);
  }
  SUBCASE("an expired signature is an error only when DO is set") {
    Built b({.name = "example.org."});
    b.w.addRR(dns::Section::Answer, kOwner, dns::rrtype::A, 1, 60, kAddr);
    b.w.addRR(dns::Section::Answer, kOwner, 46, 1, 60, rrsigRdata(kNow - 200, kNow - 100));
    CHECK(b.cls(false) == ResponseClass::Success);
    CHECK(b.cls(true) == ResponseClass::Error);
    // The reply's own OPT wins over the request's DO bit.
    dns::appendOpt(b.q->reply, 1232, false);
    CHECK(b.cls(true) == ResponseClass::Success);
  }
  SUBCASE("a valid signature stays success with DO") {
    Built b({.name = "example.org."});
    b.w.addRR(dns::Section::Answer, kOwner, dns::rrtype::A, 1, 60, kAddr);
    b.w.addRR(dns::Section::Answer, kOwner, 46, 1, 60, rrsigRdata(kNow - 100, kNow + 100));
    CHECK(b.cls(true) == ResponseClass::Success);
  }
  SUBCASE("garbage is an error") {
    CHECK(classify(inspectReply({}, kNow), false) == ResponseClass::Error);
    Built b({.name = "example.org."});
    dns::put16(b.q->reply.data() + 6, 3);  // claims three answers, has none
    CHECK(b.cls() == ResponseClass::Error);
    CHECK(inspectReply(b.q->reply, kNow).header);
    CHECK_FALSE(inspectReply(b.q->reply, kNow).complete);
  }
}

TEST_CASE("inspectReply reads the counts that matter") {
  Built b({.name = "example.org."});
  b.w.addRR(dns::Section::Answer, kOwner, dns::rrtype::A, 1, 60, kAddr);
  b.w.addRR(dns::Section::Authority, kOwner, dns::rrtype::NS, 1, 60, test::wire("a.example.org."));
  b.w.addRR(dns::Section::Authority, kOwner, dns::rrtype::NS, 1, 60, test::wire("b.example.org."));
  dns::appendOpt(b.q->reply, 4096, true);
  ReplyInfo info = inspectReply(b.q->reply, kNow);
  CHECK(info.complete);
  CHECK(info.answers == 1);
  CHECK(info.nsInAuthority == 2);
  CHECK_FALSE(info.soaInAuthority);
  CHECK(info.hasOpt);
  CHECK(info.optDo);
  CHECK(info.qtype == dns::rrtype::A);
  CHECK(info.rcode == 0);
}

TEST_CASE("class names") {
  CHECK(className(ResponseClass::Success) == "success");
  CHECK(className(ResponseClass::Denial) == "denial");
  CHECK(className(ResponseClass::Error) == "error");
}

}  // namespace
}  // namespace moat::plugins::log
