// A zone as the messages of an outgoing transfer (RFC 5936 §2.2): the SOA, every other record
// in the zone's canonical order (RRSIGs and NSECs among them, glue too), the SOA again. Each
// message repeats the query's ID and question, carries AA, and holds whole records up to a
// size limit, so a client reads the transfer one message at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "dns/wire.hpp"
#include "plugins/file/zone.hpp"

namespace moat::plugins::transfer {

// NSD's and Knot's choice: large enough that a message carries hundreds of records, small
// enough that a reader never waits on one long one.
constexpr size_t kMessageLimit = 16 * 1024;

class TransferWriter {
 public:
  // Hands a full message on; false when it could not be sent (the client went away).
  using Ship = std::function<bool(std::span<const uint8_t> message)>;

  // Starts the first message in `out`, a reply to `query`. The last message is left in `out`
  // for the caller to send as the query's reply.
  TransferWriter(std::vector<uint8_t>& out, std::span<const uint8_t> query, const dns::QueryView& view,
                 size_t messageLimit, Ship ship);

  // Appends one record (class IN), shipping the message first when the record would take it
  // past the limit. A record larger than the limit travels alone. False once shipping failed.
  bool add(std::span<const uint8_t> owner, uint16_t type, uint32_t ttl, std::span<const uint8_t> rdata);

  size_t records() const { return records_; }
  size_t messages() const { return shipped_ + 1; }

 private:
  std::vector<uint8_t>& out_;
  std::span<const uint8_t> query_;
  const dns::QueryView& view_;
  size_t limit_;
  Ship ship_;
  size_t inMessage_ = 0;  // records in the message being filled
  size_t records_ = 0;
  size_t shipped_ = 0;
};

// Writes the whole zone through `w`: SOA, the rest in canonical order, SOA. False when a
// message could not be shipped, or the zone has no SOA at its apex (never, once loaded).
bool writeZone(TransferWriter& w, const file::Zone& zone);

// The apex SOA as one record: the answer to an IXFR whose serial is current.
bool writeSoa(TransferWriter& w, const file::Zone& zone);

}  // namespace moat::plugins::transfer
