#include "plugins/secondary/axfr.hpp"

#include <ldns/ldns.h>

#include <algorithm>

#include "dns/ldns.hpp"
#include "dns/record_walker.hpp"
#include "dns/wire.hpp"
#include "plugins/file/zone_file.hpp"

namespace moat::plugins::secondary {

namespace {

// The SOA's serial: the first 4 bytes after MNAME and RNAME (uncompressed, as ldns writes them).
std::optional<uint32_t> soaSerial(std::span<const uint8_t> rdata) {
  size_t off = dns::skipName(rdata, 0);
  if (off != 0) off = dns::skipName(rdata, off);
  if (off == 0 || off + 20 > rdata.size()) return std::nullopt;
  return dns::get32(rdata.data() + off);
}

constexpr uint16_t kTsig = 250;

std::span<const uint8_t> ownerOf(const ldns_rr* rr) {
  const ldns_rdf* owner = ldns_rr_owner(rr);
  return {ldns_rdf_data(owner), ldns_rdf_size(owner)};
}

// Parses `message` and checks what every reply from the primary must be: a response to our
// ID, not truncated, NOERROR. Null (and `error`) otherwise.
dns::LdnsPkt parseReply(std::span<const uint8_t> message, uint16_t id, std::string& error) {
  // Moat signs nothing, so a TSIG in a reply is not ours to check; and ldns 1.8.3's
  // ldns_wire2pkt leaks every TSIG record but the last (ldns_pkt_set_tsig does not free the one
  // it replaces; the axfr fuzz target found it). Refuse them before ldns reads the message.
  dns::RecordWalker walk(message);
  for (dns::Record r; walk.next(r);) {
    if (r.type == kTsig && r.section != dns::Section::Question) {
      error = "a TSIG-signed message (Moat does not use TSIG)";
      return nullptr;
    }
  }
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, message.data(), message.size()) != LDNS_STATUS_OK || raw == nullptr) {
    error = "a message that does not parse";
    return nullptr;
  }
  dns::LdnsPkt pkt(raw);
  if (!ldns_pkt_qr(pkt.get()) || ldns_pkt_get_opcode(pkt.get()) != LDNS_PACKET_QUERY) {
    error = "a message that is not a reply to a query";
  } else if (ldns_pkt_id(pkt.get()) != id) {
    error = "a reply with another message ID";
  } else if (ldns_pkt_tc(pkt.get())) {
    error = "a truncated reply";
  } else if (ldns_pkt_get_rcode(pkt.get()) != LDNS_RCODE_NOERROR) {
    const ldns_lookup_table* rcode = ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(pkt.get()));
    error = std::string("rcode ") + (rcode != nullptr ? rcode->name : std::to_string(ldns_pkt_get_rcode(pkt.get())));
  } else {
    return pkt;
  }
  return nullptr;
}

}  // namespace

AxfrReader::AxfrReader(std::span<const uint8_t> lowerOrigin, uint16_t id)
    : origin_(lowerOrigin.begin(), lowerOrigin.end()), id_(id), builder_(lowerOrigin) {}

AxfrReader::Step AxfrReader::fail(std::string why) {
  error_ = std::move(why);
  return Step::Failed;
}

AxfrReader::Step AxfrReader::add(std::span<const uint8_t> message) {
  if (!error_.empty()) return Step::Failed;
  if (done_) return fail("a message after the closing SOA");
  ++messages_;
  std::string why;
  dns::LdnsPkt pkt = parseReply(message, id_, why);
  if (!pkt) return fail("message " + std::to_string(messages_) + ": " + why);
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  const size_t count = answer == nullptr ? 0 : ldns_rr_list_rr_count(answer);
  if (count == 0) return fail("message " + std::to_string(messages_) + " has no records");

  dns::LdnsBuffer wire(ldns_buffer_new(512));
  if (!wire) return fail("out of memory");
  for (size_t i = 0; i < count; ++i) {
    ldns_rr* rr = ldns_rr_list_rr(answer, i);
    const auto type = static_cast<uint16_t>(ldns_rr_get_type(rr));
    const dns::WireName owner = dns::lowercased(ownerOf(rr));
    const bool atApex = std::ranges::equal(owner, origin_);
    if (done_) return fail("records after the closing SOA");
    if (!serial_ && (type != dns::rrtype::SOA || !atApex)) return fail("the first record is not the zone's SOA");
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) return fail("a record of a class other than IN");
    if (!dns::isSubdomain(owner, origin_)) return fail("a record outside the zone: " + dns::nameToText(owner));
    if (type == LDNS_RR_TYPE_NSEC3 || type == LDNS_RR_TYPE_NSEC3PARAM) {
      return fail("NSEC3 zones are not supported (as in CoreDNS)");
    }
    if (file::rdataNamesLowercased(type)) {
      for (size_t f = 0; f < ldns_rr_rd_count(rr); ++f) {
        ldns_rdf* field = ldns_rr_rdf(rr, f);
        if (ldns_rdf_get_type(field) == LDNS_RDF_TYPE_DNAME) ldns_dname2canonical(field);
      }
    }
    ldns_buffer_clear(wire.get());
    if (ldns_rr_rdata2buffer_wire(wire.get(), rr) != LDNS_STATUS_OK) return fail("a record without wire form");
    const std::span<const uint8_t> rdata(ldns_buffer_begin(wire.get()), ldns_buffer_position(wire.get()));
    if (type == dns::rrtype::SOA && atApex) {
      const auto serial = soaSerial(rdata);
      if (!serial) return fail("an SOA record too short to hold its timers");
      if (serial_) {
        // The closing SOA (RFC 5936 §2.2): it must repeat the opening one; not stored twice.
        if (*serial != *serial_) return fail("the closing SOA has another serial than the opening one");
        done_ = true;
        continue;
      }
      serial_ = serial;
    }
    builder_.add(ownerOf(rr), type, ldns_rr_ttl(rr), rdata);
  }
  return done_ ? Step::Done : Step::More;
}

file::ZonePtr AxfrReader::take() {
  if (!done_ || !error_.empty()) return nullptr;
  return builder_.build();
}

std::optional<uint32_t> soaSerialFromReply(std::span<const uint8_t> message, std::span<const uint8_t> lowerOrigin,
                                           uint16_t id, std::string& error) {
  dns::LdnsPkt pkt = parseReply(message, id, error);
  if (!pkt) return std::nullopt;
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  const size_t count = answer == nullptr ? 0 : ldns_rr_list_rr_count(answer);
  dns::LdnsBuffer wire(ldns_buffer_new(256));
  for (size_t i = 0; wire && i < count; ++i) {
    ldns_rr* rr = ldns_rr_list_rr(answer, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) continue;
    if (!std::ranges::equal(dns::lowercased(ownerOf(rr)), lowerOrigin)) continue;
    ldns_buffer_clear(wire.get());
    if (ldns_rr_rdata2buffer_wire(wire.get(), rr) != LDNS_STATUS_OK) continue;
    if (auto serial = soaSerial({ldns_buffer_begin(wire.get()), ldns_buffer_position(wire.get())})) return serial;
  }
  error = "no SOA for the zone in the answer";
  return std::nullopt;
}

std::vector<uint8_t> buildRequest(std::span<const uint8_t> lowerOrigin, uint16_t type, uint16_t id) {
  // Built by appending only: GCC 12 at -O2 reads an insert after a sized constructor as an
  // out-of-bounds memcpy (-Warray-bounds, a false positive).
  std::vector<uint8_t> out;
  out.reserve(dns::kHeaderSize + lowerOrigin.size() + 4);
  out.resize(dns::kHeaderSize);
  dns::Header{id, 0, 1, 0, 0, 0}.write(out.data());
  out.insert(out.end(), lowerOrigin.begin(), lowerOrigin.end());
  const uint8_t tail[4] = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, dns::rrclass::IN};
  out.insert(out.end(), tail, tail + 4);
  return out;
}

}  // namespace moat::plugins::secondary
