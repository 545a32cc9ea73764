#include "dns/message.hpp"

#include <algorithm>

#include "dns/record_walker.hpp"

namespace moat::dns {

namespace {

constexpr size_t kQdCountOffset = 4;  // the four section counts follow, in Section order

uint16_t replyFlags(uint16_t queryFlags, RCode rcode, bool aa) {
  // As miekg/dns SetReply: QR, the query's opcode, and for QUERY its RD and CD bits.
  uint16_t flags = flag::QR | (queryFlags & flag::OpcodeMask);
  if ((queryFlags & flag::OpcodeMask) == 0) flags |= queryFlags & (flag::RD | flag::CD);
  if (aa) flags |= flag::AA;
  return static_cast<uint16_t>(flags | static_cast<uint16_t>(rcode));
}

}  // namespace

void MessageWriter::startReply(std::span<const uint8_t> query, const QueryView& view, RCode rcode,
                               bool aa) {
  out_.assign(query.begin(), query.begin() + view.question.end);
  Header h{view.header.id, replyFlags(view.header.flags, rcode, aa), 1, 0, 0, 0};
  h.write(out_.data());
}

void MessageWriter::addRR(Section section, std::span<const uint8_t> owner, uint16_t type,
                          uint16_t klass, uint32_t ttl, std::span<const uint8_t> rdata) {
  size_t at = out_.size();
  out_.resize(at + owner.size() + 10 + rdata.size());
  uint8_t* p = out_.data() + at;
  std::copy(owner.begin(), owner.end(), p);
  p += owner.size();
  put16(p, type);
  put16(p + 2, klass);
  put32(p + 4, ttl);
  put16(p + 8, static_cast<uint16_t>(rdata.size()));
  std::copy(rdata.begin(), rdata.end(), p + 10);
  uint8_t* count = out_.data() + kQdCountOffset + 2 * static_cast<size_t>(section);
  put16(count, static_cast<uint16_t>(get16(count) + 1));
}

void MessageWriter::setRCode(RCode rcode) {
  uint16_t flags = get16(out_.data() + 2);
  put16(out_.data() + 2, static_cast<uint16_t>((flags & ~flag::RcodeMask) | static_cast<uint16_t>(rcode)));
}

void MessageWriter::setFlag(uint16_t mask, bool on) {
  uint16_t flags = get16(out_.data() + 2);
  put16(out_.data() + 2, static_cast<uint16_t>(on ? (flags | mask) : (flags & ~mask)));
}

void writeErrorReply(std::vector<uint8_t>& out, std::span<const uint8_t> query,
                     const QueryView* view, RCode rcode) {
  if (view != nullptr) {
    MessageWriter(out).startReply(query, *view, rcode, false);
    return;
  }
  // Only the header could be read: echo the ID and opcode, no question.
  out.assign(kHeaderSize, 0);
  Header q = Header::read(query.data());
  Header h{q.id, replyFlags(q.flags, rcode, false), 0, 0, 0, 0};
  h.write(out.data());
}

void appendOpt(std::vector<uint8_t>& msg, uint16_t udpSize, bool dnssecOk) {
  const uint8_t opt[11] = {0,
                           0, static_cast<uint8_t>(rrtype::OPT),
                           static_cast<uint8_t>(udpSize >> 8), static_cast<uint8_t>(udpSize),
                           0, 0,  // extended rcode, version 0
                           static_cast<uint8_t>(dnssecOk ? 0x80 : 0), 0,
                           0, 0};
  msg.insert(msg.end(), opt, opt + sizeof opt);
  put16(msg.data() + 10, static_cast<uint16_t>(get16(msg.data() + 10) + 1));
}

bool hasOpt(std::span<const uint8_t> msg) {
  RecordWalker walk(msg);
  for (Record r; walk.next(r);) {
    if (r.section == Section::Additional && r.type == rrtype::OPT) return true;
  }
  return false;
}

}  // namespace moat::dns

namespace moat::dns {

size_t readName(std::span<const uint8_t> msg, size_t off, std::vector<uint8_t>& out) {
  out.clear();
  return followName(msg, off, [&](size_t at) {
           if (msg[at] > kMaxLabelLen) return;  // a pointer
           out.insert(out.end(), msg.begin() + static_cast<long>(at),
                      msg.begin() + static_cast<long>(at + 1 + msg[at]));
         }).end;
}

namespace {

// RDATA with embedded names: how many fixed bytes come before the name(s), and how many names.
struct NameLayout {
  size_t prefix;
  int names;
  size_t suffix;
};

NameLayout layoutOf(uint16_t type) {
  switch (type) {
    case rrtype::CNAME:
    case rrtype::NS:
    case rrtype::PTR:
    case 39:  // DNAME
      return {0, 1, 0};
    case rrtype::MX:
      return {2, 1, 0};
    case rrtype::SRV:
      return {6, 1, 0};
    case rrtype::SOA:
      return {0, 2, 20};
    default:
      return {0, 0, 0};
  }
}

}  // namespace

int appendAnswersExpanded(MessageWriter& w, std::span<const uint8_t> from, Section section) {
  if (from.size() < kHeaderSize) return -1;
  // Expand into a scratch copy first so a malformed record appends nothing.
  struct Rec {
    std::vector<uint8_t> owner, rdata;
    uint16_t type, klass;
    uint32_t ttl;
  };
  std::vector<Rec> recs;
  std::vector<uint8_t> name;
  RecordWalker walk(from);
  for (Record rec; recs.size() < walk.header().ancount;) {
    if (!walk.next(rec)) return -1;
    Rec r{{}, {}, rec.type, rec.klass, rec.ttl};
    readName(from, rec.start, r.owner);
    const size_t rd = rec.rdata(), end = rec.end();
    auto bytes = [&](size_t a, size_t b) {
      r.rdata.insert(r.rdata.end(), from.begin() + static_cast<long>(a), from.begin() + static_cast<long>(b));
    };
    NameLayout layout = layoutOf(r.type);
    if (layout.names == 0) {
      bytes(rd, end);
    } else {
      if (layout.prefix > rec.rdlength) return -1;
      bytes(rd, rd + layout.prefix);
      size_t at = rd + layout.prefix;
      for (int n = 0; n < layout.names; ++n) {
        at = readName(from, at, name);
        if (at == 0 || at > end) return -1;
        r.rdata.insert(r.rdata.end(), name.begin(), name.end());
      }
      if (at + layout.suffix != end) return -1;
      bytes(at, end);
    }
    recs.push_back(std::move(r));
  }
  for (const Rec& r : recs) w.addRR(section, r.owner, r.type, r.klass, r.ttl, r.rdata);
  return static_cast<int>(recs.size());
}

}  // namespace moat::dns

namespace moat::dns {

size_t appendNameExpanded(std::vector<uint8_t>& out, std::span<const uint8_t> msg, size_t off) {
  const size_t mark = out.size();
  const NameEnd end = followName(msg, off, [&](size_t at) {
    if (msg[at] > kMaxLabelLen) return;  // a pointer
    out.insert(out.end(), msg.begin() + static_cast<long>(at), msg.begin() + static_cast<long>(at + 1 + msg[at]));
  });
  if (end.error != WireError::None) {
    out.resize(mark);
    return 0;
  }
  return end.end;
}

bool appendRecordExpanded(std::vector<uint8_t>& out, std::span<const uint8_t> from, const Record& rec,
                          Section section) {
  const size_t mark = out.size();
  auto fail = [&] {
    out.resize(mark);
    return false;
  };
  if (out.size() < kHeaderSize || appendNameExpanded(out, from, rec.start) == 0) return fail();
  const size_t fixed = out.size();
  out.resize(fixed + 10);
  put16(out.data() + fixed, rec.type);
  put16(out.data() + fixed + 2, rec.klass);
  put32(out.data() + fixed + 4, rec.ttl);
  const size_t rd = rec.rdata(), end = rec.end();
  auto bytes = [&](size_t a, size_t b) {
    out.insert(out.end(), from.begin() + static_cast<long>(a), from.begin() + static_cast<long>(b));
  };
  const NameLayout layout = layoutOf(rec.type);
  if (layout.names == 0) {
    bytes(rd, end);
  } else {
    if (layout.prefix > rec.rdlength) return fail();
    bytes(rd, rd + layout.prefix);
    size_t at = rd + layout.prefix;
    for (int n = 0; n < layout.names; ++n) {
      at = appendNameExpanded(out, from, at);
      if (at == 0 || at > end) return fail();
    }
    if (at + layout.suffix != end) return fail();
    bytes(at, end);
  }
  const size_t rdlength = out.size() - fixed - 10;
  if (rdlength > 0xFFFF) return fail();
  put16(out.data() + fixed + 8, static_cast<uint16_t>(rdlength));
  uint8_t* count = out.data() + kQdCountOffset + 2 * static_cast<size_t>(section);
  put16(count, static_cast<uint16_t>(get16(count) + 1));
  return true;
}

}  // namespace moat::dns
