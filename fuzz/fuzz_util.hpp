// Shared by the fuzz targets: an invariant check that aborts (libFuzzer records the input),
// queries loaded as the server loads them, and a reader that splits one input into parts.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "dns/query.hpp"
#include "dns/wire.hpp"

// Unlike assert(), stays on in every build type: a broken invariant is a finding.
#define FUZZ_CHECK(cond)                                                                      \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace moat::fuzz {

// Takes bytes off the front of the input for choices; what is left is the payload.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  // The rest up to the first `sep` (consumed), or everything.
  std::string_view until(char sep) {
    std::string_view all = rest();
    size_t at = all.find(sep);
    if (at == std::string_view::npos) at = all.size();
    data_ += std::min(at + 1, size_);
    size_ -= std::min(at + 1, size_);
    return all.substr(0, at);
  }
  std::string_view rest() const { return {reinterpret_cast<const char*>(data_), size_}; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  const uint8_t* data_;
  size_t size_;
};

// A query packet: `name` is a wire name, RD set, an OPT when `edns` is given.
inline std::vector<uint8_t> makeQuery(std::span<const uint8_t> name, uint16_t type, uint16_t klass,
                                      uint16_t id, std::optional<uint16_t> edns = std::nullopt,
                                      bool dnssecOk = false) {
  std::vector<uint8_t> p(dns::kHeaderSize);
  dns::Header{id, dns::flag::RD, 1, 0, 0, static_cast<uint16_t>(edns ? 1 : 0)}.write(p.data());
  p.insert(p.end(), name.begin(), name.end());
  const uint8_t tail[4] = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type),
                           static_cast<uint8_t>(klass >> 8), static_cast<uint8_t>(klass)};
  p.insert(p.end(), tail, tail + 4);
  if (edns) {
    const uint8_t opt[11] = {0, 0, 41,
                             static_cast<uint8_t>(*edns >> 8), static_cast<uint8_t>(*edns),
                             0, 0, static_cast<uint8_t>(dnssecOk ? 0x80 : 0), 0, 0, 0};
    p.insert(p.end(), opt, opt + sizeof opt);
  }
  return p;
}

// Copies `packet` into `q` as a listener does and parses it; false when it is not a query the
// server would hand to the chain. The client is 192.0.2.7:40000, or [2001:db8::7]:40000.
inline bool loadQuery(dns::Query& q, std::span<const uint8_t> packet,
                      dns::Proto proto = dns::Proto::Udp, bool v6 = false) {
  q.reset();
  if (packet.size() > q.request.size()) return false;
  std::copy(packet.begin(), packet.end(), q.request.begin());
  q.requestLen = static_cast<uint16_t>(packet.size());
  if (dns::parseQuery(q.requestBytes(), q.view) != dns::ParseStatus::Ok) return false;
  q.proto = proto;
  q.start = std::chrono::steady_clock::now();
  q.client = {};
  if (v6) {
    auto& a = reinterpret_cast<sockaddr_in6&>(q.client.addr);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(40000);
    inet_pton(AF_INET6, "2001:db8::7", &a.sin6_addr);
    q.client.len = sizeof(sockaddr_in6);
  } else {
    auto& a = reinterpret_cast<sockaddr_in&>(q.client.addr);
    a.sin_family = AF_INET;
    a.sin_port = htons(40000);
    inet_pton(AF_INET, "192.0.2.7", &a.sin_addr);
    q.client.len = sizeof(sockaddr_in);
  }
  return true;
}

}  // namespace moat::fuzz
