#include "plugins/minimal/minimal.hpp"

#include <cstring>
#include <string>

#include "conf/args.hpp"
#include "dns/record_walker.hpp"

namespace moat::plugins::minimal {

namespace {
constexpr std::string_view kPlugin = "minimal";
constexpr uint8_t kUpdate = 5;
constexpr uint16_t kDoBit = 0x8000;  // in the OPT's TTL, below the version
constexpr int64_t kYear68 = int64_t{1} << 31;

// RFC 4034 section 3.1.5: the signature times are serial numbers, compared to `now` in the
// 68-year window around it, as miekg/dns's ValidityPeriod does.
bool signatureValid(std::span<const uint8_t> rdata, std::time_t now) {
  if (rdata.size() < 16) return true;  // not a signature Moat can judge: not "expired" either
  const int64_t expiration = dns::get32(&rdata[8]);
  const int64_t inception = dns::get32(&rdata[12]);
  const int64_t t = now;
  const int64_t from = inception + ((inception - t) / kYear68) * kYear68;
  const int64_t until = expiration + ((expiration - t) / kYear68) * kYear68;
  return from <= t && t <= until;
}

const char* describe(Kind kind) {
  switch (kind) {
    case Kind::Success: return "a successful reply";
    case Kind::Denial: return "a negative reply (NXDOMAIN or NODATA): left whole";
    case Kind::Error: return "an error reply: left whole";
    case Kind::Delegation: return "a delegation: left whole";
    case Kind::Meta: return "a transfer, NOTIFY or UPDATE: left whole";
    case Kind::Malformed: return "a reply whose records do not walk: left whole";
  }
  return "";
}
}  // namespace

Kind minimize(std::vector<uint8_t>& reply, std::time_t now, unsigned& removed) {
  removed = 0;
  dns::RecordWalker walk(reply);
  const dns::Header h = walk.header();
  if (h.opcode() == dns::opcode::Notify || h.opcode() == kUpdate) return Kind::Meta;

  size_t answerEnd = 0;  // where the answer section ends: past the questions at least
  dns::Record q;
  bool transfer = false;
  for (bool first = true; walk.nextQuestion(q); first = false) {
    if (first) transfer = q.type == dns::rrtype::AXFR || q.type == dns::rrtype::IXFR;
    answerEnd = q.end();
  }
  if (transfer) return Kind::Meta;
  if (answerEnd == 0) answerEnd = dns::kHeaderSize;

  bool soa = false, ns = false, expired = false;
  dns::Record opt;
  bool hasOpt = false;
  for (dns::Record r; walk.next(r);) {
    if (r.section == dns::Section::Answer) answerEnd = r.end();
    if (r.section == dns::Section::Authority) {
      soa = soa || r.type == dns::rrtype::SOA;
      ns = ns || r.type == dns::rrtype::NS;
    }
    if (r.section == dns::Section::Additional && r.type == dns::rrtype::OPT && !hasOpt) {
      opt = r;
      hasOpt = true;
    }
    if (r.type == dns::rrtype::RRSIG) {
      expired = expired || !signatureValid(std::span(reply).subspan(r.rdata(), r.rdlength), now);
    }
  }
  if (!walk.done()) return Kind::Malformed;

  // As CoreDNS: with DO set, a reply holding an expired signature is an error, passed whole.
  if (hasOpt && (opt.ttl & kDoBit) != 0 && expired) return Kind::Error;
  const auto rcode = h.rcode();
  const bool noError = rcode == dns::RCode::NoError;
  if (h.ancount > 0 && noError) {
    // A success, whatever the authority holds.
  } else if (h.ancount > 0 && rcode == dns::RCode::NXDomain) {
    return Kind::Error;
  } else if (soa && noError) {
    return Kind::Denial;
  } else if (rcode == dns::RCode::NXDomain) {
    return Kind::Denial;
  } else if (!noError) {
    return Kind::Error;  // SERVFAIL and NOTIMP are server errors, the rest "other" errors
  } else if (ns) {
    return Kind::Delegation;
  }

  const uint16_t keptAdditional = hasOpt ? 1 : 0;
  if (h.nscount == 0 && h.arcount == keptAdditional) return Kind::Success;
  removed = h.nscount + h.arcount - keptAdditional;
  size_t end = answerEnd;
  if (hasOpt) {
    // The OPT's owner is the root; written as one zero byte so no pointer into the removed
    // sections survives. The rest of the record moves down behind the answers.
    const size_t rest = opt.end() - opt.ownerEnd;
    reply[end++] = 0;
    std::memmove(&reply[end], &reply[opt.ownerEnd], rest);
    end += rest;
  }
  reply.resize(end);
  dns::Header out = h;
  out.nscount = 0;
  out.arcount = keptAdditional;
  out.write(reply.data());
  return Kind::Success;
}

void MinimalHandler::onReply(dns::Query& q) {
  unsigned removed = 0;
  const Kind kind = minimize(q.reply, std::time(nullptr), removed);
  if (q.trace == nullptr) return;
  std::string text = describe(kind);
  if (kind == Kind::Success) {
    text += removed == 0 ? ": nothing outside the answer to remove"
                         : ": " + std::to_string(removed) + " authority/additional record" +
                               (removed == 1 ? "" : "s") + " removed, the answer kept";
  }
  q.trace->note(kPlugin, text);
}

conf::Result<HandlerPtr> setupMinimal(const SetupContext& ctx) {
  for (const conf::Directive* stanza : ctx.stanzas) {
    auto ok = conf::expectArgs(*stanza, kPlugin, 0, 0);
    if (!ok) return ok.error();
    if (stanza->hasBlock) return conf::errorAt(stanza->name, kPlugin, "'minimal' takes no block");
  }
  return HandlerPtr(std::make_shared<MinimalHandler>());
}

}  // namespace moat::plugins::minimal
