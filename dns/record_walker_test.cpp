#include "dns/record_walker.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "dns/name.hpp"

using namespace moat;
using dns::Record;
using dns::RecordWalker;
using dns::Section;
using dns::WireError;

namespace {

// Messages laid out byte by byte, so each test knows every offset it asserts on.
struct Bytes {
  std::vector<uint8_t> b;

  explicit Bytes(uint16_t qd = 0, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
    b.resize(dns::kHeaderSize);
    dns::Header{0x4242, dns::flag::QR, qd, an, ns, ar}.write(b.data());
  }
  size_t size() const { return b.size(); }
  Bytes& name(const std::string& text) {
    auto wire = *dns::nameFromText(text);
    b.insert(b.end(), wire.begin(), wire.end());
    return *this;
  }
  Bytes& label(const std::string& text) {
    b.push_back(static_cast<uint8_t>(text.size()));
    b.insert(b.end(), text.begin(), text.end());
    return *this;
  }
  Bytes& pointer(size_t to) { return u16(static_cast<uint16_t>(0xC000 | to)); }
  Bytes& u16(uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Bytes& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
  Bytes& question(uint16_t type) { return u16(type).u16(dns::rrclass::IN); }
  // TYPE CLASS TTL RDLENGTH RDATA, after an owner written just before.
  Bytes& rr(uint16_t type, uint32_t ttl, std::vector<uint8_t> rdata, uint16_t klass = dns::rrclass::IN) {
    u16(type).u16(klass).u32(ttl).u16(static_cast<uint16_t>(rdata.size()));
    b.insert(b.end(), rdata.begin(), rdata.end());
    return *this;
  }
};

std::vector<Record> walkAll(RecordWalker& walk) {
  std::vector<Record> out;
  for (Record r; walk.next(r);) out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("every section's records, in wire order, with their fields and offsets") {
  Bytes m(1, 2, 1, 2);
  m.name("www.example.org.").question(dns::rrtype::A);             // 12..32
  const size_t cname = m.size();
  m.pointer(12).rr(dns::rrtype::CNAME, 300, {3, 'w', 'e', 'b', 0xC0, 16});
  const size_t a = m.size();
  m.label("web").pointer(16).rr(dns::rrtype::A, 60, {192, 0, 2, 1});
  const size_t ns = m.size();
  m.pointer(16).rr(dns::rrtype::NS, 3600, {2, 'n', 's', 0xC0, 16});
  const size_t glue = m.size();
  m.label("ns").pointer(16).rr(dns::rrtype::A, 3600, {192, 0, 2, 53});
  const size_t opt = m.size();
  m.b.push_back(0);
  m.rr(dns::rrtype::OPT, 0x01008000, {}, 1232);  // extended rcode 1, DO

  RecordWalker walk(m.b);
  CHECK(walk.header().id == 0x4242);
  auto records = walkAll(walk);
  REQUIRE(walk.done());
  CHECK(walk.error() == WireError::None);
  CHECK(walk.offset() == m.size());
  REQUIRE(records.size() == 5);

  struct Want {
    Section section;
    size_t start, ownerEnd;
    uint16_t type;
    uint32_t ttl;
    uint16_t rdlength;
  };
  const Want want[] = {
      {Section::Answer, cname, cname + 2, dns::rrtype::CNAME, 300, 6},
      {Section::Answer, a, a + 6, dns::rrtype::A, 60, 4},
      {Section::Authority, ns, ns + 2, dns::rrtype::NS, 3600, 5},
      {Section::Additional, glue, glue + 5, dns::rrtype::A, 3600, 4},
      {Section::Additional, opt, opt + 1, dns::rrtype::OPT, 0x01008000, 0},
  };
  for (size_t i = 0; i < records.size(); ++i) {
    CAPTURE(i);
    const Record& r = records[i];
    CHECK(r.section == want[i].section);
    CHECK(r.start == want[i].start);
    CHECK(r.ownerEnd == want[i].ownerEnd);
    CHECK(r.type == want[i].type);
    CHECK(r.ttl == want[i].ttl);
    CHECK(r.rdlength == want[i].rdlength);
    CHECK(r.rdata() == r.ownerEnd + 10);
    CHECK(r.end() == (i + 1 < records.size() ? want[i + 1].start : m.size()));
  }
  CHECK(records[4].klass == 1232);  // an OPT's class is its UDP size
  CHECK(records[0].klass == dns::rrclass::IN);
}

TEST_CASE("questions come one by one when asked for, and are walked over otherwise") {
  Bytes m(2, 1);
  m.name("a.example.").question(dns::rrtype::A);
  const size_t second = m.size();
  m.name("B.example.").question(dns::rrtype::AAAA);
  const size_t answer = m.size();
  m.pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 1});

  SUBCASE("asked for") {
    RecordWalker walk(m.b);
    Record q;
    REQUIRE(walk.nextQuestion(q));
    CHECK(q.section == Section::Question);
    CHECK(q.start == dns::kHeaderSize);
    CHECK(q.type == dns::rrtype::A);
    CHECK(q.end() == second);
    REQUIRE(walk.nextQuestion(q));
    CHECK(q.start == second);
    CHECK(q.type == dns::rrtype::AAAA);
    CHECK(q.ttl == 0);
    CHECK(q.rdlength == 0);
    CHECK_FALSE(walk.nextQuestion(q));
    CHECK(walk.offset() == answer);
    Record r;
    REQUIRE(walk.next(r));
    CHECK(r.start == answer);
    CHECK_FALSE(walk.nextQuestion(q));  // records do not come out as questions
    CHECK(walk.done());
  }
  SUBCASE("only the first asked for") {
    RecordWalker walk(m.b);
    Record q;
    REQUIRE(walk.nextQuestion(q));
    auto records = walkAll(walk);
    REQUIRE(records.size() == 1);
    CHECK(records[0].start == answer);
    CHECK(walk.done());
  }
  SUBCASE("none asked for") {
    RecordWalker walk(m.b);
    auto records = walkAll(walk);
    REQUIRE(records.size() == 1);
    CHECK(records[0].section == Section::Answer);
    CHECK(records[0].start == answer);
  }
}

TEST_CASE("messages with nothing to walk") {
  SUBCASE("a bare header is complete") {
    Bytes m;
    RecordWalker walk(m.b);
    Record r;
    CHECK_FALSE(walk.nextQuestion(r));
    CHECK_FALSE(walk.next(r));
    CHECK(walk.done());
    CHECK(walk.offset() == dns::kHeaderSize);
  }
  SUBCASE("a question and no records") {
    Bytes m(1);
    m.name(".").question(dns::rrtype::NS);
    RecordWalker walk(m.b);
    CHECK(walkAll(walk).empty());
    CHECK(walk.done());
    CHECK(walk.offset() == m.size());
  }
  SUBCASE("less than a header is malformed") {
    const std::vector<uint8_t> shortHeader(11, 0);
    RecordWalker walk(shortHeader);
    Record r;
    CHECK_FALSE(walk.next(r));
    CHECK_FALSE(walk.done());
    CHECK(walk.error() == WireError::Overrun);
    CHECK(walk.header().qdcount == 0);
  }
}

TEST_CASE("bytes after the last counted record are not walked") {
  Bytes m(1, 1);
  m.name("example.").question(dns::rrtype::A);
  m.pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 1});
  const size_t end = m.size();
  m.b.insert(m.b.end(), {0xFF, 0xFF, 0xFF});
  RecordWalker walk(m.b);
  CHECK(walkAll(walk).size() == 1);
  CHECK(walk.done());
  CHECK(walk.offset() == end);
}

TEST_CASE("counts larger than the message: the records that are there, then an overrun") {
  Bytes m(1, 5, 0, 0);
  m.name("example.").question(dns::rrtype::A);
  m.pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 1});
  m.pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 2});
  RecordWalker walk(m.b);
  CHECK(walkAll(walk).size() == 2);
  CHECK_FALSE(walk.done());
  CHECK(walk.error() == WireError::Overrun);
  CHECK(walk.offset() == m.size());  // the third record, which is not there

  SUBCASE("a question count larger than the message") {
    Bytes q(3);
    q.name("example.").question(dns::rrtype::A);
    RecordWalker w(q.b);
    Record r;
    CHECK(w.nextQuestion(r));
    CHECK_FALSE(w.nextQuestion(r));
    CHECK(w.error() == WireError::Overrun);
  }
}

TEST_CASE("a record cut short anywhere is an overrun, and the walk stays stopped") {
  Bytes m(1, 2);
  m.name("example.").question(dns::rrtype::A);
  const size_t first = m.size();
  m.pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 1});
  const size_t second = m.size();
  m.pointer(12).rr(dns::rrtype::TXT, 5, {4, 't', 'e', 'x', 't'});
  // Every length that ends inside the second record: its owner, fixed fields or RDATA.
  for (size_t len = second; len < m.size(); ++len) {
    CAPTURE(len);
    std::vector<uint8_t> cut(m.b.begin(), m.b.begin() + static_cast<long>(len));
    RecordWalker walk(cut);
    Record r;
    REQUIRE(walk.next(r));
    CHECK(r.start == first);
    CHECK_FALSE(walk.next(r));
    CHECK(walk.error() == WireError::Overrun);
    CHECK(walk.offset() == second);
    CHECK_FALSE(walk.next(r));
    CHECK_FALSE(walk.done());
  }

  SUBCASE("an RDLENGTH past the end, with the bytes after it present") {
    auto longer = m.b;
    dns::put16(&longer[second + 10], 200);
    RecordWalker walk(longer);
    CHECK(walkAll(walk).size() == 1);
    CHECK(walk.error() == WireError::Overrun);
  }
}

TEST_CASE("compression pointers: followed to check the name, not to find the record's end") {
  SUBCASE("a pointer to a later name is read, as ldns and miekg/dns read it") {
    Bytes m(1, 2);
    m.name("example.").question(dns::rrtype::A);
    const size_t first = m.size();
    const size_t second = first + 2 + 10 + 4;
    m.pointer(second).rr(dns::rrtype::A, 5, {10, 0, 0, 1});
    m.label("www").pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 2});
    RecordWalker walk(m.b);
    auto records = walkAll(walk);
    REQUIRE(walk.done());
    CHECK(records[0].ownerEnd == first + 2);
    CHECK(records[1].start == second);
    CHECK(records[1].ownerEnd == second + 6);
  }
  SUBCASE("a name may take kMaxPointers pointers, not one more") {
    for (unsigned pointers : {dns::kMaxPointers, dns::kMaxPointers + 1}) {
      CAPTURE(pointers);
      Bytes m(1, 1);
      m.name("example.").question(dns::rrtype::A);
      // The owner is one pointer, into a chain after the record (bytes no count covers) whose
      // pointers each aim at the next, the last at the question's name.
      const size_t chain = m.size() + 2 + 10 + 4;
      m.pointer(chain).rr(dns::rrtype::A, 5, {10, 0, 0, 1});
      for (unsigned i = 2; i < pointers; ++i) m.pointer(m.size() + 2);
      m.pointer(12);
      RecordWalker walk(m.b);
      const auto records = walkAll(walk);
      if (pointers == dns::kMaxPointers) {
        CHECK(walk.done());
        CHECK(records.size() == 1);
      } else {
        CHECK(records.empty());
        CHECK(walk.error() == WireError::PointerLimit);
      }
    }
  }
  SUBCASE("a malformed question name stops the walk before any record") {
    Bytes m(1, 1);
    m.pointer(12).question(dns::rrtype::A);  // points at itself
    m.pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 1});
    RecordWalker walk(m.b);
    Record q;
    CHECK_FALSE(walk.nextQuestion(q));
    CHECK(walk.error() == WireError::PointerLimit);
    CHECK(walk.offset() == dns::kHeaderSize);
  }
}

TEST_CASE("an owner name that does not read stops the walk at its record, saying why") {
  struct Case {
    const char* what;
    std::function<void(Bytes&, size_t)> owner;  // writes the owner, which starts at the offset
    WireError want;
  };
  auto label = [](uint8_t first) {
    return [first](Bytes& m, size_t) {
      m.b.push_back(first);
      m.b.insert(m.b.end(), 70, 'x');
      m.b.push_back(0);
    };
  };
  const Case cases[] = {
      {"a pointer to itself", [](Bytes& m, size_t at) { m.pointer(at); }, WireError::PointerLimit},
      {"two pointers to each other", [](Bytes& m, size_t at) { m.pointer(at + 2).pointer(at); },
       WireError::PointerLimit},
      {"a label and a pointer back to it: past 255 bytes before the pointer limit",
       [](Bytes& m, size_t at) { m.label(std::string(63, 'a')).pointer(at); },
       WireError::NameTooLong},
      {"a pointer past the end of the message", [](Bytes& m, size_t) { m.pointer(0x3FFF); },
       WireError::Overrun},
      {"label type 0x40", label(0x40), WireError::BadLabel},
      {"label type 0x80", label(0x80), WireError::BadLabel},
      {"label length 64", label(64), WireError::BadLabel},
      {"label type 0x80 with length bits", label(0xBF), WireError::BadLabel},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Bytes m(1, 1);
    m.name("example.").question(dns::rrtype::A);
    const size_t at = m.size();
    c.owner(m, at);
    m.rr(dns::rrtype::A, 5, {10, 0, 0, 1});
    RecordWalker walk(m.b);
    CHECK(walkAll(walk).empty());
    CHECK(walk.error() == c.want);
    CHECK(walk.offset() == at);
  }
}

TEST_CASE("followName visits every label, the root's included, and every pointer, in order") {
  Bytes m(1);
  m.name("foo.example.").question(dns::rrtype::A);   // labels at 12, 16, 24
  const size_t at = m.size();
  m.label("bar").pointer(16);
  std::vector<size_t> visited;
  const dns::NameEnd end = dns::followName(m.b, at, [&](size_t off) { visited.push_back(off); });
  CHECK(end.error == WireError::None);
  CHECK(end.end == at + 6);
  CHECK(visited == std::vector<size_t>{at, at + 4, 16, 24});
  std::vector<uint8_t> name;
  CHECK(dns::readName(m.b, at, name) == at + 6);
  CHECK(dns::nameToText(name) == "bar.example.");
}

TEST_CASE("ttlOffset is where a record's TTL can be rewritten in place") {
  Bytes m(1, 2, 0, 1);
  m.name("example.").question(dns::rrtype::A);
  m.pointer(12).rr(dns::rrtype::A, 5, {10, 0, 0, 1});
  m.pointer(12).rr(dns::rrtype::A, 6, {10, 0, 0, 2});
  m.b.push_back(0);
  m.rr(dns::rrtype::OPT, 0, {}, 1232);
  {
    RecordWalker walk(m.b);
    for (Record r; walk.next(r);) {
      if (r.type != dns::rrtype::OPT) dns::put32(&m.b[r.ttlOffset()], 99);
    }
    REQUIRE(walk.done());
  }
  RecordWalker again(m.b);
  auto records = walkAll(again);
  REQUIRE(records.size() == 3);
  CHECK(records[0].ttl == 99);
  CHECK(records[1].ttl == 99);
  CHECK(records[2].ttl == 0);
}
