#include "dns/wire.hpp"

#include "dns/record_walker.hpp"

namespace moat::dns {

size_t skipName(std::span<const uint8_t> msg, size_t off) {
  size_t total = 0;
  while (off < msg.size()) {
    uint8_t len = msg[off];
    if ((len & 0xC0) == 0xC0) {  // a pointer ends the name as stored here
      return off + 2 <= msg.size() ? off + 2 : 0;
    }
    if (len & 0xC0) return 0;  // 0x40/0x80: extended label types, not in use
    if (len == 0) return off + 1;
    total += len + 1;
    if (total > kMaxNameLen) return 0;
    off += len + 1u;
  }
  return 0;
}

namespace {

// Reads the question name by hand: no compression expected (nothing precedes it to point at),
// lowercased into `q.lower` as it goes.
bool readQuestionName(std::span<const uint8_t> pkt, Question& q) {
  size_t off = kHeaderSize;
  size_t out = 0;
  uint8_t labels = 0;
  for (;;) {
    if (off >= pkt.size()) return false;
    uint8_t len = pkt[off];
    if (len > kMaxLabelLen) return false;  // pointers and extended labels included
    if (out + len + 1 > kMaxNameLen) return false;
    if (off + 1 + len > pkt.size()) return false;
    q.lower[out++] = len;
    for (size_t i = 0; i < len; ++i) {
      uint8_t c = pkt[off + 1 + i];
      q.lower[out++] = (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
    }
    off += len + 1u;
    if (len == 0) break;
    ++labels;
  }
  q.nameOffset = kHeaderSize;
  q.nameLen = static_cast<uint16_t>(out);
  q.labels = labels;
  return true;
}

}  // namespace

ParseStatus parseQuery(std::span<const uint8_t> pkt, QueryView& out) {
  if (pkt.size() < kHeaderSize) return ParseStatus::Drop;
  out.header = Header::read(pkt.data());
  out.edns = Edns{};
  if (out.header.flags & flag::QR) return ParseStatus::Drop;  // never answer a response
  if (out.header.qdcount != 1) return ParseStatus::FormErr;
  Question& q = out.question;
  if (!readQuestionName(pkt, q)) return ParseStatus::FormErr;
  size_t off = q.nameOffset + q.nameLen;
  if (off + 4 > pkt.size()) return ParseStatus::FormErr;
  q.qtype = get16(&pkt[off]);
  q.qclass = get16(&pkt[off + 2]);
  off += 4;
  q.end = static_cast<uint16_t>(off);
  if (out.header.arcount == 0) return ParseStatus::Ok;

  // Only now is the rest of the packet worth reading: find the OPT in the additional section.
  RecordWalker walk(pkt, off);
  for (Record r; walk.next(r);) {
    if (r.section != Section::Additional || r.type != rrtype::OPT) continue;
    // RFC 6891: one OPT at most, owned by the root.
    if (out.edns.present || r.ownerEnd != r.start + 1 || pkt[r.start] != 0) return ParseStatus::FormErr;
    out.edns.present = true;
    out.edns.udpSize = r.klass;
    out.edns.version = static_cast<uint8_t>(r.ttl >> 16);
    out.edns.dnssecOk = (r.ttl & 0x8000) != 0;
    out.edns.offset = static_cast<uint16_t>(r.start);
    out.edns.length = static_cast<uint16_t>(r.end() - r.start);
  }
  if (!walk.done()) return ParseStatus::FormErr;
  return ParseStatus::Ok;
}

}  // namespace moat::dns
