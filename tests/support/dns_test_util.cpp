#include "tests/support/dns_test_util.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>

#include "dns/ldns.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"

namespace moat::testing {

std::vector<uint8_t> makeQuery(const QuerySpec& spec) {
  std::vector<uint8_t> out(dns::kHeaderSize, 0);
  dns::Header h{spec.id, static_cast<uint16_t>(spec.rd ? dns::flag::RD : 0), 1, 0, 0, 0};
  h.write(out.data());
  auto name = dns::nameFromText(spec.name);
  REQUIRE_MESSAGE(name.has_value(), "bad test name " << spec.name);
  out.insert(out.end(), name->begin(), name->end());
  uint8_t tail[4];
  dns::put16(tail, spec.type);
  dns::put16(tail + 2, spec.klass);
  out.insert(out.end(), tail, tail + 4);
  if (spec.edns) dns::appendOpt(out, *spec.edns, spec.dnssecOk);  // bumps ARCOUNT
  return out;
}

void loadQuery(dns::Query& q, const std::vector<uint8_t>& packet, dns::Proto proto,
               std::string_view clientIp, uint16_t clientPort) {
  q.reset();
  REQUIRE(packet.size() <= q.request.size());
  std::copy(packet.begin(), packet.end(), q.request.begin());
  q.requestLen = static_cast<uint16_t>(packet.size());
  REQUIRE(dns::parseQuery(q.requestBytes(), q.view) == dns::ParseStatus::Ok);
  q.proto = proto;
  q.start = std::chrono::steady_clock::now();
  std::string ip(clientIp);
  q.client = {};
  if (ip.find(':') != std::string::npos) {
    auto& a = reinterpret_cast<sockaddr_in6&>(q.client.addr);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(clientPort);
    REQUIRE(inet_pton(AF_INET6, ip.c_str(), &a.sin6_addr) == 1);
    q.client.len = sizeof(sockaddr_in6);
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(q.client.addr);
    a.sin_family = AF_INET;
    a.sin_port = htons(clientPort);
    REQUIRE(inet_pton(AF_INET, ip.c_str(), &a.sin_addr) == 1);
    q.client.len = sizeof(sockaddr_in);
  }
}

namespace {

std::vector<std::string> section(ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; list != nullptr && i < ldns_rr_list_rr_count(list); ++i) {
    char* text = ldns_rr2str(ldns_rr_list_rr(list, i));
    std::string s(text ? text : "");
    std::free(text);
    std::replace(s.begin(), s.end(), '\t', ' ');
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    out.push_back(s);
  }
  return out;
}

}  // namespace

Reply decode(const uint8_t* data, size_t len) {
  Reply r;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, data, len) != LDNS_STATUS_OK) return r;
  dns::LdnsPkt pkt(raw);
  r.ok = true;
  r.id = ldns_pkt_id(raw);
  r.rcode = ldns_pkt_get_rcode(raw);
  r.qr = ldns_pkt_qr(raw);
  r.aa = ldns_pkt_aa(raw);
  r.tc = ldns_pkt_tc(raw);
  r.rd = ldns_pkt_rd(raw);
  r.ra = ldns_pkt_ra(raw);
  r.answer = section(ldns_pkt_answer(raw));
  r.authority = section(ldns_pkt_authority(raw));
  r.additional = section(ldns_pkt_additional(raw));
  r.hasOpt = ldns_pkt_edns(raw);
  r.optUdpSize = ldns_pkt_edns_udp_size(raw);
  r.optDo = ldns_pkt_edns_do(raw);
  if (ldns_edns_option_list* options = ldns_pkt_edns_get_option_list(raw)) {
    for (size_t i = 0; i < ldns_edns_option_list_get_count(options); ++i) {
      const ldns_edns_option* option = ldns_edns_option_list_get_option(options, i);
      const uint8_t* data = ldns_edns_get_data(option);
      r.ednsOptions.emplace_back(static_cast<uint16_t>(ldns_edns_get_code(option)),
                                 std::vector<uint8_t>(data, data + ldns_edns_get_size(option)));
    }
  }
  return r;
}

std::optional<uint16_t> extendedError(const Reply& reply, std::string* extraText) {
  constexpr uint16_t kEdeOption = 15;
  for (const auto& [code, data] : reply.ednsOptions) {
    if (code != kEdeOption || data.size() < 2) continue;
    if (extraText != nullptr) extraText->assign(data.begin() + 2, data.end());
    return static_cast<uint16_t>(data[0] << 8 | data[1]);
  }
  return std::nullopt;
}

Reply decode(const std::vector<uint8_t>& wire) { return decode(wire.data(), wire.size()); }

}  // namespace moat::testing
