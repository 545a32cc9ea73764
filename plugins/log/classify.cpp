#include "plugins/log/classify.hpp"

#include "dns/record_walker.hpp"

namespace moat::plugins::log {
namespace {

constexpr uint16_t kTypeRrsig = 46;
constexpr uint8_t kOpcodeNotify = 4, kOpcodeUpdate = 5;

// RRSIG validity with serial arithmetic on the 32-bit times, as miekg/dns does it: each end is
// moved into the 68-year window around `now` before comparing.
bool signatureValid(uint32_t inception, uint32_t expiration, int64_t now) {
  constexpr int64_t kYear68 = int64_t{1} << 31;
  int64_t ti = int64_t{inception} + (int64_t{inception} - now) / kYear68 * kYear68;
  int64_t te = int64_t{expiration} + (int64_t{expiration} - now) / kYear68 * kYear68;
  return ti <= now && now <= te;
}

}  // namespace

ReplyInfo inspectReply(std::span<const uint8_t> reply, int64_t unixNow) {
  ReplyInfo info;
  if (reply.size() < dns::kHeaderSize) return info;
  dns::RecordWalker walk(reply);
  const dns::Header& h = walk.header();
  info.header = true;
  info.flags = h.flags;
  info.opcode = h.opcode();
  info.rcode = static_cast<unsigned>(h.rcode());

  if (dns::Record q; walk.nextQuestion(q)) {
    info.hasQuestion = true;
    info.qtype = q.type;
  }
  for (dns::Record r; walk.next(r);) {
    if (r.section == dns::Section::Authority) {
      if (r.type == dns::rrtype::SOA) info.soaInAuthority = true;
      if (r.type == dns::rrtype::NS) ++info.nsInAuthority;
    }
    if (r.section == dns::Section::Additional && r.type == dns::rrtype::OPT && !info.hasOpt) {
      info.hasOpt = true;
      info.optDo = (r.ttl & 0x8000) != 0;
      info.rcode |= (r.ttl >> 24) << 4;
    }
    const uint8_t* rdata = reply.data() + r.rdata();
    if (r.type == kTypeRrsig && r.rdlength >= 16 &&
        !signatureValid(dns::get32(rdata + 12), dns::get32(rdata + 8), unixNow)) {
      info.expiredSignature = true;
    }
  }
  if (!walk.done()) return info;
  info.answers = h.ancount;
  info.complete = true;
  return info;
}

ResponseClass classify(const ReplyInfo& info, bool requestDo) {
  if (!info.complete) return ResponseClass::Error;
  if (info.opcode == kOpcodeUpdate || info.opcode == kOpcodeNotify) return ResponseClass::Error;
  if (info.hasQuestion && (info.qtype == dns::rrtype::AXFR || info.qtype == dns::rrtype::IXFR)) {
    return ResponseClass::Error;
  }
  bool dnssecOk = info.hasOpt ? info.optDo : requestDo;
  if (dnssecOk && info.expiredSignature) return ResponseClass::Error;

  constexpr unsigned kNoError = 0, kNXDomain = 3;
  if (info.answers > 0) {
    return info.rcode == kNoError ? ResponseClass::Success : ResponseClass::Error;
  }
  if (info.soaInAuthority && info.rcode == kNoError) return ResponseClass::Denial;
  if (info.rcode == kNXDomain) return ResponseClass::Denial;
  // NOERROR without an answer and without SOA (a delegation, or hosts' bare NODATA) counts
  // as success; every other rcode is an error.
  return info.rcode == kNoError ? ResponseClass::Success : ResponseClass::Error;
}

std::string_view className(ResponseClass c) {
  switch (c) {
    case ResponseClass::Success: return "success";
    case ResponseClass::Denial: return "denial";
    case ResponseClass::Error: return "error";
  }
  return "";
}

}  // namespace moat::plugins::log
