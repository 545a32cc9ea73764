// Fuzz target: a client's datagram, from the bytes to the reply that leaves. The input goes
// through Worker::accept exactly as a listener hands it over (parseQuery, then FORMERR, NOTIMP,
// BADVERS or the chain); the "chain" answers with up to 63 A records so that finalizeReply has
// to compress and truncate. Every reply must be one ldns can decode, echo the ID, and fit the
// client's buffer over UDP. skipName/readName and the name text form are checked on the side.
#include <cstdint>
#include <cstring>
#include <vector>

#include "dns/ldns.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/reply_fit.hpp"
#include "dns/server/worker.hpp"
#include "dns/wire.hpp"
#include "fuzz/fuzz_util.hpp"

namespace {

using namespace moat;

struct Sink final : dns::ReplySink {
  int sent = 0, dropped = 0;
  void sendReply(dns::Query&) override { ++sent; }
  void dropQuery(dns::Query&) override { ++dropped; }
};

// The end of a chain: a NOERROR with `records` A records for the question, fitted for the wire.
struct Answerer final : dns::Dispatcher {
  unsigned records = 0;
  bool reached = false;
  void dispatch(dns::Query& q) override {
    reached = true;
    dns::MessageWriter w(q.reply);
    w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, true);
    std::span<const uint8_t> owner(q.request.data() + q.view.question.nameOffset,
                                   q.view.question.nameLen);
    for (unsigned i = 0; i < records; ++i) {
      const uint8_t addr[4] = {192, 0, 2, static_cast<uint8_t>(i)};
      w.addRR(dns::Section::Answer, owner, dns::rrtype::A, dns::rrclass::IN, 300, addr);
    }
    dns::finalizeReply(q.reply, q.view, q.proto);
    q.sink->sendReply(q);
  }
};

bool ldnsDecodes(const std::vector<uint8_t>& msg) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, msg.data(), msg.size()) != LDNS_STATUS_OK) return false;
  ldns_pkt_free(raw);
  return true;
}

void checkNames(std::span<const uint8_t> pkt, size_t off) {
  std::vector<uint8_t> name;
  const size_t skipped = dns::skipName(pkt, off);
  const size_t read = dns::readName(pkt, off, name);
  FUZZ_CHECK(skipped <= pkt.size());
  FUZZ_CHECK(read <= pkt.size());
  if (read == 0) return;
  // readName follows pointers and bounds the whole name; skipName only what is stored at `off`.
  FUZZ_CHECK(skipped == read);
  FUZZ_CHECK(!name.empty() && name.size() <= dns::kMaxNameLen && name.back() == 0);
  // The presentation form reads back to the same wire name.
  auto again = dns::nameFromText(dns::nameToText(name));
  FUZZ_CHECK(again.has_value() && *again == name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dns::server::Worker worker(0, 1);
  static dns::Query q;
  const size_t n = std::min(size, dns::kMaxRequest);
  std::span<const uint8_t> pkt(data, n);

  q.reset();
  std::memcpy(q.request.data(), data, n);
  q.requestLen = static_cast<uint16_t>(n);
  q.proto = size % 2 == 1 ? dns::Proto::Tcp : dns::Proto::Udp;
  Sink sink;
  q.sink = &sink;
  Answerer chain;
  chain.records = size > 0 ? data[size - 1] % 64 : 0;
  worker.accept(q, chain);
  FUZZ_CHECK(sink.sent + sink.dropped == 1);

  dns::QueryView view;
  const dns::ParseStatus status = dns::parseQuery(pkt, view);
  if (sink.dropped == 1) {
    FUZZ_CHECK(status == dns::ParseStatus::Drop);
    FUZZ_CHECK(n < dns::kHeaderSize || (dns::Header::read(data).flags & dns::flag::QR));
  } else {
    FUZZ_CHECK(status != dns::ParseStatus::Drop);
    const std::vector<uint8_t>& reply = q.reply;
    FUZZ_CHECK(reply.size() >= dns::kHeaderSize);
    const dns::Header h = dns::Header::read(reply.data());
    FUZZ_CHECK(h.id == dns::Header::read(data).id);
    FUZZ_CHECK(h.flags & dns::flag::QR);
    FUZZ_CHECK(h.opcode() == dns::Header::read(data).opcode());
    FUZZ_CHECK(ldnsDecodes(reply));
    if (status == dns::ParseStatus::FormErr) {
      FUZZ_CHECK(reply.size() == dns::kHeaderSize && h.rcode() == dns::RCode::FormErr);
    } else {
      // The question goes back as the client spelled it.
      FUZZ_CHECK(h.qdcount == 1 && reply.size() >= view.question.end);
      FUZZ_CHECK(std::memcmp(reply.data() + dns::kHeaderSize, data + dns::kHeaderSize,
                             view.question.end - dns::kHeaderSize) == 0);
      if (q.proto == dns::Proto::Udp) FUZZ_CHECK(reply.size() <= view.udpLimit());
      // QUERY with EDNS: the OPT is echoed (or carries BADVERS).
      if (view.edns.present && view.header.opcode() == 0) FUZZ_CHECK(dns::hasOpt(reply));
      // QUERY and NOTIFY reach the chain (NOTIFY for secondary); other opcodes are NOTIMP here.
      FUZZ_CHECK(chain.reached == ((view.header.opcode() == dns::opcode::Query ||
                                    view.header.opcode() == dns::opcode::Notify) &&
                                   (!view.edns.present || view.edns.version == 0)));
    }
  }

  if (status == dns::ParseStatus::Ok) {
    const dns::Question& question = view.question;
    FUZZ_CHECK(question.nameLen >= 1 && question.nameLen <= dns::kMaxNameLen);
    FUZZ_CHECK(question.end == dns::kHeaderSize + question.nameLen + 4u && question.end <= n);
    FUZZ_CHECK(question.lower[question.nameLen - 1] == 0);
    for (size_t i = 0; i < question.nameLen; ++i) {
      uint8_t c = data[dns::kHeaderSize + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c + 32);
      FUZZ_CHECK(question.lower[i] == c);
    }
    if (view.edns.present) {
      FUZZ_CHECK(size_t{view.edns.offset} + view.edns.length <= n);
      FUZZ_CHECK(data[view.edns.offset] == 0 && dns::get16(data + view.edns.offset + 1) == 41);
    }
    checkNames(pkt, dns::kHeaderSize);
  }
  // Names anywhere in the packet: at an offset the input picks.
  if (n >= 2) checkNames(pkt, (size_t{data[0]} << 8 | data[1]) % n);
  return 0;
}
