// Fuzz target: dns::RecordWalker against ldns, on any bytes. ldns is read the way
// ldns_wire2pkt reads a message (its own ldns_wire2rr, entry after entry from where the last
// one ended, with its loop bounds), and ldns_wire2pkt itself must agree with that reading. Then
// for every question and record both read at the same offset, the owner name (pointers
// followed, case kept), type, class and TTL must be equal, and so must the offset where the
// entry ends; where both stop, each must stop for the same reason, or for one of these, and
// only these, differences:
//  1. ldns parses RDATA by its type (ldns_wire2rdf); the walker reads only RDLENGTH. ldns may
//     reject RDATA the walker hands out (an A of 2 bytes, a name inside RDATA running past
//     the end), or take fewer or more bytes than RDLENGTH (an A of 8 bytes: the last 4 become
//     ldns's next record; a name in RDATA running past RDLENGTH). From an entry where the two
//     end at different offsets nothing more is compared: they read different bytes as records.
//  2. ldns rejects a pointer to offset 0 (its "no pointer"); the walker follows it, as
//     miekg/dns does. It must be one of the pointers the walker followed in that owner name.
//  3. ldns follows up to 65535 pointers in one name; the walker, as miekg/dns (so as CoreDNS),
//     at most kMaxPointers. A name the walker rejects for that must take more than that.
//  4. ldns_wire2pkt lowers ARCOUNT, which bounds its loop, for each TSIG it reads, so it stops
//     short of the last additional records by as many TSIGs as it read; the walker reads them
//     and may find one malformed.
// The walker is also checked on its own: entries tile the message from the header on, in
// section order and within the header's counts; owner names read the same with readName and
// skipName; skipping the questions gives the same records as reading them.
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "dns/ldns.hpp"
#include "dns/message.hpp"
#include "dns/record_walker.hpp"
#include "dns/wire.hpp"
#include "fuzz/fuzz_util.hpp"

namespace {

using namespace moat;
using dns::Record;
using dns::RecordWalker;
using dns::Section;

constexpr uint16_t kTsig = 250;

struct Walked {
  std::vector<Record> entries;  // questions, then records
  bool done = false;
  dns::WireError error = dns::WireError::None;
  size_t offset = 0;
};

Walked walk(std::span<const uint8_t> msg, bool askQuestions) {
  Walked out;
  RecordWalker w(msg);
  if (askQuestions) {
    for (Record q; w.nextQuestion(q);) out.entries.push_back(q);
  }
  for (Record r; w.next(r);) out.entries.push_back(r);
  Record again;
  FUZZ_CHECK(!w.next(again) && !w.nextQuestion(again));  // a finished walk stays finished
  out.done = w.done();
  out.error = w.error();
  out.offset = w.offset();
  return out;
}

// The walker on its own: what it hands out lies inside the message, one entry after another.
void checkShape(std::span<const uint8_t> msg, const Walked& w) {
  FUZZ_CHECK(w.done == (w.error == dns::WireError::None));
  if (msg.size() < dns::kHeaderSize) {
    FUZZ_CHECK(!w.done && w.entries.empty());
    return;
  }
  const dns::Header h = dns::Header::read(msg.data());
  const unsigned counts[4] = {h.qdcount, h.ancount, h.nscount, h.arcount};
  unsigned seen[4] = {0, 0, 0, 0};
  size_t at = dns::kHeaderSize;
  int section = 0;
  std::vector<uint8_t> name;
  for (const Record& r : w.entries) {
    const auto s = static_cast<int>(r.section);
    FUZZ_CHECK(s >= section);
    section = s;
    FUZZ_CHECK(++seen[s] <= counts[s]);
    FUZZ_CHECK(r.start == at && r.start < r.ownerEnd && r.end() <= msg.size());
    FUZZ_CHECK(dns::skipName(msg, r.start) == r.ownerEnd);
    FUZZ_CHECK(dns::readName(msg, r.start, name) == r.ownerEnd);
    FUZZ_CHECK(!name.empty() && name.size() <= dns::kMaxNameLen && name.back() == 0);
    FUZZ_CHECK(r.type == dns::get16(&msg[r.ownerEnd]) && r.klass == dns::get16(&msg[r.ownerEnd + 2]));
    if (r.section == Section::Question) {
      FUZZ_CHECK(r.ttl == 0 && r.rdlength == 0 && r.end() == r.ownerEnd + 4u);
    } else {
      FUZZ_CHECK(r.ttl == dns::get32(&msg[r.ttlOffset()]));
      FUZZ_CHECK(r.rdlength == dns::get16(&msg[r.ownerEnd + 8]));
    }
    at = r.end();
  }
  FUZZ_CHECK(w.offset == at);
  if (w.done) {
    for (int s = 0; s < 4; ++s) FUZZ_CHECK(seen[s] == counts[s]);
  }
}

// One entry as ldns read it, at the offset where it read it.
struct LdnsEntry {
  Section section;
  size_t start, end;
  dns::LdnsRr rr;
};

struct LdnsRead {
  std::vector<LdnsEntry> entries;
  bool ok = false;
  unsigned tsigs = 0;  // difference 4
};

// ldns_wire2pkt's reading, entry by entry (wire2host.c: header, then each section's count of
// ldns_wire2rr calls, each from where the last ended; a TSIG read lowers ARCOUNT).
LdnsRead readAsLdns(std::span<const uint8_t> msg) {
  LdnsRead out;
  if (msg.size() < dns::kHeaderSize) return out;
  const dns::Header h = dns::Header::read(msg.data());
  unsigned counts[4] = {h.qdcount, h.ancount, h.nscount, h.arcount};
  size_t pos = dns::kHeaderSize;
  for (int s = 0; s < 4; ++s) {
    for (unsigned i = 0; i < counts[s]; ++i) {
      const size_t start = pos;
      ldns_rr* rr = nullptr;
      if (ldns_wire2rr(&rr, msg.data(), msg.size(), &pos, static_cast<ldns_pkt_section>(s)) !=
          LDNS_STATUS_OK) {
        return out;
      }
      out.entries.push_back({static_cast<Section>(s), start, pos, dns::LdnsRr(rr)});
      if (s == 3 && ldns_rr_get_type(rr) == kTsig) {
        --counts[3];
        ++out.tsigs;
      }
    }
  }
  out.ok = true;
  return out;
}

bool sameRr(const ldns_rr* a, const ldns_rr* b) {
  const ldns_rdf* x = ldns_rr_owner(a);
  const ldns_rdf* y = ldns_rr_owner(b);
  return ldns_rr_get_type(a) == ldns_rr_get_type(b) &&
         ldns_rr_get_class(a) == ldns_rr_get_class(b) && ldns_rr_ttl(a) == ldns_rr_ttl(b) &&
         ldns_rdf_size(x) == ldns_rdf_size(y) &&
         std::memcmp(ldns_rdf_data(x), ldns_rdf_data(y), ldns_rdf_size(x)) == 0;
}

// ldns_wire2pkt must agree with the reading above, so that comparing with it is comparing with
// ldns. Not run when two TSIGs were read: ldns_wire2pkt then leaks the first (ldns 1.8.3
// ldns_pkt_set_tsig does not free the one it replaces), which LeakSanitizer would report.
void checkReading(std::span<const uint8_t> msg, const LdnsRead& read) {
  if (read.tsigs >= 2) return;
  ldns_pkt* raw = nullptr;
  const bool ok = ldns_wire2pkt(&raw, msg.data(), msg.size()) == LDNS_STATUS_OK;
  dns::LdnsPkt pkt(raw);
  FUZZ_CHECK(ok == read.ok);
  if (!ok) return;
  ldns_rr_list* lists[4] = {ldns_pkt_question(raw), ldns_pkt_answer(raw), ldns_pkt_authority(raw),
                            ldns_pkt_additional(raw)};
  size_t next[4] = {0, 0, 0, 0};
  const LdnsEntry* lastOpt = nullptr;
  const LdnsEntry* tsig = nullptr;
  for (const LdnsEntry& e : read.entries) {
    const auto s = static_cast<size_t>(e.section);
    const ldns_rr_type type = ldns_rr_get_type(e.rr.get());
    if (e.section == Section::Additional && type == LDNS_RR_TYPE_OPT) {
      lastOpt = &e;
      continue;
    }
    if (e.section == Section::Additional && type == kTsig) {
      tsig = &e;
      continue;
    }
    FUZZ_CHECK(next[s] < ldns_rr_list_rr_count(lists[s]));
    FUZZ_CHECK(sameRr(ldns_rr_list_rr(lists[s], next[s]++), e.rr.get()));
  }
  for (size_t s = 0; s < 4; ++s) FUZZ_CHECK(next[s] == ldns_rr_list_rr_count(lists[s]));
  FUZZ_CHECK((tsig != nullptr) == (ldns_pkt_tsig(raw) != nullptr));
  if (tsig != nullptr) FUZZ_CHECK(sameRr(tsig->rr.get(), ldns_pkt_tsig(raw)));
  if (lastOpt != nullptr) {
    const uint32_t ttl = ldns_rr_ttl(lastOpt->rr.get());
    FUZZ_CHECK(ldns_pkt_edns_udp_size(raw) == ldns_rr_get_class(lastOpt->rr.get()));
    FUZZ_CHECK(ldns_pkt_edns_extended_rcode(raw) == ttl >> 24);
    FUZZ_CHECK(ldns_pkt_edns_version(raw) == (ttl >> 16 & 0xFF));
    FUZZ_CHECK(ldns_pkt_edns_z(raw) == (ttl & 0xFFFF));
  }
}

// The pointers the name at `off` follows, counted past kMaxPointers (difference 3), and whether
// one aims at offset 0 (difference 2). Independent of followName on purpose.
struct Pointers {
  unsigned count = 0;
  bool toZero = false;
};

Pointers pointersOf(std::span<const uint8_t> msg, size_t off) {
  Pointers p;
  while (off < msg.size() && p.count <= dns::kMaxPointers + 1) {
    const uint8_t len = msg[off];
    if ((len & 0xC0) == 0xC0) {
      if (off + 1 >= msg.size()) break;
      ++p.count;
      off = static_cast<size_t>(len & 0x3F) << 8 | msg[off + 1];
      p.toZero = p.toZero || off == 0;
      continue;
    }
    if (len == 0 || len > dns::kMaxLabelLen) break;
    off += 1u + len;
  }
  return p;
}

bool ldnsReadsName(std::span<const uint8_t> msg, size_t off) {
  ldns_rdf* raw = nullptr;
  const bool ok = ldns_wire2dname(&raw, msg.data(), msg.size(), &off) == LDNS_STATUS_OK;
  dns::LdnsRdf name(raw);
  return ok;
}

void compare(std::span<const uint8_t> msg, const Walked& w, const LdnsRead& l) {
  std::vector<uint8_t> owner;
  size_t k = 0;
  for (; k < w.entries.size() && k < l.entries.size(); ++k) {
    const Record& r = w.entries[k];
    const LdnsEntry& e = l.entries[k];
    FUZZ_CHECK(r.section == e.section && r.start == e.start);
    const ldns_rdf* name = ldns_rr_owner(e.rr.get());
    dns::readName(msg, r.start, owner);
    FUZZ_CHECK(owner.size() == ldns_rdf_size(name));
    FUZZ_CHECK(std::memcmp(owner.data(), ldns_rdf_data(name), owner.size()) == 0);
    FUZZ_CHECK(r.type == ldns_rr_get_type(e.rr.get()));
    FUZZ_CHECK(r.klass == ldns_rr_get_class(e.rr.get()));
    if (r.section != Section::Question) FUZZ_CHECK(r.ttl == ldns_rr_ttl(e.rr.get()));
    if (r.end() != e.end) {
      FUZZ_CHECK(r.section != Section::Question);
      return;  // difference 1: RDATA read by type; from here the two read different bytes
    }
  }
  if (k == w.entries.size() && k == l.entries.size()) {
    if (w.done) FUZZ_CHECK(l.ok);  // ldns read every entry the header counts, as the walker did
    if (l.ok && !w.done) {
      const dns::Header h = dns::Header::read(msg.data());
      FUZZ_CHECK(l.tsigs > 0 && k >= size_t{h.qdcount} + h.ancount + h.nscount);  // difference 4
    }
    return;
  }
  if (k == w.entries.size()) {
    // ldns read an entry the walker stopped at, from the same offset.
    FUZZ_CHECK(!w.done && w.offset == l.entries[k].start);
    FUZZ_CHECK(w.error == dns::WireError::PointerLimit);
    FUZZ_CHECK(pointersOf(msg, w.offset).count > dns::kMaxPointers);  // difference 3
    return;
  }
  // The walker read an entry ldns did not: ldns stopped before it, or failed on it.
  const Record& r = w.entries[k];
  if (l.ok) {
    FUZZ_CHECK(l.tsigs > 0 && r.section == Section::Additional);  // difference 4
    return;
  }
  if (ldnsReadsName(msg, r.start)) {
    FUZZ_CHECK(r.section != Section::Question);  // difference 1: only RDATA is left to fail
  } else {
    FUZZ_CHECK(pointersOf(msg, r.start).toZero);  // difference 2
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > dns::kMaxMessage) return 0;
  const std::span<const uint8_t> msg(data, size);

  const Walked withQuestions = walk(msg, true);
  checkShape(msg, withQuestions);
  const Walked records = walk(msg, false);
  FUZZ_CHECK(records.done == withQuestions.done && records.error == withQuestions.error &&
             records.offset == withQuestions.offset);
  size_t questions = 0;
  while (questions < withQuestions.entries.size() &&
         withQuestions.entries[questions].section == Section::Question) {
    ++questions;
  }
  FUZZ_CHECK(records.entries.size() == withQuestions.entries.size() - questions);
  for (size_t i = 0; i < records.entries.size(); ++i) {
    FUZZ_CHECK(records.entries[i].start == withQuestions.entries[questions + i].start);
  }

  const LdnsRead read = readAsLdns(msg);
  checkReading(msg, read);
  compare(msg, withQuestions, read);
  return 0;
}
