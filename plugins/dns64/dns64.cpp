#include "plugins/dns64/dns64.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

#include "conf/args.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/record_walker.hpp"
#include "plugins/cidr.hpp"
#include "plugins/server_label.hpp"

namespace moat::plugins::dns64 {
namespace {

constexpr std::string_view kPlugin = "dns64";

// Explain's notes; the text is built only when explain asks (the query path allocates nothing).
void note(dns::Query& q, std::string_view text) {
  if (q.trace != nullptr) q.trace->note(kPlugin, std::string(text));
}

std::string prefixText(const Config& c) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, c.prefix.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(c.prefixLength);
}

// The question's name as the client spelt it (uncompressed in a query).
std::span<const uint8_t> askedName(const dns::Query& q) {
  return {q.request.data() + q.view.question.nameOffset, q.view.question.nameLen};
}

// CoreDNS answers SERVFAIL when the A question could not even be asked.
void serverFailure(dns::Query& q, std::string_view why) {
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
  q.error = why;
  if (q.trace != nullptr) note(q, std::string(why) + ": SERVFAIL");
}

}  // namespace

std::array<uint8_t, 16> synthesize(const Config& config, std::span<const uint8_t, 4> ipv4) {
  std::array<uint8_t, 16> out = config.prefix;
  size_t at = config.prefixLength / 8u;
  for (uint8_t octet : ipv4) {
    if (at == 8) ++at;  // the u-octet stays zero
    out[at++] = octet;
  }
  return out;
}

Dns64::Dns64(Config config, size_t workers, std::string server)
    : config_(config), workers_(workers), counts_(std::make_unique<WorkerCount[]>(workers)),
      server_(std::move(server)) {}

Dns64::~Dns64() = default;

// RFC 6147 §5.1: AAAA of class IN only; and, as CoreDNS, from IPv6 clients unless allow_ipv4
// (an IPv4 client on a dual-stack socket, ::ffff:a.b.c.d, is an IPv4 client, as Go reports it).
bool Dns64::intercepts(const dns::Query& q) const {
  if (q.view.header.qdcount == 0 || q.view.question.qtype != dns::rrtype::AAAA ||
      q.view.question.qclass != dns::rrclass::IN) {
    return false;
  }
  if (config_.allowIpv4) return true;
  std::array<uint8_t, 16> address{};
  return q.client.address(address) != AF_INET;
}

Verdict Dns64::onQuery(dns::Query& q) {
  if (!intercepts(q)) {
    if (q.trace != nullptr) {
      note(q, q.view.question.qtype == dns::rrtype::AAAA && q.view.question.qclass == dns::rrclass::IN
                  ? "AAAA question from an IPv4 client (no allow_ipv4): passed on untranslated"
                  : "not an AAAA question of class IN: passed on");
    }
    return Verdict::Next;
  }
  if (q.trace != nullptr) {
    note(q, "AAAA question: the plugins after dns64 answer it first, then dns64 decides (prefix " +
                prefixText(config_) + (config_.translateAll ? ", translate_all" : "") + ")");
  }
  if (q.dispatcher == nullptr || !static_cast<Runner*>(q.dispatcher)->subqueryNext(q, rest_)) {
    note(q, "could not ask the plugins after it: passed on untranslated");
    return Verdict::Next;
  }
  return Verdict::Pending;
}

// RFC 6147 §5.1.1-2 as CoreDNS reads them: NXDOMAIN is final; any other reply without an AAAA
// record (NODATA, or an error such as SERVFAIL or REFUSED) is synthesized; translate_all
// synthesizes whatever the AAAA records.
bool Dns64::wantsSynthesis(std::span<const uint8_t> reply) const {
  dns::RecordWalker walk(reply);
  if (walk.header().rcode() == dns::RCode::NXDomain) return false;
  if (config_.translateAll) return true;
  for (dns::Record r; walk.next(r) && r.section == dns::Section::Answer;) {
    if (r.type == dns::rrtype::AAAA) return false;
  }
  return true;
}

void Dns64::Rest::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  if (reply.empty()) {  // the rest of the chain dropped it: so does the parent
    note(parent, "the plugins after dns64 sent nothing: dropped");
    return resume(parent, Verdict::Drop);
  }
  parent.reply.assign(reply.begin(), reply.end());
  // An error the rest of the chain returned without an answer (CoreDNS's nonwriter stays
  // empty) is passed on as it is, as is a reply that needs nothing.
  if (!parent.error.empty() || reply.size() < dns::kHeaderSize) {
    if (parent.trace != nullptr) {
      note(parent, "the plugins after dns64 failed (" + std::string(parent.error) + "): passed on");
    }
    return resume(parent, Verdict::Answered);
  }
  if (!owner.wantsSynthesis(reply)) {
    note(parent, dns::RecordWalker(reply).header().rcode() == dns::RCode::NXDomain
                     ? "NXDOMAIN: passed on untranslated (RFC 6147 5.1.2)"
                     : "AAAA records exist: passed on untranslated");
    return resume(parent, Verdict::Answered);
  }
  // parent.reply keeps the AAAA reply for its SOA until the A records come back.
  if (!static_cast<Runner*>(parent.dispatcher)->subquery(parent, askedName(parent), dns::rrtype::A,
                                                         owner.ipv4_)) {
    serverFailure(parent, "dns64: the A question could not be asked");
    return resume(parent, Verdict::Answered);
  }
  note(parent, "no AAAA record in the reply: asks the whole server for A, to synthesize from");
}

void Dns64::Ipv4::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  if (reply.size() < dns::kHeaderSize) {
    serverFailure(parent, "dns64: no reply to the A question");
    return resume(parent, Verdict::Answered);
  }
  owner.answerAaaa(parent, reply);
  resume(parent, Verdict::Answered);
}

// As CoreDNS's Synthesize: a fresh NOERROR reply (not authoritative) with the A reply's TC bit,
// its answer with each A record turned into an AAAA record and every other record unchanged
// (RFC 6147 5.3.3), and its authority and additional sections as they were (5.3.2).
void Dns64::answerAaaa(dns::Query& parent, std::span<const uint8_t> aReply) {
  // §5.1.7: at most the TTL of the AAAA reply's SOA (its record TTL, as CoreDNS reads it).
  uint32_t soaTtl = kDefaultSoaTtl;
  {
    dns::RecordWalker walk(parent.reply);
    for (dns::Record r; walk.next(r) && r.section != dns::Section::Additional;) {
      if (r.section == dns::Section::Authority && r.type == dns::rrtype::SOA) soaTtl = r.ttl;
    }
  }
  std::vector<uint8_t>& out = parent.reply;
  dns::MessageWriter w(out);
  w.startReply(parent.requestBytes(), parent.view, dns::RCode::NoError, /*aa=*/false);
  dns::RecordWalker walk(aReply);
  if (walk.header().flags & dns::flag::TC) w.setFlag(dns::flag::TC, true);
  size_t synthesized = 0;
  bool ok = true;
  std::array<uint8_t, dns::kMaxNameLen> owner{};
  for (dns::Record r; ok && walk.next(r);) {
    if (r.section == dns::Section::Additional && r.type == dns::rrtype::OPT) continue;
    if (r.section == dns::Section::Answer && r.type == dns::rrtype::A && r.rdlength == 4) {
      size_t len = 0;
      dns::followName(aReply, r.start, [&](size_t at) {
        if (aReply[at] > dns::kMaxLabelLen) return;  // a pointer
        const size_t n = 1u + aReply[at];
        std::copy_n(aReply.begin() + static_cast<long>(at), n, owner.begin() + static_cast<long>(len));
        len += n;
      });
      const auto address = synthesize(config_, aReply.subspan(r.rdata()).first<4>());
      w.addRR(dns::Section::Answer, {owner.data(), len}, dns::rrtype::AAAA, r.klass,
              std::min(r.ttl, soaTtl), address);
      ++synthesized;
      continue;
    }
    ok = dns::appendRecordExpanded(out, aReply, r, r.section);
  }
  if (!ok || !walk.done()) {
    serverFailure(parent, "dns64: the reply to the A question is malformed");
    return;
  }
  if (parent.worker < workers_) counts_[parent.worker].n.fetch_add(1, std::memory_order_relaxed);
  if (parent.trace != nullptr) {
    note(parent, std::to_string(synthesized) + " AAAA record(s) synthesized under " + prefixText(config_) +
                     ", TTL at most " + std::to_string(soaTtl) + " (the AAAA reply's SOA" +
                     (soaTtl == kDefaultSoaTtl ? ", or 600 without one" : "") + ")");
  }
}

uint64_t Dns64::translated() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < workers_; ++i) sum += counts_[i].n.load(std::memory_order_relaxed);
  return sum;
}

void Dns64::collect(std::vector<MetricSample>& out) const {
  // A Prometheus CounterVec in CoreDNS: the series exists once something was translated.
  if (const uint64_t n = translated(); n != 0) {
    out.push_back({"coredns_dns64_requests_translated_total", "Counter of DNS requests translated by dns64.",
                   false, {{"server", server_}}, static_cast<double>(n)});
  }
}

conf::Result<Config> parsePrefix(const conf::Token& token, Config config) {
  const auto cidr = parseCidr(token.text, /*prefixRequired=*/true);
  if (!cidr) return conf::errorAt(token, kPlugin, "invalid CIDR address '" + token.text + "'");
  if (cidr->v4) {
    return conf::errorAt(token, kPlugin, "the prefix must be IPv6, got '" + token.text + "'");
  }
  const Uint128 hostBits = cidr->first ^ cidr->last;
  int length = 128;
  for (Uint128 bits = hostBits; bits != 0; bits >>= 1) --length;
  // RFC 6052 §2.2 defines these lengths only (CoreDNS also takes 72, 80 and 88, which put the
  // IPv4 address over bits the RFC reserves).
  if (length != 32 && length != 40 && length != 48 && length != 56 && length != 64 && length != 96) {
    return conf::errorAt(token, kPlugin,
                         "invalid prefix length /" + std::to_string(length) + " in '" + token.text +
                             "': RFC 6052 allows 32, 40, 48, 56, 64 or 96");
  }
  for (int i = 0; i < 16; ++i) {
    config.prefix[static_cast<size_t>(i)] = static_cast<uint8_t>(cidr->first >> (8 * (15 - i)));
  }
  if (config.prefix[8] != 0) {
    return conf::errorAt(token, kPlugin,
                         "bits 64 to 71 of '" + token.text + "' must be zero (RFC 6052 2.2, the u-octet)");
  }
  config.prefixLength = static_cast<uint8_t>(length);
  return config;
}

conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas) {
  Config config;
  for (const conf::Directive* stanza : stanzas) {
    if (auto n = conf::expectArgs(*stanza, kPlugin, 0, 1); !n) return n.error();
    if (!stanza->args.empty()) {
      auto parsed = parsePrefix(stanza->args[0], config);
      if (!parsed) return parsed.error();
      config = *parsed;
    }
    for (const conf::Directive& option : stanza->block) {
      const std::string& name = option.name.text;
      if (name == "prefix") {
        if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
        auto parsed = parsePrefix(option.args[0], config);
        if (!parsed) return parsed.error();
        config = *parsed;
      } else if (name == "translate_all" || name == "allow_ipv4") {
        if (auto n = conf::expectArgs(option, kPlugin, 0, 0); !n) return n.error();
        (name == "translate_all" ? config.translateAll : config.allowIpv4) = true;
      } else {
        return conf::unknownOption(option, kPlugin, {"prefix", "translate_all", "allow_ipv4"});
      }
    }
  }
  return config;
}

conf::Result<HandlerPtr> setupDns64(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas);
  if (!config) return config.error();
  // Tests and checks build without event loops; one counter keeps the handler usable there.
  auto handler = std::make_shared<Dns64>(*config, std::max<size_t>(1, ctx.loops.size()), serverLabel(ctx));
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::dns64
