#include "plugins/any/any.hpp"

#include <array>
#include <string>

#include "conf/args.hpp"
#include "dns/message.hpp"

namespace moat::plugins::any {
namespace {

constexpr std::string_view kPlugin = "any";

// The record CoreDNS sends, so clients and monitoring that look for it keep working: TTL 8482
// (the RFC's number), class IN whatever the query's class, CPU "ANY obsoleted", OS "See RFC 8482".
constexpr uint32_t kTtl = 8482;
constexpr std::string_view kCpu = "ANY obsoleted", kOs = "See RFC 8482";

// HINFO RDATA: two character-strings, each a length byte then its bytes.
constexpr auto kRdata = [] {
  std::array<uint8_t, 2 + kCpu.size() + kOs.size()> out{};
  size_t at = 0;
  for (std::string_view s : {kCpu, kOs}) {
    out[at++] = static_cast<uint8_t>(s.size());
    for (char c : s) out[at++] = static_cast<uint8_t>(c);
  }
  return out;
}();

}  // namespace

Verdict AnyHandler::onQuery(dns::Query& q) {
  const dns::Question& question = q.view.question;
  // Other types pass silently: `explain` would otherwise show `any` on every query's path.
  if (q.view.header.qdcount == 0 || question.qtype != dns::rrtype::ANY) return Verdict::Next;
  // Owned by the qname as the client spelled it; not authoritative, as CoreDNS's reply.
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, /*aa=*/false);
  w.addRR(dns::Section::Answer, std::span<const uint8_t>(q.request.data() + question.nameOffset, question.nameLen),
          dns::rrtype::HINFO, dns::rrclass::IN, kTtl, kRdata);
  if (q.trace != nullptr) {
    q.trace->note(kPlugin, "ANY query (RFC 8482): one HINFO \"" + std::string(kCpu) + "\" \"" +
                               std::string(kOs) + "\", TTL " + std::to_string(kTtl));
  }
  return Verdict::Answered;
}

conf::Result<HandlerPtr> setupAny(const SetupContext& ctx) {
  // Several `any` lines in one block mean the same as one, as in CoreDNS; each is checked.
  for (const conf::Directive* stanza : ctx.stanzas) {
    if (auto n = conf::expectArgs(*stanza, kPlugin, 0, 0); !n) return n.error();
    if (!stanza->block.empty()) {
      const conf::Directive& option = stanza->block.front();
      return conf::errorAt(option.name, kPlugin,
                           "unknown property '" + option.name.text + "': 'any' takes no options");
    }
  }
  return HandlerPtr(std::make_shared<AnyHandler>());
}

}  // namespace moat::plugins::any
