#include "plugins/kubernetes/names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "dns/wire.hpp"

namespace moat::plugins::kubernetes {

namespace {

constexpr uint8_t kInAddrArpa[] = {7, 'i', 'n', '-', 'a', 'd', 'd', 'r', 4, 'a', 'r', 'p', 'a', 0};
constexpr uint8_t kIp6Arpa[] = {3, 'i', 'p', '6', 4, 'a', 'r', 'p', 'a', 0};

bool endsWith(std::span<const uint8_t> name, std::span<const uint8_t> suffix) {
  // Suffix of whole labels: walk the labels so a match never starts mid-label.
  size_t off = 0;
  while (off < name.size()) {
    if (name.size() - off == suffix.size())
      return std::memcmp(name.data() + off, suffix.data(), suffix.size()) == 0;
    if (name[off] == 0) break;
    off += name[off] + 1u;
  }
  return false;
}

std::string_view stripUnderscore(std::string_view s) {
  return !s.empty() && s.front() == '_' ? s.substr(1) : s;
}

bool isV4Mapped(const Ip& ip) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return ip.family == 6 && std::memcmp(ip.bytes.data(), kPrefix, sizeof kPrefix) == 0;
}

Ip unmapped(Ip ip) {
  if (!isV4Mapped(ip)) return ip;
  Ip v4;
  v4.family = 4;
  std::memcpy(v4.bytes.data(), ip.bytes.data() + 12, 4);
  return v4;
}

}  // namespace

Labels::Labels(std::span<const uint8_t> name, size_t zoneLen) : name_(name) {
  const size_t end = name.size() >= zoneLen ? name.size() - zoneLen : 0;
  size_t off = 0;
  while (off < end && count_ < offsets_.size() && name[off] != 0) {
    offsets_[count_++] = static_cast<uint8_t>(off);
    off += name[off] + 1u;
  }
}

std::string_view Labels::operator[](size_t i) const {
  const uint8_t* p = name_.data() + offsets_[i];
  return {reinterpret_cast<const char*>(p + 1), p[0]};
}

bool parseRequest(std::span<const uint8_t> lowerName, size_t zoneLen, bool multicluster,
                  bool zonal, Request& out) {
  out = Request{};
  const Labels segs(lowerName, zoneLen);
  // The apex, svc.zone and pod.zone exist but hold nothing (NODATA).
  if (segs.empty()) return true;
  if (segs.size() == 1 && (segs[0] == "svc" || segs[0] == "pod")) return true;

  size_t left = segs.size();  // labels not yet consumed, right to left
  std::string_view area = segs[--left];
  if (area != "svc" && area != "pod") return false;
  out.area = area == "svc" ? Area::Svc : Area::Pod;
  if (left == 0) return true;
  out.ns = segs[--left];
  if (left == 0) return true;
  out.service = segs[--left];
  if (left == 0) return true;

  if (left == 1) {
    out.endpoint = segs[0];
    return true;
  }
  if (left == 2) {
    // Port and protocol, unless a multicluster zone reads two plain labels as endpoint.cluster.
    if (!multicluster || segs[1].starts_with('_') || segs[0].starts_with('_')) {
      out.protocol = stripUnderscore(segs[1]);
      out.port = stripUnderscore(segs[0]);
    } else {
      out.cluster = segs[1];
      out.endpoint = segs[0];
    }
    return true;
  }
  // Longer: only a zone-scoped name, topozone(.more).pin|prefer._zone.service.ns.svc.
  const size_t anchor = left - 1;
  if (!zonal || multicluster || segs[anchor] != "_zone" || out.area != Area::Svc) return false;
  std::string_view directive = segs[anchor - 1];
  if (directive == "prefer") {
    out.zonePrefer = true;
  } else if (directive != "pin") {
    return false;
  }
  out.zoned = true;
  return true;
}

bool isDnsVersion(std::span<const uint8_t> lowerName, size_t zoneLen) {
  const Labels segs(lowerName, zoneLen);
  return segs.size() == 1 && segs[0] == "dns-version";
}

bool isDefaultNs(std::span<const uint8_t> lowerName, size_t zoneLen) {
  const Labels segs(lowerName, zoneLen);
  return segs.size() == 2 && segs[0] == "ns" && segs[1] == "dns";
}

int reverseKind(std::span<const uint8_t> lowerName) {
  // Only names below the arpa zones: "in-addr.arpa." itself is not reverse (CoreDNS matches
  // the suffix with its leading dot).
  if (lowerName.size() > sizeof kInAddrArpa && endsWith(lowerName, kInAddrArpa)) return 1;
  if (lowerName.size() > sizeof kIp6Arpa && endsWith(lowerName, kIp6Arpa)) return 2;
  return 0;
}

std::optional<Ip> addressFromReverse(std::span<const uint8_t> lowerName) {
  const int kind = reverseKind(lowerName);
  if (kind == 0) return std::nullopt;
  const Labels labels(lowerName, kind == 1 ? sizeof kInAddrArpa : sizeof kIp6Arpa);
  char text[dns::kMaxNameLen + 1];
  size_t len = 0;
  auto put = [&](std::string_view s) {
    std::memcpy(text + len, s.data(), s.size());
    len += s.size();
  };
  if (kind == 1) {
    for (size_t i = labels.size(); i-- > 0;) {
      put(labels[i]);
      if (i > 0) put(".");
    }
    auto ip = parseIp(std::string_view(text, len));
    if (!ip || ip->family != 4) return std::nullopt;
    return ip;
  }
  // Nibbles, last label first, four to a group; like CoreDNS, labels beyond the last whole
  // group (the leftmost ones) are dropped and parsing decides the rest.
  const size_t groups = labels.size() / 4;
  for (size_t g = 0; g < groups; ++g) {
    if (g > 0) put(":");
    for (size_t k = 0; k < 4; ++k) put(labels[labels.size() - 1 - (g * 4 + k)]);
  }
  auto ip = parseIp(std::string_view(text, len));
  if (!ip || ip->family != 6) return std::nullopt;
  return unmapped(*ip);
}

std::optional<Ip> podAddress(std::string_view label) {
  if (label.empty() || label.size() > 63) return std::nullopt;
  char text[64];
  const bool v4 = std::count(label.begin(), label.end(), '-') == 3 &&
                  label.find("--") == std::string_view::npos;
  for (size_t i = 0; i < label.size(); ++i) text[i] = label[i] == '-' ? (v4 ? '.' : ':') : label[i];
  auto ip = parseIp(std::string_view(text, label.size()));
  if (!ip) return std::nullopt;
  return unmapped(*ip);
}

std::optional<Ip> parseIp(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Ip ip;
  const bool v6 = text.find(':') != std::string_view::npos;
  ip.family = v6 ? 6 : 4;
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, buf, ip.bytes.data()) != 1) return std::nullopt;
  return ip;
}

bool equalFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace moat::plugins::kubernetes
