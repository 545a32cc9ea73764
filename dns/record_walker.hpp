// One pass over a message's questions and records, read from its bytes: the only place that
// knows how records are laid out, so every reader of replies and queries agrees on where a
// record starts and ends and on what makes a message malformed. A view: it allocates nothing
// and never reads outside the span it was given.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire.hpp"

namespace moat::dns {

// Where one question or record lies. Offsets are into the walked message; a question has no
// TTL and no RDATA (rdlength 0, ttl 0).
struct Record {
  Section section = Section::Question;
  uint32_t start = 0;     // the owner name as stored: it may end in a pointer
  uint32_t ownerEnd = 0;  // TYPE and CLASS follow, then TTL and RDLENGTH for a record
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  uint16_t rdlength = 0;

  size_t ttlOffset() const { return ownerEnd + 4u; }  // where a cache rewrites the TTL
  size_t rdata() const { return ownerEnd + 10u; }
  size_t end() const { return section == Section::Question ? ownerEnd + 4u : rdata() + rdlength; }
};

// Reads the header, then hands out the questions (nextQuestion) and the records of answer,
// authority and additional in wire order (next). Every owner name is followed to its root, so a
// record handed out has a readable owner and all its bytes inside the message; its RDATA is not
// parsed. The walk stops at the first malformed entry and stays stopped.
//
//   RecordWalker walk(msg);
//   for (Record r; walk.next(r);) { ... }
//   if (!walk.done()) { /* malformed: walk.error() says why, walk.offset() where */ }
class RecordWalker {
 public:
  explicit RecordWalker(std::span<const uint8_t> msg);

  // The next question, while questions remain.
  bool nextQuestion(Record& out);
  // The next record; questions not asked for are walked over first.
  bool next(Record& out);

  // Every entry the header counts was walked.
  bool done() const { return error_ == WireError::None && section_ == kSections; }
  WireError error() const { return error_; }
  const Header& header() const { return header_; }
  // Where the next entry starts: after done(), just past the last record (what follows is not
  // the message's); after an error, the entry that could not be read.
  size_t offset() const { return off_; }

 private:
  static constexpr uint8_t kSections = 4;

  bool step(Record& out);

  std::span<const uint8_t> msg_;
  Header header_;
  size_t off_ = kHeaderSize;
  uint8_t section_ = 0;             // a Section, or kSections once all are walked
  std::array<uint16_t, kSections> left_{};  // entries not yet walked, per section
  WireError error_ = WireError::None;
};

}  // namespace moat::dns
