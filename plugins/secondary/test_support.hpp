// Helpers for the secondary tests: AXFR reply messages built with ldns from record text.
#pragma once

#include <ldns/ldns.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dns/ldns.hpp"

namespace moat::plugins::secondary::testing {

struct MessageSpec {
  uint16_t id = 0x4242;
  std::vector<std::string> records;  // "example.org. 300 IN A 192.0.2.1"
  ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;
  bool truncated = false;
  bool response = true;
};

inline std::vector<uint8_t> message(const MessageSpec& spec) {
  dns::LdnsPkt pkt(ldns_pkt_new());
  REQUIRE(pkt);
  ldns_pkt_set_id(pkt.get(), spec.id);
  ldns_pkt_set_qr(pkt.get(), spec.response);
  ldns_pkt_set_aa(pkt.get(), true);
  ldns_pkt_set_tc(pkt.get(), spec.truncated);
  ldns_pkt_set_rcode(pkt.get(), static_cast<uint8_t>(spec.rcode));
  for (const std::string& text : spec.records) {
    ldns_rr* rr = nullptr;
    REQUIRE_MESSAGE(ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK, text);
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_ANSWER, rr);
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&wire, pkt.get(), &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + size);
  std::free(wire);
  return out;
}

inline std::string soa(uint32_t serial, const std::string& timers = "3600 600 86400 300") {
  return "example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. " + std::to_string(serial) + " " + timers;
}

}  // namespace moat::plugins::secondary::testing
