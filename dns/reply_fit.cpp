#include "dns/reply_fit.hpp"

#include <cstdlib>

#include "dns/ldns.hpp"
#include "dns/message.hpp"

namespace moat::dns {

namespace {

constexpr size_t kOptLen = 11;

// Removes an OPT RR from the additional section, remembering that there was one.
bool stripOpt(std::vector<uint8_t>& msg) {
  Header h = Header::read(msg.data());
  if (h.arcount == 0) return false;
  size_t off = kHeaderSize;
  for (unsigned i = 0; i < h.qdcount; ++i) {
    off = skipName(msg, off);
    if (off == 0) return false;
    off += 4;
  }
  unsigned total = unsigned{h.ancount} + h.nscount + h.arcount;
  for (unsigned i = 0; i < total; ++i) {
    size_t start = off;
    off = skipName(msg, off);
    if (off == 0 || off + 10 > msg.size()) return false;
    size_t end = off + 10 + get16(&msg[off + 8]);
    if (end > msg.size()) return false;
    if (i >= unsigned{h.ancount} + h.nscount && get16(&msg[off]) == rrtype::OPT) {
      msg.erase(msg.begin() + static_cast<long>(start), msg.begin() + static_cast<long>(end));
      h.arcount--;
      h.write(msg.data());
      return true;
    }
    off = end;
  }
  return false;
}

// Offset just past the last record the header counts, 0 when the records do not walk.
size_t recordsEnd(std::span<const uint8_t> msg) {
  Header h = Header::read(msg.data());
  size_t off = kHeaderSize;
  for (unsigned i = 0; i < h.qdcount; ++i) {
    off = skipName(msg, off);
    if (off == 0 || off + 4 > msg.size()) return 0;
    off += 4;
  }
  unsigned total = unsigned{h.ancount} + h.nscount + h.arcount;
  for (unsigned i = 0; i < total; ++i) {
    off = skipName(msg, off);
    if (off == 0 || off + 10 > msg.size()) return 0;
    off += 10 + get16(&msg[off + 8]);
    if (off > msg.size()) return 0;
  }
  return off;
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

void truncateTo(std::vector<uint8_t>& msg, size_t limit) {
  Header h = Header::read(msg.data());
  size_t off = kHeaderSize;
  for (unsigned i = 0; i < h.qdcount; ++i) {
    size_t next = skipName(msg, off);
    if (next == 0) break;
    off = next + 4;
  }
  // Keep whole records while they fit; count what is kept per section.
  uint16_t kept[3] = {0, 0, 0};
  const uint16_t counts[3] = {h.ancount, h.nscount, h.arcount};
  size_t cut = off;
  bool full = false;
  for (int s = 0; s < 3 && !full; ++s) {
    for (unsigned i = 0; i < counts[s]; ++i) {
      size_t next = skipName(msg, off);
      if (next == 0 || next + 10 > msg.size()) { full = true; break; }
      next += 10 + get16(&msg[next + 8]);
      if (next > limit || next > msg.size()) { full = true; break; }
      off = cut = next;
      kept[s]++;
    }
  }
  msg.resize(cut);
  h.ancount = kept[0];
  h.nscount = kept[1];
  h.arcount = kept[2];
  h.flags |= flag::TC;
  h.write(msg.data());
}

void finalizeReply(std::vector<uint8_t>& reply, const QueryView& view, Proto proto) {
  if (reply.size() < kHeaderSize) return;
  bool opt = view.edns.present;
  if (opt && !hasOpt(reply)) {
    // The OPT goes right after the last record: bytes an upstream left past it would otherwise
    // be read as a record and the OPT as garbage. A reply whose records do not walk gets none.
    if (size_t end = recordsEnd(reply); end != 0) {
      reply.resize(end);
      appendOpt(reply, view.udpLimit(), view.edns.dnssecOk);
    }
  }
  size_t limit = proto == Proto::Udp ? view.udpLimit() : kMaxMessage;
  if (reply.size() <= limit) return;
  compressMessage(reply);
  if (reply.size() <= limit) return;
  // Still too large: cut whole records, keeping room for the OPT the client expects back.
  bool hadOpt = stripOpt(reply);
  truncateTo(reply, limit - (hadOpt ? kOptLen : 0));
  if (hadOpt) appendOpt(reply, view.udpLimit(), view.edns.dnssecOk);
}

}  // namespace moat::dns
