#include "plugins/whoami/whoami.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "conf/args.hpp"
#include "dns/message.hpp"

namespace moat::plugins::whoami {
namespace {

constexpr std::string_view kPlugin = "whoami";

}  // namespace

Verdict WhoamiHandler::onQuery(dns::Query& q) {
  const dns::Question& question = q.view.question;
  if (q.view.header.qdcount == 0) return Verdict::Next;  // nothing to own the records
  std::span<const uint8_t> qname(q.request.data() + question.nameOffset, question.nameLen);

  // "_udp" / "_tcp" prepended to the qname as one more label.
  constexpr std::string_view kUdp = "\4_udp", kTcp = "\4_tcp";
  std::string_view label = q.proto == dns::Proto::Tcp ? kTcp : kUdp;
  std::array<uint8_t, dns::kMaxNameLen + 5> srvOwner;
  if (label.size() + qname.size() > dns::kMaxNameLen) {
    // The SRV owner would be too long to encode; CoreDNS fails to pack the reply and sends
    // nothing, so Moat stays silent too.
    return Verdict::Drop;
  }
  std::copy(label.begin(), label.end(), srvOwner.begin());
  std::copy(qname.begin(), qname.end(), srvOwner.begin() + label.size());

  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, /*aa=*/true);

  // The client's address as RR data: 4 bytes for IPv4 (also when it reached a dual-stack
  // socket as an IPv4-mapped IPv6 address, as Go reports it), 16 for IPv6, 0 if unknown.
  std::array<uint8_t, 16> addr;
  const int family = q.client.address(addr);
  const size_t addrLen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
  if (addrLen != 0) {
    w.addRR(dns::Section::Additional, qname, addrLen == 4 ? dns::rrtype::A : dns::rrtype::AAAA,
            question.qclass, 0, std::span<const uint8_t>(addr.data(), addrLen));
  }

  // SRV: priority 0, weight 0, the client's port, target "." (the root).
  std::array<uint8_t, 7> srv{};
  dns::put16(srv.data() + 4, q.client.port());
  w.addRR(dns::Section::Additional, std::span<const uint8_t>(srvOwner.data(), label.size() + qname.size()),
          dns::rrtype::SRV, question.qclass, 0, srv);
  return Verdict::Answered;
}

conf::Result<HandlerPtr> setupWhoami(const SetupContext& ctx) {
  for (const conf::Directive* stanza : ctx.stanzas) {
    if (auto n = conf::expectArgs(*stanza, kPlugin, 0, 0); !n) return n.error();
    if (stanza->hasBlock) return conf::errorAt(stanza->name, kPlugin, "'whoami' takes no block");
  }
  return HandlerPtr(std::make_shared<WhoamiHandler>());
}

}  // namespace moat::plugins::whoami
