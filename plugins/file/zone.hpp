// One zone's data, immutable once built: every owner name in DNSSEC canonical order (RFC 4034
// §6.1), each with its RRsets, all RDATA in one arena. Queries read it without locks or
// allocation; a reload builds a new one and publishes it whole.
//
// Names are looked up by a canonical key: the labels from the right, each lowercased and ended
// by a 0 byte (bytes 0 and 1 inside a label escaped as 1,b), so memcmp order is canonical order
// and a name's descendants are exactly the keys that start with its key. That one property
// gives exact match, "has a name below it" (empty non-terminals) and "the name before it"
// (NSEC) as binary searches.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/name.hpp"

namespace moat::plugins::file {

struct Record {
  uint32_t offset = 0;  // RDATA in the arena
  uint16_t length = 0;
  uint32_t ttl = 0;
};

struct RRset {
  uint16_t type = 0;
  uint16_t covered = 0;  // RRSIG sets: the type the signatures cover (one set per covered type)
  uint32_t first = 0;    // its records: records_[first, first + count)
  uint32_t count = 0;
};

struct Node {
  uint32_t keyOffset = 0;
  uint16_t keyLength = 0;
  uint32_t nameOffset = 0;  // the owner, lowercased wire form
  uint16_t nameLength = 0;
  uint32_t firstSet = 0;    // its RRsets: sets_[firstSet, firstSet + setCount), sorted by type
  uint16_t setCount = 0;
};

// The longest key a name can have: every byte escaped, plus a terminator per label.
constexpr size_t kMaxKey = 2 * 255 + 128;

// Writes the canonical key of a lowercased wire name into `out`; returns its length.
size_t canonicalKey(std::span<const uint8_t> lowerName, uint8_t* out);

class Zone;
using ZonePtr = std::shared_ptr<const Zone>;

class Zone {
 public:
  // The zone's origin (lowercased wire form).
  std::span<const uint8_t> origin() const { return origin_; }
  uint32_t serial() const { return serial_; }
  const Node& apex() const { return nodes_[apex_]; }
  size_t recordCount() const { return records_.size(); }
  size_t nameCount() const { return nodes_.size(); }

  // The node owning exactly `lowerName`, or null.
  const Node* find(std::span<const uint8_t> lowerName) const;
  // True when some owner lies strictly below `lowerName`.
  bool hasDescendant(std::span<const uint8_t> lowerName) const;
  // The last owner sorting strictly before `lowerName` in canonical order, or null.
  const Node* previous(std::span<const uint8_t> lowerName) const;

  // Every owner in canonical order (the apex first), and a node's RRsets sorted by type
  // (RRSIG sets among them): what a zone transfer walks.
  std::span<const Node> nodes() const { return nodes_; }
  std::span<const RRset> sets(const Node& node) const { return {sets_.data() + node.firstSet, node.setCount}; }

  std::span<const uint8_t> name(const Node& node) const {
    return {arena_.data() + node.nameOffset, node.nameLength};
  }
  // The node's set of `type` (not RRSIG), or null.
  const RRset* rrset(const Node& node, uint16_t type) const;
  // The node's signatures over `covered`, or null.
  const RRset* signatures(const Node& node, uint16_t covered) const;
  std::span<const Record> records(const RRset& set) const { return {records_.data() + set.first, set.count}; }
  std::span<const uint8_t> rdata(const Record& r) const { return {arena_.data() + r.offset, r.length}; }
  // The first record's RDATA, for sets of one (SOA, CNAME, DNAME).
  std::span<const uint8_t> firstRdata(const RRset& set) const { return rdata(records_[set.first]); }

  // Collects records, then sorts them into a Zone.
  class Builder {
   public:
    explicit Builder(std::span<const uint8_t> lowerOrigin);
    // `owner` is lowercased by the builder; RDATA is stored as given.
    void add(std::span<const uint8_t> owner, uint16_t type, uint32_t ttl,
             std::span<const uint8_t> rdata);
    size_t size() const { return pending_.size(); }
    // Room for what a file of this size will add, so a large load does not copy its data
    // each time a vector doubles (the copies and their page faults were a third of a
    // million-record load). Capacity not used is never touched, so it costs no memory.
    void reserve(size_t records, size_t arenaBytes);
    // Takes every record `later` collected, as if they had been added after this one's.
    void absorb(Builder&& later);
    // Null when the origin has no SOA (the caller reports it).
    ZonePtr build();

   private:
    struct Pending {
      uint32_t keyOffset;
      uint16_t keyLength;
      uint32_t nameOffset;
      uint16_t nameLength;
      uint16_t type;
      uint16_t covered;
      uint32_t ttl;
      uint32_t rdataOffset;
      uint16_t rdataLength;
      uint32_t order;  // insertion order, so records keep the file's order within a set
    };
    dns::WireName origin_;
    std::vector<uint8_t> arena_;
    std::vector<Pending> pending_;
  };

 private:
  int compareKey(const Node& node, std::span<const uint8_t> key) const;
  // Index of the first node whose key is not less than `key`.
  size_t lowerBound(std::span<const uint8_t> key) const;

  dns::WireName origin_;
  uint32_t serial_ = 0;
  size_t apex_ = 0;
  std::vector<uint8_t> arena_;
  std::vector<Node> nodes_;
  std::vector<RRset> sets_;
  std::vector<Record> records_;
};

}  // namespace moat::plugins::file
