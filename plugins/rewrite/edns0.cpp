#include "plugins/rewrite/edns0.hpp"

#include <array>
#include <span>
#include <string>

#include "dns/edns_option.hpp"

namespace moat::plugins::rewrite {
namespace {

constexpr std::string_view kPlugin = "rewrite";

// Room for the largest variable: {qname} in presentation form.
using DataBuffer = std::array<uint8_t, TextName::kCapacity>;

// An address as CoreDNS's ipToWire writes it: 4 bytes for IPv4, 16 for IPv6.
size_t addressBytes(const dns::Endpoint& e, DataBuffer& out) {
  std::array<uint8_t, 16> a{};
  const int family = e.address(a);
  const size_t n = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  std::copy_n(a.begin(), n, out.begin());
  return n;
}

size_t portBytes(const dns::Endpoint& e, DataBuffer& out) {
  dns::put16(out.data(), e.port());
  return 2;
}

// The data of a `local` rule: as written, or the variable read from the query.
std::span<const uint8_t> localData(const EdnsRule& e, const dns::Query& q, std::string_view qname, uint16_t qtype,
                                   DataBuffer& buf) {
  size_t n = 0;
  switch (e.var) {
    case EdnsVar::None: return e.data;
    case EdnsVar::Qname:
      n = std::min(qname.size(), buf.size());
      std::copy_n(qname.begin(), n, buf.begin());
      break;
    case EdnsVar::Qtype:
      dns::put16(buf.data(), qtype);
      n = 2;
      break;
    case EdnsVar::ClientIp: n = addressBytes(q.client, buf); break;
    case EdnsVar::ClientPort: n = portBytes(q.client, buf); break;
    case EdnsVar::ServerIp: n = addressBytes(q.local, buf); break;
    case EdnsVar::ServerPort: n = portBytes(q.local, buf); break;
    case EdnsVar::Protocol: {
      const std::string_view p = q.proto == dns::Proto::Udp ? "udp" : "tcp";
      std::copy(p.begin(), p.end(), buf.begin());
      n = p.size();
      break;
    }
  }
  return {buf.data(), n};
}

// RFC 7871's option data for the client's address cut to its prefix: FAMILY, SOURCE PREFIX,
// SCOPE PREFIX 0, then only the bytes the prefix covers (as miekg/dns packs it), the bits past
// the prefix zero. Empty when the client has no IP address.
std::span<const uint8_t> subnetData(const EdnsRule& e, const dns::Query& q, DataBuffer& buf) {
  std::array<uint8_t, 16> a{};
  const int family = q.client.address(a);
  if (family != AF_INET && family != AF_INET6) return {};
  const unsigned bits = family == AF_INET ? e.v4Bits : e.v6Bits;
  const size_t bytes = (bits + 7) / 8;
  dns::put16(buf.data(), family == AF_INET ? 1 : 2);
  buf[2] = static_cast<uint8_t>(bits);
  buf[3] = 0;
  for (size_t i = 0; i < bytes; ++i) {
    const unsigned keep = bits >= (i + 1) * 8 ? 8 : bits - i * 8;
    buf[4 + i] = static_cast<uint8_t>(a[i] & (0xFF00u >> keep));
  }
  return {buf.data(), 4 + bytes};
}

std::string_view kindName(EdnsKind k) {
  switch (k) {
    case EdnsKind::Local: return "local";
    case EdnsKind::Nsid: return "NSID";
    case EdnsKind::Subnet: return "client subnet";
  }
  return "";
}

void note(const dns::Query& q, const Rule& rule, std::string_view what) {
  if (q.trace != nullptr) {
    q.trace->note(kPlugin, rule.text + ": " + std::string(what) + " (" + std::string(kindName(rule.edns.kind)) +
                               " option " + std::to_string(rule.edns.code) + ")");
  }
}

}  // namespace

bool applyEdns0(const Rule& rule, dns::Query& q, std::string_view qname, uint16_t qtype) {
  const EdnsRule& e = rule.edns;
  DataBuffer buf;
  std::span<const uint8_t> data;
  if (e.kind == EdnsKind::Local && e.action != EdnsAction::Unset) data = localData(e, q, qname, qtype, buf);
  if (e.kind == EdnsKind::Subnet && e.action != EdnsAction::Unset) {
    data = subnetData(e, q, buf);
    if (data.empty()) {
      note(q, rule, "the client has no IP address: not applied");
      return false;
    }
  }
  if (!q.view.edns.present) {
    if (!dns::addQueryOpt(q, kAddedOptSize)) {
      note(q, rule, "no room for an OPT record: not applied");
      return false;
    }
    q.rewriteAddedOpt = true;
    if (q.trace != nullptr) q.trace->note(kPlugin, "the query had no EDNS: an OPT record added (taken off the reply)");
  }
  if (e.action == EdnsAction::Unset) {
    const size_t n = dns::removeQueryOptions(q, e.code);
    note(q, rule, n == 0 ? "nothing to remove" : "removed");
    return true;
  }
  const size_t at = dns::findQueryOption(q, e.code);
  if (at != 0) {
    if (e.action == EdnsAction::Set || e.action == EdnsAction::Replace) {
      const bool ok = dns::setQueryOptionData(q, at, data);
      note(q, rule, ok ? "replaced" : "no room for the data: not applied");
      return ok;
    }
    // append to an option that is there: CoreDNS adds a second one, except for a subnet and a
    // {variable}, which it leaves.
    if (e.kind == EdnsKind::Subnet || e.var != EdnsVar::None) {
      note(q, rule, "already in the query: left as it is");
      return false;
    }
  }
  if (e.action == EdnsAction::Replace) {
    note(q, rule, "not in the query: nothing to replace");
    return false;
  }
  const bool ok = dns::appendQueryOption(q, e.code, data);
  note(q, rule, ok ? "added" : "no room for the option: not applied");
  return ok;
}

void revertEdns0(const Rule& rule, std::vector<uint8_t>& reply) {
  if (rule.edns.revert) dns::removeReplyOptions(reply, rule.edns.code);
}

}  // namespace moat::plugins::rewrite
