#include "plugins/file/zone.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "dns/wire.hpp"

namespace moat::plugins::file {

size_t canonicalKey(std::span<const uint8_t> lowerName, uint8_t* out) {
  // Label starts, left to right; the key lists them right to left.
  std::array<uint8_t, 128> starts{};
  size_t labels = 0;
  for (size_t off = 0; off < lowerName.size() && lowerName[off] != 0; off += 1u + lowerName[off]) {
    starts[labels++] = static_cast<uint8_t>(off);
  }
  size_t n = 0;
  while (labels > 0) {
    const size_t at = starts[--labels];
    const uint8_t len = lowerName[at];
    for (size_t i = 0; i < len; ++i) {
      const uint8_t b = lowerName[at + 1 + i];
      if (b <= 1) out[n++] = 1;  // escaped so that 0 only ever ends a label
      out[n++] = b;
    }
    out[n++] = 0;
  }
  return n;
}

namespace {

std::span<const uint8_t> keyOf(const std::vector<uint8_t>& arena, uint32_t offset, uint16_t length) {
  return {arena.data() + offset, length};
}

int compareBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// The SOA serial: after MNAME and RNAME (uncompressed, as stored).
uint32_t soaSerial(std::span<const uint8_t> rdata) {
  size_t off = dns::skipName(rdata, 0);
  if (off == 0) return 0;
  off = dns::skipName(rdata, off);
  if (off == 0 || off + 4 > rdata.size()) return 0;
  return dns::get32(rdata.data() + off);
}

}  // namespace

int Zone::compareKey(const Node& node, std::span<const uint8_t> key) const {
  return compareBytes(keyOf(arena_, node.keyOffset, node.keyLength), key);
}

size_t Zone::lowerBound(std::span<const uint8_t> key) const {
  size_t lo = 0, hi = nodes_.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (compareKey(nodes_[mid], key) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

const Node* Zone::find(std::span<const uint8_t> lowerName) const {
  std::array<uint8_t, kMaxKey> buf;
  const std::span<const uint8_t> key(buf.data(), canonicalKey(lowerName, buf.data()));
  const size_t at = lowerBound(key);
  if (at < nodes_.size() && compareKey(nodes_[at], key) == 0) return &nodes_[at];
  return nullptr;
}

bool Zone::hasDescendant(std::span<const uint8_t> lowerName) const {
  std::array<uint8_t, kMaxKey> buf;
  const std::span<const uint8_t> key(buf.data(), canonicalKey(lowerName, buf.data()));
  size_t at = lowerBound(key);
  if (at < nodes_.size() && compareKey(nodes_[at], key) == 0) ++at;
  if (at == nodes_.size()) return false;
  const Node& next = nodes_[at];
  return next.keyLength > key.size() &&
         std::memcmp(arena_.data() + next.keyOffset, key.data(), key.size()) == 0;
}

const Node* Zone::previous(std::span<const uint8_t> lowerName) const {
  std::array<uint8_t, kMaxKey> buf;
  const std::span<const uint8_t> key(buf.data(), canonicalKey(lowerName, buf.data()));
  const size_t at = lowerBound(key);
  return at == 0 ? nullptr : &nodes_[at - 1];
}

const RRset* Zone::rrset(const Node& node, uint16_t type) const {
  for (size_t i = node.firstSet; i < node.firstSet + node.setCount; ++i) {
    if (sets_[i].type == type && type != dns::rrtype::RRSIG) return &sets_[i];
  }
  return nullptr;
}

const RRset* Zone::signatures(const Node& node, uint16_t covered) const {
  for (size_t i = node.firstSet; i < node.firstSet + node.setCount; ++i) {
    if (sets_[i].type == dns::rrtype::RRSIG && sets_[i].covered == covered) return &sets_[i];
  }
  return nullptr;
}

Zone::Builder::Builder(std::span<const uint8_t> lowerOrigin)
    : origin_(dns::lowercased(lowerOrigin)) {}

void Zone::Builder::add(std::span<const uint8_t> owner, uint16_t type, uint32_t ttl,
                        std::span<const uint8_t> rdata) {
  Pending p{};
  // Zone files list a name's records together: reuse the previous owner's key and name.
  const bool sameOwner =
      !pending_.empty() && pending_.back().nameLength == owner.size() &&
      std::equal(owner.begin(), owner.end(), arena_.begin() + pending_.back().nameOffset,
                 [](uint8_t asked, uint8_t stored) {  // length bytes are under 64, never letters
                   return (asked >= 'A' && asked <= 'Z' ? asked + 32 : asked) == stored;
                 });
  if (sameOwner) {
    p.keyOffset = pending_.back().keyOffset;
    p.keyLength = pending_.back().keyLength;
    p.nameOffset = pending_.back().nameOffset;
    p.nameLength = pending_.back().nameLength;
  } else {
    p.nameOffset = static_cast<uint32_t>(arena_.size());
    p.nameLength = static_cast<uint16_t>(owner.size());
    arena_.insert(arena_.end(), owner.begin(), owner.end());
    dns::lowercaseInPlace({arena_.data() + p.nameOffset, owner.size()});
    std::array<uint8_t, kMaxKey> key;
    const size_t keyLength = canonicalKey({arena_.data() + p.nameOffset, owner.size()}, key.data());
    p.keyOffset = static_cast<uint32_t>(arena_.size());
    p.keyLength = static_cast<uint16_t>(keyLength);
    arena_.insert(arena_.end(), key.begin(), key.begin() + static_cast<std::ptrdiff_t>(keyLength));
  }
  p.type = type;
  p.covered = type == dns::rrtype::RRSIG && rdata.size() >= 2 ? dns::get16(rdata.data()) : 0;
  p.ttl = ttl;
  p.rdataOffset = static_cast<uint32_t>(arena_.size());
  p.rdataLength = static_cast<uint16_t>(rdata.size());
  p.order = static_cast<uint32_t>(pending_.size());
  arena_.insert(arena_.end(), rdata.begin(), rdata.end());
  pending_.push_back(p);
}

void Zone::Builder::reserve(size_t records, size_t arenaBytes) {
  pending_.reserve(records);
  arena_.reserve(arenaBytes);
}

void Zone::Builder::absorb(Builder&& later) {
  const auto shift = static_cast<uint32_t>(arena_.size());
  const auto before = static_cast<uint32_t>(pending_.size());
  arena_.insert(arena_.end(), later.arena_.begin(), later.arena_.end());
  std::vector<uint8_t>().swap(later.arena_);
  pending_.reserve(pending_.size() + later.pending_.size());
  for (Pending p : later.pending_) {
    p.keyOffset += shift;
    p.nameOffset += shift;
    p.rdataOffset += shift;
    p.order += before;
    pending_.push_back(p);
  }
  std::vector<Pending>().swap(later.pending_);
}

ZonePtr Zone::Builder::build() {
  auto zone = std::make_shared<Zone>();
  const auto key = [&](const Pending& p) { return keyOf(arena_, p.keyOffset, p.keyLength); };
  const auto rdata = [&](const Pending& p) {
    return std::span<const uint8_t>(arena_.data() + p.rdataOffset, p.rdataLength);
  };
  std::sort(pending_.begin(), pending_.end(), [&](const Pending& a, const Pending& b) {
    if (a.keyOffset != b.keyOffset || a.keyLength != b.keyLength) {
      if (const int c = compareBytes(key(a), key(b)); c != 0) return c < 0;
    }
    if (a.type != b.type) return a.type < b.type;
    if (a.covered != b.covered) return a.covered < b.covered;
    return a.order < b.order;
  });

  zone->nodes_.reserve(pending_.size());
  zone->sets_.reserve(pending_.size());
  zone->records_.reserve(pending_.size());
  bool haveSoa = false;
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Pending& p = pending_[i];
    const bool newNode = zone->nodes_.empty() || compareBytes(key(pending_[i - 1]), key(p)) != 0;
    if (newNode) {
      zone->nodes_.push_back(Node{p.keyOffset, p.keyLength, p.nameOffset, p.nameLength,
                                  static_cast<uint32_t>(zone->sets_.size()), 0});
    }
    Node& node = zone->nodes_.back();
    const bool newSet = newNode || pending_[i - 1].type != p.type || pending_[i - 1].covered != p.covered;
    if (newSet) {
      zone->sets_.push_back(RRset{p.type, p.covered, static_cast<uint32_t>(zone->records_.size()), 0});
      ++node.setCount;
    } else {
      // The same record twice is one record (as NSD and CoreDNS keep it).
      bool duplicate = false;
      for (const Record& r : zone->records(zone->sets_.back())) {
        const std::span<const uint8_t> have(arena_.data() + r.offset, r.length);
        if (std::ranges::equal(have, rdata(p))) duplicate = true;
      }
      if (duplicate) continue;
    }
    RRset& set = zone->sets_.back();
    // One TTL per RRset (RFC 2181 §5.2): the first record's, as NSD serves it.
    const uint32_t ttl = newSet ? p.ttl : zone->records_[set.first].ttl;
    zone->records_.push_back(Record{p.rdataOffset, p.rdataLength, ttl});
    ++set.count;
    if (p.type == dns::rrtype::SOA && !haveSoa &&
        std::ranges::equal(std::span(arena_.data() + p.nameOffset, p.nameLength), origin_)) {
      haveSoa = true;
      zone->serial_ = soaSerial(rdata(p));
    }
  }
  if (!haveSoa) return nullptr;
  // Keep one SOA: a second one in a file is ignored, as ldns and CoreDNS do.
  for (RRset& set : zone->sets_) {
    if (set.type == dns::rrtype::SOA) set.count = 1;
  }
  std::vector<Pending>().swap(pending_);
  zone->arena_ = std::move(arena_);
  zone->origin_ = origin_;
  zone->apex_ = static_cast<size_t>(zone->find(origin_) - zone->nodes_.data());
  return zone;
}

}  // namespace moat::plugins::file
