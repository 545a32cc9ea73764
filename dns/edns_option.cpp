#include "dns/edns_option.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "dns/record_walker.hpp"

namespace moat::dns {

namespace {

constexpr size_t kOptionHeader = 4;  // code, length

// Calls `visit(at, code, length)` for each whole option in [from, end); returns where the
// options stopped being readable (end for a well-formed run).
template <class Visit>
size_t forEachOption(std::span<const uint8_t> msg, size_t from, size_t end, Visit&& visit) {
  size_t at = from;
  while (at + kOptionHeader <= end) {
    const uint16_t length = get16(&msg[at + 2]);
    if (at + kOptionHeader + length > end) break;
    visit(at, get16(&msg[at]), length);
    at += kOptionHeader + length;
  }
  return at;
}

}  // namespace

bool queryHasOption(std::span<const uint8_t> request, const Edns& edns, uint16_t code) {
  if (!edns.present || edns.length < kOptFixedLen) return false;
  const size_t end = size_t{edns.offset} + edns.length;
  if (end > request.size()) return false;
  bool found = false;
  forEachOption(request, edns.offset + kOptFixedLen, end,
                [&](size_t, uint16_t c, uint16_t) { found = found || c == code; });
  return found;
}

OptSpan findOpt(std::span<const uint8_t> msg) {
  if (msg.size() < kHeaderSize) return {};
  RecordWalker walk(msg);
  for (Record r; walk.next(r);) {
    if (r.section == Section::Additional && r.type == rrtype::OPT) return {r.start, r.rdata(), r.end()};
  }
  return {};
}

bool putReplyOption(std::vector<uint8_t>& reply, uint16_t code, std::span<const uint8_t> data) {
  const OptSpan opt = findOpt(reply);
  // Growing an OPT that records follow would move them, and any pointer into them would then
  // point at the wrong bytes: only an OPT that ends the message is edited.
  if (!opt.found() || opt.end != reply.size()) return false;
  size_t removed = 0;
  forEachOption(reply, opt.rdata, opt.end, [&](size_t, uint16_t c, uint16_t length) {
    if (c == code) removed += kOptionHeader + length;
  });
  const size_t rdlength = opt.end - opt.rdata - removed + kOptionHeader + data.size();
  if (rdlength > 0xFFFF) return false;

  // Close the gaps the removed options leave, keeping the others (and any unreadable tail) in
  // order, then append ours.
  size_t write = opt.rdata;
  const size_t readable = forEachOption(reply, opt.rdata, opt.end, [&](size_t at, uint16_t c, uint16_t length) {
    const size_t size = kOptionHeader + length;
    if (c != code) {
      std::memmove(reply.data() + write, reply.data() + at, size);
      write += size;
    }
  });
  std::memmove(reply.data() + write, reply.data() + readable, opt.end - readable);
  write += opt.end - readable;
  reply.resize(write + kOptionHeader + data.size());
  put16(&reply[write], code);
  put16(&reply[write + 2], static_cast<uint16_t>(data.size()));
  std::copy(data.begin(), data.end(), reply.begin() + static_cast<long>(write + kOptionHeader));
  put16(&reply[opt.rdata - 2], static_cast<uint16_t>(rdlength));
  return true;
}

size_t removeReplyOptions(std::vector<uint8_t>& reply, uint16_t code) {
  const OptSpan opt = findOpt(reply);
  if (!opt.found() || opt.end != reply.size()) return 0;
  size_t write = opt.rdata;
  const size_t readable = forEachOption(reply, opt.rdata, opt.end, [&](size_t at, uint16_t c, uint16_t length) {
    const size_t size = kOptionHeader + length;
    if (c != code) {
      std::memmove(reply.data() + write, reply.data() + at, size);
      write += size;
    }
  });
  std::memmove(reply.data() + write, reply.data() + readable, opt.end - readable);
  write += opt.end - readable;
  const size_t removed = opt.end - write;
  if (removed == 0) return 0;
  reply.resize(write);
  put16(&reply[opt.rdata - 2], static_cast<uint16_t>(write - opt.rdata));
  return removed;
}

bool removeReplyOpt(std::vector<uint8_t>& reply) {
  const OptSpan opt = findOpt(reply);
  if (!opt.found() || opt.end != reply.size()) return false;
  reply.resize(opt.start);
  put16(&reply[10], static_cast<uint16_t>(get16(&reply[10]) - 1));
  return true;
}

namespace {

// Replaces `removeLen` bytes at `at` of the request with `insert`, moving what follows; the OPT
// (which holds `at`) has its RDLENGTH and the view its length adjusted.
bool spliceOpt(Query& q, size_t at, size_t removeLen, std::span<const uint8_t> insert) {
  Edns& edns = q.view.edns;
  const size_t rdlenAt = size_t{edns.offset} + kOptFixedLen - 2;
  const size_t rdlength = get16(&q.request[rdlenAt]);
  const size_t newRdlength = rdlength - removeLen + insert.size();
  const size_t newLen = size_t{q.requestLen} - removeLen + insert.size();
  if (newRdlength > 0xFFFF || newLen > kMaxRequest) return false;
  const size_t tail = q.requestLen - (at + removeLen);
  std::memmove(q.request.data() + at + insert.size(), q.request.data() + at + removeLen, tail);
  if (!insert.empty()) std::memcpy(q.request.data() + at, insert.data(), insert.size());
  q.requestLen = static_cast<uint16_t>(newLen);
  put16(&q.request[rdlenAt], static_cast<uint16_t>(newRdlength));
  edns.length = static_cast<uint16_t>(kOptFixedLen + newRdlength);
  return true;
}

size_t optEnd(const Query& q) { return size_t{q.view.edns.offset} + q.view.edns.length; }

}  // namespace

bool addQueryOpt(Query& q, uint16_t udpSize) {
  if (q.view.edns.present || q.requestLen + kOptFixedLen > kMaxRequest) return false;
  uint8_t* p = q.request.data() + q.requestLen;
  p[0] = 0;  // the root
  put16(p + 1, rrtype::OPT);
  put16(p + 3, udpSize);
  put32(p + 5, 0);
  put16(p + 9, 0);
  Edns& edns = q.view.edns;
  edns.present = true;
  edns.dnssecOk = false;
  edns.version = 0;
  edns.udpSize = udpSize;
  edns.offset = q.requestLen;
  edns.length = static_cast<uint16_t>(kOptFixedLen);
  q.requestLen = static_cast<uint16_t>(q.requestLen + kOptFixedLen);
  q.view.header.arcount = static_cast<uint16_t>(q.view.header.arcount + 1);
  put16(q.request.data() + 10, q.view.header.arcount);
  return true;
}

void removeQueryOpt(Query& q) {
  if (!q.view.edns.present || optEnd(q) != q.requestLen) return;
  q.requestLen = q.view.edns.offset;
  q.view.edns = Edns{};
  q.view.header.arcount = static_cast<uint16_t>(q.view.header.arcount - 1);
  put16(q.request.data() + 10, q.view.header.arcount);
}

size_t findQueryOption(const Query& q, uint16_t code) {
  if (!q.view.edns.present || optEnd(q) > q.requestLen) return 0;
  size_t found = 0;
  forEachOption(q.requestBytes(), q.view.edns.offset + kOptFixedLen, optEnd(q), [&](size_t at, uint16_t c, uint16_t) {
    if (found == 0 && c == code) found = at;
  });
  return found;
}

bool setQueryOptionData(Query& q, size_t at, std::span<const uint8_t> data) {
  if (data.size() > 0xFFFF) return false;
  const size_t length = get16(&q.request[at + 2]);
  if (!spliceOpt(q, at + kOptionHeader, length, data)) return false;
  put16(&q.request[at + 2], static_cast<uint16_t>(data.size()));
  return true;
}

bool appendQueryOption(Query& q, uint16_t code, std::span<const uint8_t> data) {
  if (!q.view.edns.present || data.size() > 0xFFFF || optEnd(q) > q.requestLen) return false;
  const size_t at = optEnd(q);
  std::array<uint8_t, kOptionHeader> head{};
  put16(head.data(), code);
  put16(head.data() + 2, static_cast<uint16_t>(data.size()));
  if (!spliceOpt(q, at, 0, head)) return false;
  if (!spliceOpt(q, at + kOptionHeader, 0, data)) {
    spliceOpt(q, at, kOptionHeader, {});
    return false;
  }
  return true;
}

size_t removeQueryOptions(Query& q, uint16_t code) {
  size_t removed = 0;
  for (size_t at = findQueryOption(q, code); at != 0; at = findQueryOption(q, code)) {
    const size_t length = get16(&q.request[at + 2]);
    spliceOpt(q, at, kOptionHeader + length, {});
    ++removed;
  }
  return removed;
}

}  // namespace moat::dns
