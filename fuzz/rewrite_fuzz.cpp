// Fuzz target: `rewrite` rules as a Corefile writes them (the input is the body of a `.` block),
// through the Corefile parser and rewrite's rule parser; a config that loads then rewrites three
// queries (fixed names and one taken from the rules' own words) and maps a reply back: a CNAME,
// an A, an MX and an SOA, plus the OPT. Invariants: a query passed on still parses and its name
// is a valid name; after the reply path the request holds the client's question again, byte for
// byte, and the reply (unless SERVFAIL) walks to its end and carries that same question. Each
// query goes once with EDNS and once without, for edns0 rules (an OPT added and taken off again).
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "dns/edns_option.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/record_walker.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/rewrite/rewrite.hpp"

namespace {

using namespace moat;
namespace rw = plugins::rewrite;

std::vector<uint8_t> question(const dns::Query& q) {
  const size_t start = q.view.question.nameOffset;
  return {q.request.begin() + static_cast<std::ptrdiff_t>(start),
          q.request.begin() + static_cast<std::ptrdiff_t>(q.view.question.end)};
}

void exercise(rw::RewriteHandler& h, std::span<const uint8_t> name, uint16_t type, bool edns) {
  dns::Query q;
  const auto size = edns ? std::optional<uint16_t>(1232) : std::nullopt;
  if (!fuzz::loadQuery(q, fuzz::makeQuery(name, type, dns::rrclass::IN, 0x4242, size))) return;
  const bool hadEdns = q.view.edns.present;
  const std::vector<uint8_t> asked = question(q);
  const plugins::Verdict v = h.onQuery(q);
  if (v == plugins::Verdict::Next) {
    dns::Query copy;
    FUZZ_CHECK(dns::parseQuery(q.requestBytes(), copy.view) == dns::ParseStatus::Ok);
    FUZZ_CHECK(q.view.question.nameLen >= 1 && q.view.question.nameLen <= dns::kMaxNameLen);
    const std::span<const uint8_t> now = q.view.question.lowerName();
    dns::MessageWriter w(q.reply);
    w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
    const auto target = *dns::nameFromText("target.example.");
    w.addRR(dns::Section::Answer, now, dns::rrtype::CNAME, dns::rrclass::IN, 300, target);
    const std::array<uint8_t, 4> a{192, 0, 2, 1};
    w.addRR(dns::Section::Answer, target, dns::rrtype::A, dns::rrclass::IN, 5, a);
    std::vector<uint8_t> mx = {0, 10};
    mx.insert(mx.end(), now.begin(), now.end());
    w.addRR(dns::Section::Answer, now, dns::rrtype::MX, dns::rrclass::IN, 60, mx);
    std::vector<uint8_t> soa(now.begin(), now.end());
    soa.insert(soa.end(), target.begin(), target.end());
    soa.resize(soa.size() + 20, 1);
    w.addRR(dns::Section::Authority, now, dns::rrtype::SOA, dns::rrclass::IN, 60, soa);
    // edns0 rules leave an OPT whose options still walk.
    if (q.view.edns.present) {
      FUZZ_CHECK(size_t{q.view.edns.offset} + q.view.edns.length <= q.requestLen);
      dns::appendOpt(q.reply, 1232, false);
      dns::putReplyOption(q.reply, dns::ednsopt::ClientSubnet, std::array<uint8_t, 4>{0, 1, 0, 0});
    }
  } else {
    FUZZ_CHECK(v == plugins::Verdict::Answered);
  }
  h.onReply(q);
  FUZZ_CHECK(question(q) == asked);
  FUZZ_CHECK(q.askedLen == 0);
  FUZZ_CHECK(q.view.edns.present == hadEdns);  // an OPT a rule added is gone again
  FUZZ_CHECK(q.reply.size() >= dns::kHeaderSize);
  if ((dns::Header::read(q.reply.data()).flags & dns::flag::RcodeMask) == 2) return;  // SERVFAIL
  dns::RecordWalker walk(q.reply);
  dns::Record first;
  FUZZ_CHECK(walk.nextQuestion(first));
  FUZZ_CHECK(std::equal(asked.begin(), asked.end(), q.reply.begin() + first.start));
  for (dns::Record r; walk.next(r);) {
  }
  FUZZ_CHECK(walk.done());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto file = conf::parseCorefile(". {\n" + body + "\n}\n", "Corefile");
  if (!file || file->blocks.empty()) return 0;
  std::vector<const conf::Directive*> stanzas;
  for (const conf::Directive& d : file->blocks[0].directives) {
    if (d.name.text == "rewrite") stanzas.push_back(&d);
  }
  auto config = rw::parseConfig(stanzas);
  if (!config) {
    FUZZ_CHECK(!config.error().message.empty());
    return 0;
  }
  // A name out of the rules themselves, so FROM patterns get a chance to match.
  std::string fromRules = "www.example.org.";
  for (const rw::Rule& rule : config->rules) {
    if (rule.name.match != rw::Match::Regex && !rule.name.from.empty()) fromRules = "a." + rule.name.from;
  }
  rw::RewriteHandler h(std::move(*config), 1);
  for (const std::string& text : {std::string("www.example.org."), std::string("Ftp-US-West-1.coredns.rocks."), fromRules}) {
    auto wire = dns::nameFromText(text);
    if (!wire) continue;
    exercise(h, *wire, dns::rrtype::A, true);
    exercise(h, *wire, dns::rrtype::A, false);
  }
  return 0;
}
