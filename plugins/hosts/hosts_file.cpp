#include "plugins/hosts/hosts_file.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace moat::plugins::hosts {

namespace {

// The ten zero bytes and two 0xff bytes that open an IPv4-mapped IPv6 address.
constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

Address fromV6(const uint8_t* bytes16) {
  Address out;
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes16)) {
    std::memcpy(out.bytes.data(), bytes16 + 12, 4);
    out.len = 4;
  } else {
    std::memcpy(out.bytes.data(), bytes16, 16);
    out.len = 16;
  }
  return out;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

int hexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr std::string_view kInAddr = "in-addr";
constexpr std::string_view kIp6 = "ip6";
constexpr std::string_view kArpa = "arpa";

bool labelIs(std::span<const uint8_t> name, size_t off, std::string_view text) {
  return name[off] == text.size() &&
         std::memcmp(name.data() + off + 1, text.data(), text.size()) == 0;
}

// One decimal octet label as Go's ParseIP accepts it: 1-3 digits, no leading zero, <= 255.
int octet(std::span<const uint8_t> name, size_t off) {
  size_t len = name[off];
  if (len == 0 || len > 3 || (len > 1 && name[off + 1] == '0')) return -1;
  int value = 0;
  for (size_t i = 1; i <= len; ++i) {
    uint8_t c = name[off + i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value <= 255 ? value : -1;
}

}  // namespace

std::optional<Address> parseAddress(std::string_view text) {
  if (auto pct = text.find('%'); pct != std::string_view::npos) text = text.substr(0, pct);
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Address out;
  if (inet_pton(AF_INET, buf, out.bytes.data()) == 1) {
    out.len = 4;
    return out;
  }
  uint8_t v6[16];
  if (inet_pton(AF_INET6, buf, v6) == 1) return fromV6(v6);
  return std::nullopt;
}

std::optional<Address> addressFromReverse(std::span<const uint8_t> name) {
  // Label offsets, first to last; a reverse name worth answering has at most 34 of them.
  std::array<size_t, 35> labels{};
  size_t count = 0;
  for (size_t off = 0; off < name.size() && name[off] != 0; off += name[off] + 1u) {
    if (count == labels.size() || off + name[off] + 1u > name.size()) return std::nullopt;
    labels[count++] = off;
  }
  if (count < 2 || !labelIs(name, labels[count - 1], kArpa)) return std::nullopt;
  const size_t suffix = labels[count - 2];
  Address out;
  if (labelIs(name, suffix, kInAddr) && count == 4 + 2) {
    // The first label is the last octet.
    for (size_t i = 0; i < 4; ++i) {
      int v = octet(name, labels[i]);
      if (v < 0) return std::nullopt;
      out.bytes[3 - i] = static_cast<uint8_t>(v);
    }
    out.len = 4;
    return out;
  }
  if (labelIs(name, suffix, kIp6) && count == 32 + 2) {
    // The first label is the least significant nibble.
    uint8_t v6[16] = {};
    for (size_t i = 0; i < 32; ++i) {
      int v = name[labels[i]] == 1 ? hexValue(name[labels[i] + 1]) : -1;
      if (v < 0) return std::nullopt;
      uint8_t& byte = v6[15 - i / 2];
      byte = static_cast<uint8_t>(byte | (i % 2 == 0 ? v : v << 4));
    }
    return fromV6(v6);
  }
  return std::nullopt;
}

std::vector<HostsEntry> parseHostsText(std::string_view text, const dns::ZoneSet& zones) {
  std::vector<HostsEntry> out;
  std::vector<std::string_view> fields;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);

    fields.clear();
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && isSpace(line[i])) ++i;
      size_t start = i;
      while (i < line.size() && !isSpace(line[i])) ++i;
      if (i > start) fields.push_back(line.substr(start, i - start));
    }
    if (fields.size() < 2) continue;
    auto address = parseAddress(fields[0]);
    if (!address) continue;

    for (size_t f = 1; f < fields.size(); ++f) {
      auto wire = dns::nameFromText(dns::fqdnLower(fields[f]));
      // A name that is not a domain name could never be asked for; CoreDNS keeps it unused.
      if (!wire) continue;
      dns::lowercaseInPlace(*wire);  // \DDD escapes can still spell capitals
      if (!zones.contains(*wire)) continue;
      bool wildcard = wire->size() > 2 && (*wire)[0] == 1 && (*wire)[1] == '*';
      out.push_back(HostsEntry{*address, std::move(*wire), wildcard});
    }
  }
  return out;
}

}  // namespace moat::plugins::hosts
