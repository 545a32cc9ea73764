#include "dns/reply_fit.hpp"

#include <array>
#include <cstdlib>

#include "dns/edns_option.hpp"
#include "dns/ldns.hpp"
#include "dns/message.hpp"
#include "dns/record_walker.hpp"

namespace moat::dns {

namespace {

constexpr size_t kOptLen = kOptFixedLen;  // the OPT finalizeReply writes: no options

// What finalizeReply needs to know about a reply, from one walk: its OPT, where its records end,
// and where to cut it to fit. A cut drops whole records from the end (additional first, then
// authority, then answer, as a reply is read front to back) and is measured with the OPT taken
// out, because the OPT goes back in last.
struct Fit {
  struct Cut {
    size_t at = 0;                    // in the reply without its OPT
    std::array<uint16_t, 3> kept{};   // answer, authority, additional
    bool full = false;                // a record did not fit: nothing after it is kept
  };

  bool complete = false;    // every record walked
  size_t end = 0;           // just past the last record, when complete
  size_t questionsEnd = 0;  // what any cut keeps
  size_t optStart = 0, optRdata = 0, optEnd = 0;  // the first OPT walked in the additional section
  Cut cuts[2];              // [0] for a reply without OPT, [1] with room kept for the OPT

  bool hasOpt() const { return optEnd > optStart; }
  const Cut& cut() const { return cuts[hasOpt() ? 1 : 0]; }
};

// Whether the reply has an OPT is known only once it is reached, so both cuts are measured.
// `optRoom` is what the OPT written back after a cut takes (more than kOptLen with options).
Fit measure(std::span<const uint8_t> msg, size_t limit, size_t optRoom = kOptLen) {
  Fit f;
  RecordWalker walk(msg);
  for (Record q; walk.nextQuestion(q);) {}
  f.cuts[0].at = f.cuts[1].at = f.questionsEnd = walk.offset();
  const size_t budget[2] = {limit, limit - optRoom};
  for (Record r; walk.next(r);) {
    if (!f.hasOpt() && r.section == Section::Additional && r.type == rrtype::OPT) {
      f.optStart = r.start;
      f.optRdata = r.rdata();
      f.optEnd = r.end();
      continue;
    }
    const size_t end = r.end() - (f.optEnd - f.optStart);
    for (size_t i = 0; i < 2; ++i) {
      Fit::Cut& c = f.cuts[i];
      c.full = c.full || end > budget[i];
      if (c.full) continue;
      c.at = end;
      c.kept[static_cast<size_t>(r.section) - 1]++;
    }
  }
  f.complete = walk.done();
  f.end = walk.offset();
  return f;
}

}  // namespace

bool compressMessage(std::vector<uint8_t>& msg) {
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, msg.data(), msg.size()) != LDNS_STATUS_OK) return false;
  LdnsPkt pkt(raw);
  LdnsBuffer buf(ldns_buffer_new(msg.size()));
  if (!buf || ldns_pkt2buffer_wire(buf.get(), raw) != LDNS_STATUS_OK) return false;
  const uint8_t* data = ldns_buffer_begin(buf.get());
  size_t len = ldns_buffer_position(buf.get());
  if (len >= msg.size()) return true;  // nothing gained; keep the original bytes
  msg.assign(data, data + len);
  return true;
}

void finalizeReply(std::vector<uint8_t>& reply, const QueryView& view, Proto proto) {
  if (reply.size() < kHeaderSize) return;
  const size_t limit = proto == Proto::Udp ? view.udpLimit() : kMaxMessage;
  Fit fit = measure(reply, limit);
  if (view.edns.present && !fit.hasOpt() && fit.complete) {
    // The OPT goes right after the last record: bytes an upstream left past it would otherwise
    // be read as a record and the OPT as garbage. A reply whose records do not walk gets none.
    // Being last, it moves no record, so the cut measured with room for it stands.
    reply.resize(fit.end);
    appendOpt(reply, view.udpLimit(), view.edns.dnssecOk);
    fit.optStart = fit.end;
    fit.end = fit.optEnd = reply.size();
  }
  if (reply.size() <= limit) return;
  const size_t before = reply.size();
  compressMessage(reply);
  if (reply.size() <= limit) return;
  if (reply.size() != before) fit = measure(reply, limit);  // ldns rewrote every offset
  // Still too large: cut whole records, keeping room for the OPT the client expects back. Its
  // options (an NSID the nsid plugin put there) stay when they fit beside the question, as
  // miekg/dns's Truncate keeps the OPT; else it goes back bare.
  std::vector<uint8_t> options;
  if (fit.hasOpt() && fit.optEnd > fit.optRdata &&
      fit.questionsEnd + kOptLen + (fit.optEnd - fit.optRdata) <= limit) {
    options.assign(reply.begin() + static_cast<long>(fit.optRdata),
                   reply.begin() + static_cast<long>(fit.optEnd));
    fit = measure(reply, limit, kOptLen + options.size());
  }
  const Fit::Cut& cut = fit.cut();
  if (fit.hasOpt()) {
    reply.erase(reply.begin() + static_cast<long>(fit.optStart),
                reply.begin() + static_cast<long>(fit.optEnd));
  }
  reply.resize(cut.at);
  Header h = Header::read(reply.data());
  h.ancount = cut.kept[0];
  h.nscount = cut.kept[1];
  h.arcount = cut.kept[2];
  h.flags |= flag::TC;
  h.write(reply.data());
  if (fit.hasOpt()) {
    appendOpt(reply, view.udpLimit(), view.edns.dnssecOk);
    reply.insert(reply.end(), options.begin(), options.end());
    put16(reply.data() + reply.size() - options.size() - 2, static_cast<uint16_t>(options.size()));
  }
}

}  // namespace moat::dns
