// Helpers for the transfer tests: a zone built in memory, a stand-in for `file` that serves it,
// and a TCP sink that keeps every message a handler sends ahead of its reply.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "plugins/file/provider.hpp"
#include "plugins/handler.hpp"

namespace moat::plugins::transfer::testing {

inline dns::WireName wire(const std::string& text) {
  auto name = dns::nameFromText(text);
  REQUIRE(name.has_value());
  return *name;
}

inline std::vector<uint8_t> soaRdata(uint32_t serial) {
  std::vector<uint8_t> out = wire("ns1.example.org.");
  const auto rname = wire("hostmaster.example.org.");
  out.insert(out.end(), rname.begin(), rname.end());
  for (uint32_t v : {serial, 7200u, 3600u, 1209600u, 300u}) {
    uint8_t b[4];
    dns::put32(b, v);
    out.insert(out.end(), b, b + 4);
  }
  return out;
}

// example.org with an SOA of `serial`, two NS, and `hosts` A records host0..hostN.
inline file::ZonePtr exampleZone(uint32_t serial, int hosts) {
  file::Zone::Builder b(wire("example.org."));
  b.add(wire("example.org."), dns::rrtype::SOA, 3600, soaRdata(serial));
  b.add(wire("example.org."), dns::rrtype::NS, 3600, wire("ns1.example.org."));
  b.add(wire("example.org."), dns::rrtype::NS, 3600, wire("ns2.example.org."));
  for (int i = 0; i < hosts; ++i) {
    const uint8_t a[4] = {192, 0, 2, static_cast<uint8_t>(i)};
    b.add(wire("host" + std::to_string(i) + ".example.org."), dns::rrtype::A, 300, a);
  }
  auto zone = b.build();
  REQUIRE(zone != nullptr);
  return zone;
}

class FakeFile final : public Handler, public file::ZoneProvider {
 public:
  explicit FakeFile(file::ZonePtr zone) : zone_(std::move(zone)) {}
  Verdict onQuery(dns::Query&) override { return Verdict::Next; }
  std::string_view name() const override { return "file"; }
  file::ZonePtr servedZone(std::span<const uint8_t> origin) const override {
    const auto o = zone_->origin();
    return std::equal(o.begin(), o.end(), origin.begin(), origin.end()) ? zone_ : nullptr;
  }
  std::vector<std::string> servedOrigins() const override { return {"example.org."}; }
  void onZoneChanged(std::function<void(const std::string&)> listener) override { listener_ = std::move(listener); }

  file::ZonePtr zone_;
  std::function<void(const std::string&)> listener_;
};

class RecordingSink final : public dns::ReplySink {
 public:
  void sendReply(dns::Query&) override {}
  void dropQuery(dns::Query&) override {}
  bool sendAhead(dns::Query&, std::span<const uint8_t> message) override {
    if (closed) return false;
    ahead.emplace_back(message.begin(), message.end());
    return true;
  }
  std::vector<std::vector<uint8_t>> ahead;
  bool closed = false;
};

}  // namespace moat::plugins::transfer::testing
