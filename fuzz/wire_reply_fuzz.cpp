// Fuzz target: bytes an upstream sent back, through everything that reads or rewrites a reply.
// The input is the reply. The query it is checked against asks the reply's own first question
// when that is one a client could send (so the match succeeds and the later steps run), else
// example.org. A; bits of the reply's ID pick EDNS and DO for that query, TCP, and whether the
// balancer on the way back has `prefer` subnets.
//  - forward's reply check (checkReply);
//  - cache's wire walk (scanReply, setTtls) on the raw bytes;
//  - loadbalance's reordering (with and without `prefer`) on the raw bytes: same size, same
//    header, and when ldns can read the reply, the same records per section afterwards;
//  - the log's reply inspection;
//  - for a matching reply, the path a forwarded reply takes: finalizeReply (compression and
//    truncation to the client's buffer), then the onReply observers in reverse chain order:
//    loadbalance, cache (stored, then served to a second query: the served bytes must walk),
//    log.
#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "dns/ldns.hpp"
#include "dns/message.hpp"
#include "dns/query.hpp"
#include "dns/record_walker.hpp"
#include "dns/reply_fit.hpp"
#include "dns/wire.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/cache/cache.hpp"
#include "plugins/cache/wire_walk.hpp"
#include "plugins/forward/reply_check.hpp"
#include "plugins/loadbalance/loadbalance.hpp"
#include "plugins/log/classify.hpp"

namespace {

using namespace moat;
namespace cache = plugins::cache;
namespace lb = plugins::loadbalance;

constexpr int64_t kUnixNow = 1700000000;

class FixedClock final : public cache::Clock {
 public:
  cache::TimePoint now() const override { return cache::TimePoint{std::chrono::hours(1000)}; }
};

// Record types whose every name loadbalance knows where to find (RFC 3597 §4's compressible
// types and the usual opaque ones): for replies made only of these, reordering must keep the
// records exactly as ldns reads them.
bool plainType(uint16_t t) {
  switch (t) {
    case 1: case 2: case 5: case 6: case 12: case 15: case 16: case 28: case 33: case 39: case 41:
      return true;
    default:
      return false;
  }
}

// Whether every record's RDATA is exactly what its type holds (a plainType() one): ldns reads
// the RDATA of A, AAAA and names by their type, not by RDLENGTH, so where the two disagree it
// sees other record boundaries than Moat's walk and cannot judge a reordering.
bool rdataConsistent(std::span<const uint8_t> msg) {
  dns::RecordWalker walk(msg);
  for (dns::Record r; walk.next(r);) {
    const size_t rdata = r.rdata(), end = r.end();
    auto names = [&](size_t at, int count, size_t suffix) {
      for (int n = 0; n < count; ++n) {
        at = dns::skipName(msg.first(end), at);
        if (at == 0) return false;
      }
      return at + suffix == end;
    };
    bool ok = true;
    switch (r.type) {
      case 1: ok = r.rdlength == 4; break;
      case 28: ok = r.rdlength == 16; break;
      case 2: case 5: case 12: case 39: ok = names(rdata, 1, 0); break;
      case 15: ok = r.rdlength > 2 && names(rdata + 2, 1, 0); break;
      case 33: ok = r.rdlength > 6 && names(rdata + 6, 1, 0); break;
      case 6: ok = names(rdata, 2, 20); break;
      case 16: {
        size_t at = rdata;
        while (at < end) at += 1u + msg[at];
        ok = at == end && end > rdata;
        break;
      }
      default: break;
    }
    if (!ok) return false;
  }
  return walk.done();
}

using Sections = std::array<std::vector<std::string>, 3>;

// Each section's records in ldns's text form, sorted; nullopt when ldns cannot read the reply
// or it holds a type outside plainType() or RDATA not of its type's shape.
std::optional<Sections> recordsOf(std::span<const uint8_t> msg) {
  if (msg.size() < dns::kHeaderSize || !rdataConsistent(msg)) return std::nullopt;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, msg.data(), msg.size()) != LDNS_STATUS_OK) return std::nullopt;
  dns::LdnsPkt pkt(raw);
  Sections out;
  ldns_rr_list* lists[3] = {ldns_pkt_answer(raw), ldns_pkt_authority(raw),
                            ldns_pkt_additional(raw)};
  for (size_t s = 0; s < 3; ++s) {
    for (size_t i = 0; lists[s] != nullptr && i < ldns_rr_list_rr_count(lists[s]); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(lists[s], i);
      if (!plainType(static_cast<uint16_t>(ldns_rr_get_type(rr)))) return std::nullopt;
      char* text = ldns_rr2str(rr);
      if (text == nullptr) return std::nullopt;
      out[s].emplace_back(text);
      free(text);  // NOLINT: ldns allocates with malloc
    }
    std::sort(out[s].begin(), out[s].end());
  }
  return out;
}

lb::LoadbalanceHandler& balancer(bool prefer) {
  static lb::LoadbalanceHandler plain(lb::Config{}, 1, 42);
  static lb::LoadbalanceHandler preferring(
      lb::Config{{*lb::parseSubnet("10.0.0.0/8"), *lb::parseSubnet("2001:db8::/32"),
                  *lb::parseSubnet("192.0.2.0/24")}},
      1, 42);
  return prefer ? preferring : plain;
}

void checkBalance(std::span<const uint8_t> reply, bool prefer) {
  std::vector<uint8_t> msg(reply.begin(), reply.end());
  balancer(prefer).balance(msg, 0);
  FUZZ_CHECK(msg.size() == reply.size());
  if (reply.size() < dns::kHeaderSize) return;
  FUZZ_CHECK(std::equal(msg.begin(), msg.begin() + dns::kHeaderSize, reply.begin()));
  if (std::equal(msg.begin(), msg.end(), reply.begin())) return;
  // Something moved: the message must still walk, and say the same.
  const cache::ReplyScan before = cache::scanReply(reply);
  const cache::ReplyScan after = cache::scanReply(msg);
  FUZZ_CHECK(before.ok && after.ok);
  FUZZ_CHECK(before.kind == after.kind && before.minTtl == after.minTtl);
  if (auto records = recordsOf(reply)) {
    auto again = recordsOf(msg);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *records);
  }
}

void checkScan(std::span<const uint8_t> reply) {
  const cache::ReplyScan scan = cache::scanReply(reply);
  std::vector<uint8_t> copy(reply.begin(), reply.end());
  const bool set = cache::setTtls(copy, 77);
  if (!scan.ok) return;
  FUZZ_CHECK(scan.optStart <= scan.optEnd && scan.optEnd <= reply.size());
  // Both walk the same records: what one can walk, the other can rewrite.
  FUZZ_CHECK(set);
  const cache::ReplyScan again = cache::scanReply(copy);
  FUZZ_CHECK(again.ok && again.kind == scan.kind);
}

// The query to check the reply against, loaded into `q`.
void makeQuery(dns::Query& q, std::span<const uint8_t> reply) {
  uint16_t id = 0;
  if (reply.size() >= dns::kHeaderSize) id = dns::Header::read(reply.data()).id;
  std::optional<uint16_t> edns;
  switch (id & 3) {
    case 1: edns = 1232; break;
    case 2: edns = 512; break;
    case 3: edns = 4096; break;
    default: break;
  }
  const bool dnssecOk = (id & 8) != 0;
  const dns::Proto proto = (id & 4) ? dns::Proto::Tcp : dns::Proto::Udp;
  if (reply.size() >= dns::kHeaderSize) {
    const size_t end = dns::skipName(reply, dns::kHeaderSize);
    if (end != 0 && end + 4 <= reply.size() && reply[end - 1] == 0) {  // uncompressed
      std::span<const uint8_t> name = reply.subspan(dns::kHeaderSize, end - dns::kHeaderSize);
      const auto packet = fuzz::makeQuery(name, dns::get16(&reply[end]),
                                          dns::get16(&reply[end + 2]), id, edns, dnssecOk);
      if (fuzz::loadQuery(q, packet, proto)) return;
    }
  }
  static const uint8_t kName[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0};
  const bool ok = fuzz::loadQuery(q, fuzz::makeQuery(kName, 1, 1, id, edns, dnssecOk), proto);
  FUZZ_CHECK(ok);
}

// A forwarded reply's way back to the client.
void replyPath(dns::Query& q, std::span<const uint8_t> reply) {
  q.reply.assign(reply.begin(), reply.end());
  dns::finalizeReply(q.reply, q.view, q.proto);
  FUZZ_CHECK(q.reply.size() >= dns::kHeaderSize);
  if (q.proto == dns::Proto::Udp) FUZZ_CHECK(q.reply.size() <= q.view.udpLimit());
  FUZZ_CHECK(!plugins::forward::checkReply(q.reply, q.view));  // the question survives
  q.finalized = true;
  q.chainReplySize = static_cast<uint16_t>(reply.size());

  balancer(q.view.header.id & 16).balance(q.reply, 0);

  cache::CacheConfig config;
  config.zones = {"."};
  config.success.capacity = config.denial.capacity = 1;
  cache::Cache store(config, 1, std::make_shared<FixedClock>());
  if (store.onQuery(q) == plugins::Verdict::Next) store.onReply(q);
  const std::vector<uint8_t> sent = q.reply;

  // The same question again, from another client spelling: served from the cache if stored.
  std::vector<uint8_t> again(q.requestBytes().begin(), q.requestBytes().end());
  for (size_t i = dns::kHeaderSize; i < q.view.question.end - 4u; ++i) {
    if (again[i] >= 'a' && again[i] <= 'z') again[i] = static_cast<uint8_t>(again[i] - 32);
  }
  again[0] ^= 0x5a;  // another ID
  dns::Query second;
  FUZZ_CHECK(fuzz::loadQuery(second, again, q.proto));
  if (store.onQuery(second) == plugins::Verdict::Answered) {
    const std::vector<uint8_t>& hit = second.reply;
    FUZZ_CHECK(hit.size() >= dns::kHeaderSize);
    FUZZ_CHECK(dns::Header::read(hit.data()).id == second.view.header.id);
    FUZZ_CHECK(cache::scanReply(hit).ok);
    FUZZ_CHECK(std::equal(hit.begin() + dns::kHeaderSize,
                          hit.begin() + second.view.question.end - 4,
                          again.begin() + dns::kHeaderSize));
    // The stored reply is the one sent minus its OPT and any bytes after its last record. A
    // name may point at bytes running on into those (only a hostile upstream writes that: the
    // cache walks names, it does not read them), so only a reply without either must decode.
    const cache::ReplyScan sentScan = cache::scanReply(sent);
    if (recordsOf(sent).has_value() && sentScan.end == sent.size() &&
        sentScan.optStart == sentScan.optEnd) {
      ldns_pkt* raw = nullptr;
      FUZZ_CHECK(ldns_wire2pkt(&raw, hit.data(), hit.size()) == LDNS_STATUS_OK);
      ldns_pkt_free(raw);
    }
    store.onReply(second);
  }

  const plugins::log::ReplyInfo info = plugins::log::inspectReply(q.reply, kUnixNow);
  FUZZ_CHECK(info.header);
  plugins::log::classify(info, q.view.edns.dnssecOk);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > dns::kMaxMessage) return 0;
  std::span<const uint8_t> reply(data, size);

  static dns::Query q;
  makeQuery(q, reply);
  const bool matches = !plugins::forward::checkReply(reply, q.view);
  if (matches) {
    const dns::Header h = dns::Header::read(data);
    FUZZ_CHECK(h.qdcount == 1 && (h.flags & dns::flag::QR));
  }

  checkScan(reply);
  checkBalance(reply, false);
  checkBalance(reply, true);

  const plugins::log::ReplyInfo info = plugins::log::inspectReply(reply, kUnixNow);
  FUZZ_CHECK(info.header == (size >= dns::kHeaderSize));
  plugins::log::classify(info, false);

  if (matches) replyPath(q, reply);
  return 0;
}
