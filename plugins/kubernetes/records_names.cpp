// Names the answers carry: SRV/NS targets and endpoint labels, built on the stack.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "plugins/kubernetes/records.hpp"

namespace moat::plugins::kubernetes {

void NameBuilder::label(std::string_view text) {
  if (!ok_ || done_ || text.empty() || text.size() > dns::kMaxLabelLen ||
      len_ + 1 + text.size() >= buf_.size()) {
    ok_ = false;
    return;
  }
  buf_[len_++] = static_cast<uint8_t>(text.size());
  std::memcpy(buf_.data() + len_, text.data(), text.size());
  len_ += text.size();
}

void NameBuilder::text(std::string_view dotted) {
  if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
  while (!dotted.empty()) {
    size_t dot = dotted.find('.');
    label(dotted.substr(0, dot));
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
    if (dotted.empty()) ok_ = false;  // "a..": an empty label
  }
}

void NameBuilder::zone(std::span<const uint8_t> wire) {
  if (!ok_ || done_ || wire.empty() || len_ + wire.size() > buf_.size()) {
    ok_ = false;
    return;
  }
  std::memcpy(buf_.data() + len_, wire.data(), wire.size());
  len_ += wire.size();
  done_ = true;
}

std::string_view endpointLabel(const EndpointAddress& a, bool podNames,
                               std::array<char, 64>& buf) {
  if (!a.hostname.empty()) return a.hostname;
  // Longer pod names would not fit a label; CoreDNS drops them when it reads the slice.
  if (podNames && !a.targetPodName.empty() && a.targetPodName.size() < 64) return a.targetPodName;
  if (::inet_ntop(a.ip.family == 4 ? AF_INET : AF_INET6, a.ip.bytes.data(), buf.data(),
                  static_cast<socklen_t>(buf.size() - 1)) == nullptr)
    return {};
  size_t len = std::strlen(buf.data());
  std::replace(buf.begin(), buf.begin() + len, a.ip.family == 4 ? '.' : ':', '-');
  if (len > 0 && buf[len - 1] == '-') buf[len++] = '0';  // "fd00::" -> "fd00--0"
  return {buf.data(), len};
}

void externalTarget(const Service& svc, NameBuilder& out) {
  static constexpr uint8_t kRoot[1] = {0};
  out.text(svc.externalName);
  out.zone(kRoot);
}

void targetName(const Lookup& lk, const Entry& e, const Request& req, NameBuilder& out) {
  std::array<char, 64> buf;
  switch (e.kind) {
    case EntryKind::Endpoint:
      out.text(endpointLabel(*e.address, lk.opt.endpointPodNames, buf));
      [[fallthrough]];
    case EntryKind::Service:
      out.text(e.service->name);
      out.text(e.service->ns);
      out.label("svc");
      break;
    case EntryKind::Pod:
      out.label(req.service);
      out.label(req.ns);
      out.label("pod");
      break;
    case EntryKind::DefaultNs:
      out.label("ns");
      out.label("dns");
      break;
    case EntryKind::External:
      externalTarget(*e.service, out);
      return;
  }
  out.zone(lk.zoneAsked);
}

bool sameTarget(const Lookup& lk, const Entry& a, const Entry& b) {
  if (a.kind != b.kind || a.service != b.service) return false;
  if (a.kind != EntryKind::Endpoint) return true;
  std::array<char, 64> x, y;
  return endpointLabel(*a.address, lk.opt.endpointPodNames, x) ==
         endpointLabel(*b.address, lk.opt.endpointPodNames, y);
}

uint64_t hashBytes(std::span<const uint8_t> bytes, uint64_t seed) {
  uint64_t h = seed;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

uint64_t targetHash(const Lookup& lk, const Entry& e) {
  const auto ptr = reinterpret_cast<uintptr_t>(e.service);
  uint64_t h = hashBytes({reinterpret_cast<const uint8_t*>(&ptr), sizeof ptr},
                         1469598103934665603ull ^ static_cast<uint64_t>(e.kind));
  if (e.kind == EntryKind::Endpoint) {
    std::array<char, 64> buf;
    std::string_view label = endpointLabel(*e.address, lk.opt.endpointPodNames, buf);
    h = hashBytes({reinterpret_cast<const uint8_t*>(label.data()), label.size()}, h);
  }
  return h ^ (h >> 31);
}

}  // namespace moat::plugins::kubernetes
