#include "plugins/file/serve.hpp"

#include <algorithm>
#include <string>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/file/lookup.hpp"

namespace moat::plugins::file {

namespace {

void writeParts(dns::MessageWriter& w, const Zone& zone, dns::Section section,
                std::span<const Part> parts) {
  for (const Part& p : parts) {
    if (p.set == nullptr) {
      w.addRR(section, p.owner, p.type, dns::rrclass::IN, p.ttl, p.rdata);
      continue;
    }
    for (const Record& r : zone.records(*p.set)) {
      w.addRR(section, p.owner, p.set->type, dns::rrclass::IN, std::min(r.ttl, p.maxTtl), zone.rdata(r));
    }
  }
}

std::string describe(Outcome outcome) {
  switch (outcome) {
    case Outcome::Answer: return "answer";
    case Outcome::NoData: return "NODATA (the name has other types)";
    case Outcome::EmptyNonTerminal: return "empty non-terminal (names exist below it)";
    case Outcome::NameError: return "NXDOMAIN";
    case Outcome::Referral: return "referral";
    case Outcome::ServFail: return "SERVFAIL";
    case Outcome::Chase: return "CNAME target resolved through the server";
  }
  return "";
}

void explain(dns::Query& q, std::string_view plugin, const ServedZone& served, const Lookup& lk,
             bool fallthrough) {
  const Zone& zone = *served.zone;
  std::string text = std::string(served.origin) + " (" + std::string(served.source) + ", serial " +
                     std::to_string(zone.serial()) + "): ";
  if (lk.wildcard != nullptr) text += "wildcard " + dns::nameToText(zone.name(*lk.wildcard)) + ", ";
  if (lk.cnames > 0) text += "CNAME chain of " + std::to_string(lk.cnames) + ", ";
  if (lk.cut != nullptr) {
    text += "referral to the delegation " + dns::nameToText(zone.name(*lk.cut));
  } else if (lk.outcome == Outcome::Answer && lk.wildcard == nullptr && lk.cnames == 0) {
    text += "exact match";
  } else {
    text += describe(lk.outcome);
  }
  if (lk.outcome == Outcome::Chase) text += " (" + dns::nameToText(lk.chaseTarget) + ")";
  if (fallthrough) text += "; fallthrough";
  q.trace->note(plugin, std::move(text));
}

bool dnssecOk(const dns::Query& q) { return q.view.edns.present && q.view.edns.dnssecOk; }

}  // namespace

Verdict serveQuery(dns::Query& q, const ServedZone& served, const Fall& fall, std::string_view plugin,
                   SubqueryClient& client) {
  const std::span<const uint8_t> name = q.view.question.lowerName();
  const uint16_t qtype = q.view.question.qtype;

  // Transfers are the `transfer` plugin's to allow; reaching here they are not (CoreDNS's
  // answer too).
  if (qtype == dns::rrtype::AXFR || qtype == dns::rrtype::IXFR) {
    if (q.trace != nullptr) q.trace->note(plugin, std::string(served.origin) + ": zone transfer not allowed: REFUSED");
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::Refused);
    return Verdict::Answered;
  }
  if (served.zone == nullptr) {
    if (q.trace != nullptr) q.trace->note(plugin, std::string(served.origin) + ": zone not loaded: SERVFAIL");
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    return Verdict::Answered;
  }
  const Zone& zone = *served.zone;
  Lookup lk;
  lookup(zone, name, qtype, dnssecOk(q), lk);
  const bool empty = lk.answer.size == 0;
  // Only a name the zone does not hold falls through (an empty non-terminal counts, as in
  // CoreDNS); a NODATA answer never does.
  if (empty && (lk.outcome == Outcome::NameError || lk.outcome == Outcome::EmptyNonTerminal) &&
      fall.through(name)) {
    q.nameExists = lk.outcome == Outcome::EmptyNonTerminal;
    if (q.trace != nullptr) explain(q, plugin, served, lk, true);
    return Verdict::Next;
  }
  if (q.trace != nullptr) explain(q, plugin, served, lk, false);
  if (lk.outcome == Outcome::ServFail) {
    dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
    return Verdict::Answered;
  }

  dns::MessageWriter w(q.reply);
  // A referral is not authoritative; a CNAME chain leading into one is, for the name asked.
  const bool aa = !(lk.outcome == Outcome::Referral && empty);
  w.startReply(q.requestBytes(), q.view,
               lk.outcome == Outcome::NameError ? dns::RCode::NXDomain : dns::RCode::NoError, aa);
  writeParts(w, zone, dns::Section::Answer, lk.answer.view());
  if (lk.outcome == Outcome::Chase) {
    // The rest of the chain is the whole server's to resolve, egress check included; the
    // answer so far waits in q.reply.
    if (q.dispatcher != nullptr &&
        static_cast<Runner*>(q.dispatcher)->subquery(q, lk.chaseTarget, qtype, client)) {
      return Verdict::Pending;
    }
    w.setRCode(dns::RCode::ServFail);
    Lookup rest;
    chasedAuthority(zone, false, dnssecOk(q), rest);
    writeParts(w, zone, dns::Section::Authority, rest.authority.view());
    return Verdict::Answered;
  }
  writeParts(w, zone, dns::Section::Authority, lk.authority.view());
  writeParts(w, zone, dns::Section::Additional, lk.additional.view());
  return Verdict::Answered;
}

void finishChase(dns::Query& parent, std::span<const uint8_t> reply, const Zone* zone) {
  // parent.reply holds the header, the question and the chain so far.
  dns::MessageWriter w(parent.reply);
  dns::RCode rcode = dns::RCode::ServFail;
  bool negative = false;
  if (reply.size() >= dns::kHeaderSize && dns::appendAnswersExpanded(w, reply, dns::Section::Answer) >= 0) {
    // As CoreDNS's upstream lookup reads it: NXDOMAIN and SERVFAIL pass on, anything else
    // (REFUSED for a name no block serves, say) leaves the chain as the answer.
    const dns::Header header = dns::Header::read(reply.data());
    rcode = header.rcode() == dns::RCode::NXDomain || header.rcode() == dns::RCode::ServFail
                ? header.rcode()
                : dns::RCode::NoError;
    negative = rcode == dns::RCode::NXDomain || (header.rcode() == dns::RCode::NoError && header.ancount == 0);
    if (header.flags & dns::flag::TC) w.setFlag(dns::flag::TC, true);
  }
  w.setRCode(rcode);
  if (zone != nullptr) {
    Lookup rest;
    chasedAuthority(*zone, negative, dnssecOk(parent), rest);
    writeParts(w, *zone, dns::Section::Authority, rest.authority.view());
  }
  resume(parent, Verdict::Answered);
}

}  // namespace moat::plugins::file
