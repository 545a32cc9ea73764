#include "dns/edns_option.hpp"

#include <algorithm>
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

}  // namespace moat::dns
