// nsid: the stanza's checks, and what onReply does to replies the chain fitted.
#include "plugins/nsid/nsid.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/edns_option.hpp"
#include "dns/message.hpp"
#include "dns/reply_fit.hpp"
#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

using namespace moat;
using namespace moat::testing;
using plugins::nsid::NsidHandler;

namespace {

constexpr uint16_t kNsid = dns::ednsopt::NSID;

// A query with EDNS (size `udp`) whose OPT asks for NSID (an empty option, as dig +nsid sends).
std::vector<uint8_t> nsidQuery(const std::string& name, uint16_t udp = 1232) {
  auto pkt = makeQuery({.name = name, .edns = udp});
  const uint8_t option[4] = {0, kNsid, 0, 0};
  pkt.insert(pkt.end(), option, option + 4);
  dns::put16(pkt.data() + pkt.size() - 6, 4);  // the OPT's RDLENGTH
  return pkt;
}

// Loads `pkt`, writes a NOERROR with `records` A records for the question, fits it as the
// chain does, then lets `handler` see the reply.
dns::Query& answer(dns::Query& q, const std::vector<uint8_t>& pkt, NsidHandler& handler, int records,
                   dns::Proto proto = dns::Proto::Udp) {
  loadQuery(q, pkt, proto);
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  for (int i = 0; i < records; ++i) {
    const uint8_t addr[4] = {192, 0, 2, static_cast<uint8_t>(i)};
    w.addRR(dns::Section::Answer, q.view.question.lowerName(), dns::rrtype::A, dns::rrclass::IN, 60, addr);
  }
  dns::finalizeReply(q.reply, q.view, q.proto);
  handler.onReply(q);
  return q;
}

std::vector<std::vector<uint8_t>> nsidOptions(const Reply& r) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& [code, data] : r.ednsOptions) {
    if (code == kNsid) out.push_back(data);
  }
  return out;
}

// What nsidOptions returns for a reply with exactly one NSID holding `s`.
std::vector<std::vector<uint8_t>> only(std::string_view s) {
  return {std::vector<uint8_t>(s.begin(), s.end())};
}

std::string setupError(std::string_view corefile) {
  auto p = stanzasOf(corefile, "nsid");
  auto data = plugins::nsid::parseData(*p.stanzas.front(), "host");
  REQUIRE_FALSE(data.ok());
  return data.error().str();
}

}  // namespace

TEST_CASE("nsid: DATA is the words of the line joined by spaces, else the host name") {
  auto p = stanzasOf("example.org {\n    whoami\n    nsid Use The Force\n}\n", "nsid");
  CHECK(*plugins::nsid::parseData(*p.stanzas.front(), "host") == "Use The Force");
  p = stanzasOf(". {\n  nsid\n}\n", "nsid");
  CHECK(*plugins::nsid::parseData(*p.stanzas.front(), "node-7") == "node-7");
  p = stanzasOf(". {\n  nsid \"two  spaces\"\n}\n", "nsid");
  CHECK(*plugins::nsid::parseData(*p.stanzas.front(), "host") == "two  spaces");
  CHECK_FALSE(plugins::nsid::hostName().empty());
}

TEST_CASE("nsid: a block and an overlong DATA are errors at their position") {
  CHECK(setupError(". {\n  nsid x {\n  }\n}\n") == "Corefile:2:3: nsid: 'nsid' takes no block");
  CHECK(setupError(". {\n  nsid " + std::string(129, 'a') + "\n}\n") ==
        "Corefile:2:8: nsid: DATA is 129 bytes, at most 128 are allowed");
}

TEST_CASE("nsid: a query asking for NSID gets the DATA as the option's bytes") {
  NsidHandler h("Use The Force");
  dns::Query q;
  answer(q, nsidQuery("whoami.example.org."), h, 1);
  Reply r = decode(q.reply);
  REQUIRE(r.ok);
  CHECK(r.hasOpt);
  CHECK(r.optUdpSize == 1232);
  CHECK(nsidOptions(r) == only("Use The Force"));
  CHECK(r.answer.size() == 1);
}

TEST_CASE("nsid: queries that do not ask for it are left alone") {
  NsidHandler h("id");
  SUBCASE("EDNS without the option") {
    dns::Query q;
    answer(q, makeQuery({.name = "a.example.", .edns = 1232}), h, 1);
    Reply r = decode(q.reply);
    CHECK(r.hasOpt);
    CHECK(r.ednsOptions.empty());
  }
  SUBCASE("no EDNS: no OPT appears") {
    dns::Query q;
    answer(q, makeQuery({.name = "a.example."}), h, 1);
    CHECK_FALSE(decode(q.reply).hasOpt);
  }
}

TEST_CASE("nsid: an upstream's NSID is replaced, never duplicated, and other options stay") {
  NsidHandler h("moat-1");
  dns::Query q;
  loadQuery(q, nsidQuery("a.example."));
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, false);
  // An upstream reply's OPT: its NSID between two other options (EDE 0 "x", and a cookie).
  const uint8_t root[] = {0};
  const uint8_t options[] = {0, 15, 0, 3, 0, 0, 'x',
                             0, kNsid, 0, 4, 'u', 'p', 'u', 'p',
                             0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
  w.addRR(dns::Section::Additional, root, dns::rrtype::OPT, 4096, 0, options);
  dns::finalizeReply(q.reply, q.view, q.proto);
  h.onReply(q);
  h.onReply(q);  // twice (a reply seen again) still leaves one
  Reply r = decode(q.reply);
  REQUIRE(r.ok);
  CHECK(nsidOptions(r) == only("moat-1"));
  REQUIRE(r.ednsOptions.size() == 3);
  CHECK(r.ednsOptions[0].first == 15);
  CHECK(r.ednsOptions[1].first == 10);
  CHECK(r.ednsOptions[2].first == kNsid);
}

TEST_CASE("nsid: a reply the option pushes past the client's buffer is cut, and keeps NSID") {
  const std::string data(100, 'n');
  NsidHandler h(data);
  // The most A records that fit 512 bytes without the option.
  int fits = 0;
  for (int n = 1; n < 40; ++n) {
    dns::Query q;
    NsidHandler none("");
    answer(q, makeQuery({.name = "a.example.", .edns = 512}), none, n);
    if (decode(q.reply).tc) break;
    fits = n;
  }
  REQUIRE(fits > 10);
  dns::Query q;
  answer(q, nsidQuery("a.example.", 512), h, fits);
  Reply r = decode(q.reply);
  REQUIRE(r.ok);
  CHECK(q.reply.size() <= 512);
  CHECK(r.tc);
  CHECK(r.answer.size() < static_cast<size_t>(fits));
  CHECK(nsidOptions(r) == only(data));

  SUBCASE("over TCP nothing is cut") {
    dns::Query t;
    answer(t, nsidQuery("a.example.", 512), h, fits, dns::Proto::Tcp);
    Reply rt = decode(t.reply);
    CHECK_FALSE(rt.tc);
    CHECK(rt.answer.size() == static_cast<size_t>(fits));
    CHECK(nsidOptions(rt) == only(data));
  }
}

TEST_CASE("nsid: a reply that had to be compressed and cut still carries NSID") {
  NsidHandler h("edge-3");
  dns::Query q;
  answer(q, nsidQuery("a-rather-long-name.example.org.", 1232), h, 200);
  Reply r = decode(q.reply);
  REQUIRE(r.ok);
  CHECK(r.tc);
  CHECK(q.reply.size() <= 1232);
  CHECK(nsidOptions(r) == only("edge-3"));
}

TEST_CASE("nsid: adding the option allocates nothing once the reply buffer is warm") {
  NsidHandler h("Use The Force");
  dns::Query q;
  loadQuery(q, nsidQuery("a.example."));
  q.reply.reserve(4096);
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
  dns::finalizeReply(q.reply, q.view, q.proto);
  allocations = 0;
  counting = true;
  h.onQuery(q);
  h.onReply(q);
  counting = false;
  CHECK(allocations == 0);
  CHECK(nsidOptions(decode(q.reply)) == only("Use The Force"));
}

TEST_CASE("nsid: explain says whether the reply will carry NSID") {
  moat::testing::TraceNotes notes;
  NsidHandler h("Use The Force");
  dns::Query q;
  loadQuery(q, nsidQuery("a.example."));
  q.trace = &notes;
  CHECK(h.onQuery(q) == plugins::Verdict::Next);
  loadQuery(q, makeQuery({.name = "a.example."}));
  q.trace = &notes;
  h.onQuery(q);
  CHECK(notes.lines == std::vector<std::string>{
                           "nsid: the reply will carry NSID \"Use The Force\"",
                           "nsid: the query asks for no NSID: the reply is left alone"});
}
