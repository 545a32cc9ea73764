// Building replies in place. A reply starts as a copy of the query's header and question
// (the client's spelling of the name is kept, as every server does) and grows by whole RRs.
// Names are written uncompressed, as CoreDNS writes what its plugins build; compression is
// only applied when a reply would otherwise not fit the client's buffer (see reply_fit.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dns/wire.hpp"

namespace moat::dns {

class MessageWriter {
 public:
  explicit MessageWriter(std::vector<uint8_t>& out) : out_(out) {}

  // Header + question copied from the query; QR set, opcode/RD/CD kept, rcode and AA as given.
  void startReply(std::span<const uint8_t> query, const QueryView& view, RCode rcode, bool aa);

  // Appends one RR. Sections must be filled in order (answer, authority, additional).
  void addRR(Section section, std::span<const uint8_t> owner, uint16_t type, uint16_t klass,
             uint32_t ttl, std::span<const uint8_t> rdata);

  void setRCode(RCode rcode);
  void setFlag(uint16_t mask, bool on);
  size_t size() const { return out_.size(); }

 private:
  std::vector<uint8_t>& out_;
};

// A bare reply carrying only the question and an rcode: what the server sends for REFUSED,
// SERVFAIL, FORMERR, NOTIMP when no plugin wrote anything. `query` may be only a header.
void writeErrorReply(std::vector<uint8_t>& out, std::span<const uint8_t> query,
                     const QueryView* view, RCode rcode);

// Reads the (possibly compressed) name at `off` into `out` uncompressed; returns the offset just
// past the name as stored at `off`, or 0 when it is malformed (loops, overruns, too long).
size_t readName(std::span<const uint8_t> msg, size_t off, std::vector<uint8_t>& out);

// Appends the answer records of message `from` to `w`'s `section` with every name written out
// in full (pointers expanded, in owners and in the RDATA of CNAME, NS, PTR, DNAME, MX, SRV and
// SOA), so they stay valid in another message. Returns how many were appended, or -1 (and
// appends nothing) when `from` is malformed.
int appendAnswersExpanded(MessageWriter& w, std::span<const uint8_t> from, Section section);

struct Record;

// Appends the name at `off` in `msg` to `out` with its pointers expanded. Returns the offset just
// past the name as stored at `off`, or 0 (out unchanged) when it is malformed. Allocates nothing
// when `out` has the capacity: for the query path.
size_t appendNameExpanded(std::vector<uint8_t>& out, std::span<const uint8_t> msg, size_t off);

// Appends record `rec` of message `from` (found by a RecordWalker) to the message being built in
// `out`, in `section`, with its names expanded as appendAnswersExpanded writes them, and counts
// it in `out`'s header. False (out unchanged) when the record is malformed. Allocates nothing
// when `out` has the capacity.
bool appendRecordExpanded(std::vector<uint8_t>& out, std::span<const uint8_t> from, const Record& rec,
                          Section section);

// Appends an OPT RR (version 0, our UDP size, the DO bit echoed) and bumps ARCOUNT.
void appendOpt(std::vector<uint8_t>& msg, uint16_t udpSize, bool dnssecOk);

// Returns true when `msg` already carries an OPT RR in its additional section.
bool hasOpt(std::span<const uint8_t> msg);

}  // namespace moat::dns
