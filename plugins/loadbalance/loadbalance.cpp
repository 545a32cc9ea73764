#include "plugins/loadbalance/loadbalance.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>

#include "conf/args.hpp"
#include "dns/record_walker.hpp"

namespace moat::plugins::loadbalance {
namespace {


// Sections with more records keep the order they came in: every bit of bookkeeping below is a
// fixed array on the stack. Replies that large are rare outside zone transfers, which CoreDNS
// leaves alone anyway.
constexpr size_t kMaxSectionRecords = 64;
constexpr size_t kSections = 3;
constexpr size_t kMaxRecords = kSections * kMaxSectionRecords;
constexpr size_t kMaxQuestions = 4;
// A name ends in at most one pointer, and a record holds its owner plus at most three names
// in its RDATA (PX), so this bound is never reached for a reply that passes the limits above.
constexpr size_t kMaxPointers = kMaxQuestions + kMaxRecords * 4;
constexpr uint16_t kNoRecord = 0xFFFF;          // a pointer inside a question
constexpr size_t kMaxPointerTarget = 0x3FFF;    // 14 bits
constexpr uint8_t kUnranked = 0xFF;             // an address no preferred subnet holds
constexpr size_t kMaxTail = 4 + 2 + 16;         // TTL, RDLENGTH, AAAA RDATA
constexpr uint16_t kTsig = 250;

// xorshift64*: a few cycles per draw, plenty for spreading clients over addresses. The state
// must never be 0 (it would stay 0).
class Rng {
 public:
  explicit Rng(uint64_t& state) : state_(state) {}

  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // [0, n) by multiply-and-shift: no division, and a bias of at most n / 2^32.
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>((uint64_t{static_cast<uint32_t>(next() >> 32)} * n) >> 32);
  }
  // Fisher-Yates: every permutation equally likely, as CoreDNS's swap loop intends.
  void shuffle(uint8_t* items, size_t n) {
    for (size_t i = n; i > 1; --i) {
      size_t j = below(static_cast<uint32_t>(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  uint64_t& state_;
};

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// ---------------------------------------------------------------------------------------------
// Taking a reply apart: where each record lies and where every compression pointer is.

struct Record {
  uint16_t start;     // first byte of the owner name
  uint16_t ownerEnd;  // TYPE follows, then CLASS, TTL, RDLENGTH, RDATA
  uint16_t end;       // one past the RDATA
  uint16_t type;

  uint16_t size() const { return static_cast<uint16_t>(end - start); }
  uint16_t tail() const { return static_cast<uint16_t>(ownerEnd + 4); }  // TTL onwards
};

struct Pointer {
  uint16_t at;      // offset of the two pointer bytes
  uint16_t target;  // where they point
  uint16_t record;  // index into Layout::records, kNoRecord for the question
};

// Deliberately without initialisers: it lives on the stack of every reply, and only what
// scan() writes is read (labelStarts: the words covering the message, cleared by scan()).
struct Layout {
  std::array<Record, kMaxRecords> records;
  std::array<uint16_t, kSections> first;
  std::array<uint16_t, kSections> count;
  std::array<Pointer, kMaxPointers> pointers;
  size_t pointerCount;
  std::array<uint64_t, (dns::kMaxMessage + 63) / 64> labelStarts;  // one bit per offset
  uint16_t qtype;  // the first question's

  void markLabel(size_t off) { labelStarts[off / 64] |= uint64_t{1} << (off % 64); }
  bool isLabel(size_t off) const { return labelStarts[off / 64] >> (off % 64) & 1; }
};

// Notes where the labels of the name stored at [off, end) start, and its pointer, if it ends in
// one. False when the pointer leaves the message or there are too many to note.
bool noteName(std::span<const uint8_t> msg, size_t off, size_t end, uint16_t record, Layout& l) {
  for (size_t p = off; p < end; p += msg[p] + 1u) {
    if ((msg[p] & 0xC0) != 0xC0) {
      l.markLabel(p);
      continue;
    }
    size_t target = (msg[p] & 0x3Fu) << 8 | msg[p + 1];
    if (target >= msg.size() || l.pointerCount == kMaxPointers) return false;
    l.pointers[l.pointerCount++] = {static_cast<uint16_t>(p), static_cast<uint16_t>(target),
                                    record};
    break;
  }
  return true;
}

// A name inside RDATA: it must end before `limit`. Returns the offset past it as stored, 0 when
// malformed.
size_t readName(std::span<const uint8_t> msg, size_t limit, size_t off, uint16_t record,
                Layout& l) {
  size_t end = dns::skipName(msg.first(limit), off);
  return end != 0 && noteName(msg, off, end, record, l) ? end : 0;
}

// Notes the pointers inside RDATA. Senders may compress names only in the types RFC 3597
// section 4 lists; a few later types with names are read too, in case a sender compresses them
// anyway, which costs nothing. The RDATA of every other type is opaque.
bool readRdataNames(std::span<const uint8_t> msg, size_t rdata, size_t end, uint16_t type,
                    uint16_t record, Layout& l) {
  size_t fixed = 0;   // bytes before the first name
  int names = 1;
  switch (type) {
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12:  // NS MD MF CNAME MB MG MR PTR
    case 30: case 39: case 47:                                        // NXT DNAME NSEC
    case 249: case kTsig:                            // TKEY TSIG: the algorithm name comes first
      break;
    case 6: case 14: case 17: case 58:  // SOA MINFO RP TALINK
      names = 2;
      break;
    case 15: case 18: case 21: case 36:  // MX AFSDB RT KX
    case 64: case 65: case 107:          // SVCB HTTPS LP
      fixed = 2;
      break;
    case 26:  // PX
      fixed = 2;
      names = 2;
      break;
    case 33:  // SRV
      fixed = 6;
      break;
    case 24: case 46:  // SIG RRSIG: the signer's name follows 18 bytes of fields
      fixed = 18;
      break;
    case 35:  // NAPTR: order, preference, then three character strings before the name
      fixed = 4;
      for (int i = 0; i < 3; ++i) {
        if (rdata + fixed >= end) return false;
        fixed += 1u + msg[rdata + fixed];
      }
      break;
    default:
      return true;
  }
  size_t off = rdata + fixed;
  for (int i = 0; i < names; ++i) {
    if (off >= end) return false;
    off = readName(msg, end, off, record, l);
    if (off == 0) return false;
  }
  return true;
}

// Fills `l` from a whole reply; false when it is malformed or beyond the fixed limits.
bool scan(std::span<const uint8_t> msg, Layout& l) {
  dns::RecordWalker walk(msg);
  const dns::Header& h = walk.header();
  if (h.qdcount > kMaxQuestions) return false;
  const uint16_t counts[kSections] = {h.ancount, h.nscount, h.arcount};
  for (size_t s = 0, first = 0; s < kSections; first += counts[s++]) {
    if (counts[s] > kMaxSectionRecords) return false;
    l.first[s] = static_cast<uint16_t>(first);
    l.count[s] = counts[s];
  }
  l.pointerCount = 0;
  std::fill_n(l.labelStarts.begin(), (msg.size() + 63) / 64, 0);
  dns::Record q;
  for (size_t i = 0; walk.nextQuestion(q); ++i) {
    if (i == 0) l.qtype = q.type;
    if (!noteName(msg, q.start, q.ownerEnd, kNoRecord, l)) return false;
  }
  uint16_t index = 0;
  for (dns::Record r; walk.next(r); ++index) {
    if (!noteName(msg, r.start, r.ownerEnd, index, l) ||
        !readRdataNames(msg, r.rdata(), r.end(), r.type, index, l)) {
      return false;
    }
    l.records[index] = {static_cast<uint16_t>(r.start), static_cast<uint16_t>(r.ownerEnd),
                        static_cast<uint16_t>(r.end()), r.type};
  }
  if (!walk.done()) return false;
  // Compressors point at the labels of names written before. A pointer anywhere else (into
  // fixed fields or opaque RDATA) names bytes that may run on into the next record, which
  // moving records would change: such replies are left alone.
  for (size_t i = 0; i < l.pointerCount; ++i) {
    if (!l.isLabel(l.pointers[i].target)) return false;
  }
  return true;
}

// Compares the names at `a` and `b` with their pointers followed, ignoring ASCII case.
bool sameName(std::span<const uint8_t> msg, size_t a, size_t b) {
  auto lowered = [&](size_t off, std::array<uint8_t, dns::kMaxNameLen>& out) {
    size_t n = 0;
    bool ok = dns::followName(msg, off, [&](size_t at) {
                if (msg[at] > dns::kMaxLabelLen) return;  // a pointer
                for (size_t i = at; i <= at + msg[at]; ++i) {
                  const bool upper = i > at && msg[i] >= 'A' && msg[i] <= 'Z';
                  out[n++] = static_cast<uint8_t>(upper ? msg[i] + 32 : msg[i]);
                }
              }).error == dns::WireError::None;
    return ok ? n : 0;
  };
  std::array<uint8_t, dns::kMaxNameLen> x, y;
  const size_t n = lowered(a, x);
  return n != 0 && lowered(b, y) == n && std::equal(x.begin(), x.begin() + n, y.begin());
}

// ---------------------------------------------------------------------------------------------
// The order CoreDNS gives a section.

enum class Kind : uint8_t { Cname, Address, Mx, Other, Pinned };

Kind kindOf(uint16_t type) {
  switch (type) {
    case dns::rrtype::CNAME: return Kind::Cname;
    case dns::rrtype::A:
    case dns::rrtype::AAAA: return Kind::Address;
    case dns::rrtype::MX: return Kind::Mx;
    // Moat echoes the client's OPT before observers run (reply_fit.hpp), where CoreDNS adds it
    // after loadbalance, so it stays in place; TSIG must stay last to verify.
    case dns::rrtype::OPT:
    case kTsig: return Kind::Pinned;
    default: return Kind::Other;
  }
}

size_t appendKind(std::span<const Kind> kinds, const uint8_t* from, size_t n, Kind kind,
                  uint8_t* out, size_t len) {
  for (size_t i = 0; i < n; ++i) {
    if (kinds[from[i]] == kind) out[len++] = from[i];
  }
  return len;
}

// order[k] is the record (index within the section) that ends up k-th. As CoreDNS's round
// robin: CNAMEs, then the records that are neither address nor MX, each group in the order it
// came; then the addresses shuffled, then the MX records shuffled; a lone record stays. With `prefer` (`ranks` not empty): CNAMEs,
// addresses ordered by rank (ties keep the shuffled order), MX, the rest. Pinned records keep
// their slots and the others fill the remaining ones.
void plan(std::span<const Kind> kinds, std::span<const uint8_t> ranks, Rng& rng, uint8_t* order) {
  const size_t n = kinds.size();
  uint8_t seq[kMaxSectionRecords];
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    if (kinds[i] != Kind::Pinned) seq[m++] = static_cast<uint8_t>(i);
  }
  uint8_t out[kMaxSectionRecords];
  if (m > 1) {
    size_t len = appendKind(kinds, seq, m, Kind::Cname, out, 0);
    len = appendKind(kinds, seq, m, Kind::Other, out, len);
    size_t addresses = len;
    len = appendKind(kinds, seq, m, Kind::Address, out, len);
    rng.shuffle(out + addresses, len - addresses);
    size_t mx = len;
    len = appendKind(kinds, seq, m, Kind::Mx, out, len);
    rng.shuffle(out + mx, len - mx);
    std::copy(out, out + m, seq);
  }
  if (!ranks.empty()) {
    size_t len = appendKind(kinds, seq, m, Kind::Cname, out, 0);
    size_t addresses = len;
    len = appendKind(kinds, seq, m, Kind::Address, out, len);
    // Insertion sort: stable, and no allocation (std::stable_sort may take a buffer).
    for (size_t i = addresses + 1; i < len; ++i) {
      uint8_t item = out[i];
      size_t j = i;
      for (; j > addresses && ranks[out[j - 1]] > ranks[item]; --j) out[j] = out[j - 1];
      out[j] = item;
    }
    len = appendKind(kinds, seq, m, Kind::Mx, out, len);
    appendKind(kinds, seq, m, Kind::Other, out, len);
    std::copy(out, out + m, seq);
  }
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    order[i] = kinds[i] == Kind::Pinned ? static_cast<uint8_t>(i) : seq[k++];
  }
}

// ---------------------------------------------------------------------------------------------
// Applying an order to the wire bytes.
//
// Moving a record is not free in a compressed reply: a later name may point into it (glue
// owners point into MX or NS targets; "mx2.mail.example.org" is written as "mx2" and a pointer
// into the record that spelled "mail.example.org" first), and a pointer must point backward, to
// a name already read. Three steps keep every name intact:
//  1. repair(): the wanted order, changed only as far as needed for no record to come before a
//     record of the same section it points into;
//  2. moveRecords(): whole records move and pointers into moved records are re-aimed by the
//     distance they moved (refused, leaving the bytes alone, if a pointer from elsewhere would
//     then point forward or past 14 bits, which only malformed input can cause);
//  3. swapTails(): where step 1 had to deviate, records of one address RRset exchange TTL and
//     RDATA, which needs no name to move, so each RRset still comes out in the wanted order.
// Rewriting names instead (recompressing) could honour every order, but it changes lengths and
// so the size the reply was already fitted to.

// The index of the record among rec[0, n) holding offset `off`, -1 if none: the records of a
// section tile it in increasing offsets, so a binary search finds it.
int holderOf(const Record* rec, size_t n, size_t off) {
  if (n == 0 || off < rec[0].start || off >= rec[n - 1].end) return -1;
  const Record* r = std::upper_bound(rec, rec + n, off,
                                     [](size_t o, const Record& x) { return o < x.start; });
  return static_cast<int>(r - rec) - 1;
}

// deps[i]: the records of section `s` that record i points into (itself excluded).
void dependencies(const Layout& l, size_t s, uint64_t* deps) {
  const size_t first = l.first[s], n = l.count[s];
  const Record* rec = &l.records[first];
  std::fill(deps, deps + n, 0);
  for (size_t i = 0; i < l.pointerCount; ++i) {
    const Pointer& p = l.pointers[i];
    if (p.record == kNoRecord || p.record < first || p.record >= first + n) continue;
    int to = holderOf(rec, n, p.target);
    if (to >= 0 && size_t(to) != p.record - first) deps[p.record - first] |= uint64_t{1} << to;
  }
}

// Step 1: each position takes the first record of `order` not yet placed whose targets all are.
// False on a cycle, which backward pointers cannot form.
bool repair(const uint64_t* deps, size_t n, const uint8_t* order, uint8_t* out) {
  uint64_t placed = 0;
  for (size_t k = 0; k < n; ++k) {
    size_t pick = n;
    for (size_t j = 0; j < n && pick == n; ++j) {
      uint8_t r = order[j];
      if (!(placed >> r & 1) && (deps[r] & ~placed) == 0) pick = r;
    }
    if (pick == n) return false;
    out[k] = static_cast<uint8_t>(pick);
    placed |= uint64_t{1} << pick;
  }
  return true;
}

// Step 2: moves the records of section `s` into `order` through `scratch`, updates `l` to
// match, and tells where each record went (`position`, by old index).
bool moveRecords(std::span<uint8_t> msg, Layout& l, size_t s, const uint8_t* order,
                 std::span<uint8_t> scratch, uint8_t* position) {
  const size_t first = l.first[s], n = l.count[s];
  Record* rec = &l.records[first];
  const size_t base = rec[0].start;

  int32_t delta[kMaxSectionRecords];
  size_t pos = base;
  for (size_t k = 0; k < n; ++k) {
    delta[order[k]] = static_cast<int32_t>(pos) - rec[order[k]].start;
    position[order[k]] = static_cast<uint8_t>(k);
    pos += rec[order[k]].size();
  }
  struct Moved {
    size_t at, target;
    int from;  // the record holding the pointer, -1 if outside the section
  };
  auto relocate = [&](const Pointer& p) {
    int from = p.record != kNoRecord && p.record >= first && p.record < first + n
                   ? static_cast<int>(p.record - first) : -1;
    int to = holderOf(rec, n, p.target);
    return Moved{static_cast<size_t>(p.at + (from >= 0 ? delta[from] : 0)),
                 static_cast<size_t>(p.target + (to >= 0 ? delta[to] : 0)), from};
  };
  for (size_t i = 0; i < l.pointerCount; ++i) {
    const Pointer& p = l.pointers[i];
    Moved m = relocate(p);
    if (m.at == p.at && m.target == p.target) continue;
    if (m.target >= m.at || m.target > kMaxPointerTarget) return false;
  }

  size_t w = 0;
  for (size_t k = 0; k < n; ++k) {
    const Record& r = rec[order[k]];
    std::memcpy(scratch.data() + w, msg.data() + r.start, r.size());
    w += r.size();
  }
  std::memcpy(msg.data() + base, scratch.data(), w);

  for (size_t i = 0; i < l.pointerCount; ++i) {
    Pointer& p = l.pointers[i];
    Moved m = relocate(p);
    if (m.target != p.target) {
      dns::put16(msg.data() + m.at, static_cast<uint16_t>(0xC000 | m.target));
    }
    p.at = static_cast<uint16_t>(m.at);
    p.target = static_cast<uint16_t>(m.target);
    if (m.from >= 0) p.record = static_cast<uint16_t>(first + position[m.from]);
  }
  Record moved[kMaxSectionRecords];
  for (size_t k = 0; k < n; ++k) {
    Record r = rec[order[k]];
    int32_t d = delta[order[k]];
    r.start = static_cast<uint16_t>(r.start + d);
    r.ownerEnd = static_cast<uint16_t>(r.ownerEnd + d);
    r.end = static_cast<uint16_t>(r.end + d);
    moved[k] = r;
  }
  std::copy(moved, moved + n, rec);
  return true;
}

// Step 3. Address records with the same owner name, type, class and RDATA length differ only
// in TTL and RDATA, so exchanging those tails is the same as exchanging the records, and no
// name moves: it is safe whatever points where (a tail that is itself a pointer target, which
// no compressor produces, is left alone). Each such set takes the relative order `order`
// (current positions) gives it.
void swapTails(std::span<uint8_t> msg, const Layout& l, size_t s, const uint8_t* order) {
  const size_t n = l.count[s];
  const Record* rec = &l.records[l.first[s]];
  auto targeted = [&](const Record& r) {
    for (size_t i = 0; i < l.pointerCount; ++i) {
      if (l.pointers[i].target >= r.tail() && l.pointers[i].target < r.end) return true;
    }
    return false;
  };
  auto sameSet = [&](const Record& a, const Record& b) {
    return a.type == b.type && a.end - a.ownerEnd == b.end - b.ownerEnd &&  // RDATA length
           std::memcmp(&msg[a.ownerEnd + 2], &msg[b.ownerEnd + 2], 2) == 0 &&  // class
           sameName(msg, a.start, b.start);
  };
  uint64_t done = 0;
  for (size_t i = 0; i < n; ++i) {
    if ((done >> i & 1) || kindOf(rec[i].type) != Kind::Address || targeted(rec[i])) continue;
    uint64_t members = 0;
    uint8_t slots[kMaxSectionRecords];
    size_t m = 0;
    for (size_t j = i; j < n; ++j) {
      if ((done >> j & 1) || !sameSet(rec[i], rec[j]) || (j != i && targeted(rec[j]))) continue;
      members |= uint64_t{1} << j;
      done |= uint64_t{1} << j;
      slots[m++] = static_cast<uint8_t>(j);
    }
    if (m < 2) continue;
    const size_t tail = rec[i].end - rec[i].tail();
    if (tail > kMaxTail) continue;  // not A/AAAA-sized RDATA; leave such oddities alone
    uint8_t tails[kMaxSectionRecords * kMaxTail];
    size_t w = 0;
    for (size_t k = 0; k < n; ++k) {
      if (!(members >> order[k] & 1)) continue;
      std::memcpy(tails + w, &msg[rec[order[k]].tail()], tail);
      w += tail;
    }
    for (size_t k = 0; k < m; ++k) std::memcpy(&msg[rec[slots[k]].tail()], tails + k * tail, tail);
  }
}

bool isIdentity(const uint8_t* order, size_t n) {
  for (size_t k = 0; k < n; ++k) {
    if (order[k] != k) return false;
  }
  return true;
}

}  // namespace

// Cache-line aligned so two workers never write to the same line.
struct alignas(64) LoadbalanceHandler::WorkerState {
  uint64_t rng = 1;
  std::array<uint8_t, dns::kMaxMessage> scratch;  // a section being reordered
};

LoadbalanceHandler::LoadbalanceHandler(Config config, size_t workers, uint64_t seed)
    : config_(std::move(config)),
      workers_(workers),
      state_(std::make_unique<WorkerState[]>(workers)) {
  for (size_t i = 0; i < workers; ++i) {
    uint64_t s = splitmix(seed + i);
    state_[i].rng = s != 0 ? s : 1;  // xorshift stays at 0 forever
  }
}

LoadbalanceHandler::~LoadbalanceHandler() = default;

void LoadbalanceHandler::onReply(dns::Query& q) { balance(q.reply, q.worker); }

void LoadbalanceHandler::balance(std::span<uint8_t> msg, unsigned worker) {
  if (worker >= workers_) return;
  if (msg.size() < dns::kHeaderSize || msg.size() > dns::kMaxMessage) return;
  dns::Header h = dns::Header::read(msg.data());
  // As CoreDNS: only successful replies, and never a zone transfer.
  if (h.rcode() != dns::RCode::NoError || h.qdcount == 0) return;
  // A section of one record comes out as it went in, with or without `prefer`: most replies
  // stop here, before any walking.
  if (h.ancount < 2 && h.nscount < 2 && h.arcount < 2) return;
  Layout l;
  if (!scan(msg, l) || l.qtype == dns::rrtype::AXFR || l.qtype == dns::rrtype::IXFR) return;
  for (size_t i = l.first[2]; i < size_t{l.first[2]} + l.count[2]; ++i) {
    const Record& r = l.records[i];
    // An OPT's TTL starts with the upper bits of an extended rcode (BADVERS and the like).
    if (r.type == dns::rrtype::OPT && msg[r.tail()] != 0) return;
  }

  WorkerState& state = state_[worker];
  Rng rng(state.rng);
  for (size_t s = 0; s < kSections; ++s) {
    const size_t n = l.count[s];
    if (n < 2) continue;
    // CoreDNS orders answer and additional by preference, never authority.
    const bool prefer = !config_.prefer.empty() && s != 1;
    const Record* rec = &l.records[l.first[s]];
    Kind kinds[kMaxSectionRecords];
    uint8_t ranks[kMaxSectionRecords];
    for (size_t i = 0; i < n; ++i) {
      kinds[i] = kindOf(rec[i].type);
      ranks[i] = kUnranked;
      if (!prefer || kinds[i] != Kind::Address) continue;
      auto rdata = msg.subspan(rec[i].ownerEnd + 10u, rec[i].end - rec[i].ownerEnd - 10u);
      for (size_t k = 0; k < config_.prefer.size() && k < kUnranked; ++k) {
        if (config_.prefer[k].contains(rdata)) {
          ranks[i] = static_cast<uint8_t>(k);
          break;
        }
      }
    }
    uint8_t want[kMaxSectionRecords];
    std::span<const uint8_t> ranked;  // empty: no preference in this section
    if (prefer) ranked = std::span<const uint8_t>(ranks, n);
    plan(std::span<const Kind>(kinds, n), ranked, rng, want);
    if (isIdentity(want, n)) continue;

    uint64_t deps[kMaxSectionRecords];
    dependencies(l, s, deps);
    uint8_t order[kMaxSectionRecords];
    if (!repair(deps, n, want, order)) std::iota(order, order + n, uint8_t{0});
    uint8_t position[kMaxSectionRecords];
    bool moved = !isIdentity(order, n) && moveRecords(msg, l, s, order, state.scratch, position);
    if (moved && std::equal(order, order + n, want)) continue;
    if (!moved) std::iota(position, position + n, uint8_t{0});
    for (size_t k = 0; k < n; ++k) want[k] = position[want[k]];
    swapTails(msg, l, s, want);
  }
}

conf::Result<HandlerPtr> setupLoadbalance(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas);
  if (!config) return config.error();
  std::random_device device;
  uint64_t seed = uint64_t{device()} << 32 ^ device();
  // Tests and checks build without event loops; one state keeps the handler usable there.
  size_t workers = std::max<size_t>(1, ctx.loops.size());
  return HandlerPtr(std::make_shared<LoadbalanceHandler>(std::move(*config), workers, seed));
}

}  // namespace moat::plugins::loadbalance
