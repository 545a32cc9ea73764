#include "plugins/transfer/messages.hpp"

#include "dns/message.hpp"

namespace moat::plugins::transfer {

TransferWriter::TransferWriter(std::vector<uint8_t>& out, std::span<const uint8_t> query,
                               const dns::QueryView& view, size_t messageLimit, Ship ship)
    : out_(out), query_(query), view_(view), limit_(messageLimit), ship_(std::move(ship)) {
  dns::MessageWriter(out_).startReply(query_, view_, dns::RCode::NoError, /*aa=*/true);
}

bool TransferWriter::add(std::span<const uint8_t> owner, uint16_t type, uint32_t ttl,
                         std::span<const uint8_t> rdata) {
  const size_t size = owner.size() + 10 + rdata.size();
  if (inMessage_ > 0 && out_.size() + size > limit_) {
    if (!ship_(out_)) return false;
    ++shipped_;
    inMessage_ = 0;
    dns::MessageWriter(out_).startReply(query_, view_, dns::RCode::NoError, /*aa=*/true);
  }
  dns::MessageWriter(out_).addRR(dns::Section::Answer, owner, type, dns::rrclass::IN, ttl, rdata);
  ++inMessage_;
  ++records_;
  return true;
}

namespace {

// The apex SOA record, or null.
const file::Record* apexSoa(const file::Zone& zone) {
  const file::RRset* soa = zone.rrset(zone.apex(), dns::rrtype::SOA);
  if (soa == nullptr || soa->count == 0) return nullptr;
  return &zone.records(*soa)[0];
}

}  // namespace

bool writeSoa(TransferWriter& w, const file::Zone& zone) {
  const file::Record* soa = apexSoa(zone);
  if (soa == nullptr) return false;
  return w.add(zone.origin(), dns::rrtype::SOA, soa->ttl, zone.rdata(*soa));
}

bool writeZone(TransferWriter& w, const file::Zone& zone) {
  if (!writeSoa(w, zone)) return false;
  const file::Node* apex = &zone.apex();
  for (const file::Node& node : zone.nodes()) {
    const std::span<const uint8_t> owner = zone.name(node);
    for (const file::RRset& set : zone.sets(node)) {
      if (&node == apex && set.type == dns::rrtype::SOA) continue;  // first and last only
      for (const file::Record& record : zone.records(set)) {
        if (!w.add(owner, set.type, record.ttl, zone.rdata(record))) return false;
      }
    }
  }
  return writeSoa(w, zone);
}

}  // namespace moat::plugins::transfer
