#include "plugins/local/local.hpp"

#include <algorithm>
#include <array>

#include "dns/message.hpp"
#include "conf/args.hpp"
#include "dns/name.hpp"

namespace moat::plugins::local {
namespace {

constexpr std::string_view kPlugin = "local";

using namespace std::string_view_literals;
constexpr std::string_view kLocalhost = "\x09localhost\0"sv;
constexpr std::string_view kPtrName = "\0011\0010\0010\003127\007in-addr\004arpa\0"sv;
// The zones answered whole, with their label counts (the apex is where SOA and NS live).
struct Zone {
  std::string_view wire;
  uint8_t labels;
};
constexpr std::array<Zone, 4> kZones = {{{kLocalhost, 1},
                                         {"\0010\007in-addr\004arpa\0"sv, 3},
                                         {"\003127\007in-addr\004arpa\0"sv, 3},
                                         {"\003255\007in-addr\004arpa\0"sv, 3}}};

template <size_t N>
constexpr std::array<uint8_t, N> bytes(std::string_view text) {
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = static_cast<uint8_t>(text[i]);
  return out;
}

constexpr auto kLoopback4 = std::to_array<uint8_t>({127, 0, 0, 1});
constexpr auto kLoopback6 = std::to_array<uint8_t>({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
constexpr auto kLocalhostRdata = bytes<kLocalhost.size()>(kLocalhost);  // NS and PTR target
// SOA localhost. root.localhost. 1 0 0 0 604800: CoreDNS's, so caches keep the same negative TTL.
constexpr auto kSoaRdata = [] {
  constexpr std::string_view names = "\x09localhost\0\x04root\x09localhost\0"sv;
  std::array<uint8_t, names.size() + 20> out{};
  size_t at = 0;
  for (char c : names) out[at++] = static_cast<uint8_t>(c);
  const std::array<uint32_t, 5> numbers = {1, 0, 0, 0, kTtl};
  for (uint32_t n : numbers) {
    for (int shift = 24; shift >= 0; shift -= 8) out[at++] = static_cast<uint8_t>(n >> shift);
  }
  return out;
}();

bool equals(std::span<const uint8_t> lower, std::string_view wire) {
  return std::equal(lower.begin(), lower.end(), wire.begin(), wire.end(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
}

bool isLocalhostLabel(std::span<const uint8_t> lower, size_t at) {
  return equals(lower.subspan(at, kLocalhost.size() - 1), kLocalhost.substr(0, kLocalhost.size() - 1));
}

// Where each label of a (valid, lowercased) wire name starts.
struct Labels {
  std::array<uint8_t, dns::kMaxNameLen / 2 + 1> at{};
  size_t count = 0;

  explicit Labels(std::span<const uint8_t> lower) {
    for (size_t i = 0; i < lower.size() && lower[i] != 0 && count < at.size(); i += 1 + lower[i]) {
      at[count++] = static_cast<uint8_t>(i);
    }
  }
};

enum class Kind : uint8_t { Loopback, Apex, Ptr, Other };

struct Match {
  Kind kind = Kind::Other;
  size_t zoneAt = 0;  // where the matched zone starts in the name (the SOA's owner)
  bool localhostApex = false;
};

}  // namespace

LocalHandler::LocalHandler(Config config, size_t workers)
    : config_(config), workers_(workers), counts_(std::make_unique<WorkerCount[]>(workers)) {}

LocalHandler::~LocalHandler() = default;

Verdict LocalHandler::onQuery(dns::Query& q) {
  const dns::Question& question = q.view.question;
  if (q.view.header.qdcount == 0) return Verdict::Next;
  const std::span<const uint8_t> lower = question.lowerName();
  const Labels labels(lower);

  // Below localhost. (RFC 6761) or, with the prefix on, localhost.<anything>: the loopback host.
  // Checked before the zones, as CoreDNS does, so localhost.0.in-addr.arpa is loopback too.
  Match match;
  bool matched = false;
  if (labels.count >= 2 && (isLocalhostLabel(lower, labels.at[labels.count - 1]) ||
                            (config_.localhostPrefix && isLocalhostLabel(lower, 0)))) {
    match.kind = Kind::Loopback;
    matched = true;
  }
  for (size_t i = 0; !matched && i < kZones.size(); ++i) {
    const Zone& zone = kZones[i];
    if (labels.count < zone.labels) continue;
    const size_t at = labels.at[labels.count - zone.labels];
    if (!equals(lower.subspan(at), zone.wire)) continue;
    matched = true;
    match.zoneAt = at;
    if (at == 0) {
      match.kind = Kind::Apex;
      match.localhostApex = (i == 0);
    } else if (equals(lower, kPtrName)) {
      match.kind = Kind::Ptr;
    }
  }
  if (!matched) return Verdict::Next;

  // The client's spelling of the name, and of the zone at its end.
  const std::span<const uint8_t> owner(q.request.data() + question.nameOffset, question.nameLen);
  const std::span<const uint8_t> zoneOwner = owner.subspan(match.zoneAt);
  const uint16_t type = question.qtype;

  // Never authoritative, as CoreDNS's replies (it never sets AA).
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, /*aa=*/false);
  auto answer = [&](uint16_t rrtype, std::span<const uint8_t> rdata) {
    w.addRR(dns::Section::Answer, owner, rrtype, dns::rrclass::IN, kTtl, rdata);
  };
  auto soa = [&](std::span<const uint8_t> soaOwner) {
    w.addRR(dns::Section::Authority, soaOwner, dns::rrtype::SOA, dns::rrclass::IN, kTtl, kSoaRdata);
  };
  const char* what = "";  // for explain
  switch (match.kind) {
    case Kind::Loopback:
      if (q.worker < workers_) counts_[q.worker].n.fetch_add(1, std::memory_order_relaxed);
      [[fallthrough]];
    case Kind::Apex:
      if (type == dns::rrtype::A && (match.kind == Kind::Loopback || match.localhostApex)) {
        answer(type, kLoopback4);
        what = "A 127.0.0.1";
      } else if (type == dns::rrtype::AAAA && (match.kind == Kind::Loopback || match.localhostApex)) {
        answer(type, kLoopback6);
        what = "AAAA ::1";
      } else if (type == dns::rrtype::SOA && match.kind == Kind::Apex) {
        answer(type, kSoaRdata);
        what = "its SOA";
      } else if (type == dns::rrtype::NS && match.kind == Kind::Apex) {
        answer(type, kLocalhostRdata);
        what = "NS localhost.";
      } else {
        soa(owner);
        what = "no data (NOERROR, SOA in authority)";
      }
      break;
    case Kind::Ptr:
      if (type == dns::rrtype::PTR) {
        answer(type, kLocalhostRdata);
        what = "PTR localhost.";
      } else {
        soa(zoneOwner);
        what = "no data (NOERROR, SOA in authority)";
      }
      break;
    case Kind::Other:
      w.setRCode(dns::RCode::NXDomain);
      soa(zoneOwner);
      what = "NXDOMAIN: the zone holds nothing else";
      break;
  }
  if (q.trace != nullptr) {
    const std::string where = match.kind == Kind::Loopback
                                  ? " (a localhost name, answered as the loopback host)"
                                  : " (local zone " + dns::nameToText(lower.subspan(match.zoneAt)) + ")";
    q.trace->note(kPlugin, dns::nameToText(lower) + where + ": " + what +
                               "; never sent upstream");
  }
  return Verdict::Answered;
}

uint64_t LocalHandler::localhostRequests() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < workers_; ++i) sum += counts_[i].n.load(std::memory_order_relaxed);
  return sum;
}

void LocalHandler::collect(std::vector<MetricSample>& out) const {
  // Always present, as CoreDNS's counter is from start: 0 until a localhost name is asked.
  out.push_back({"coredns_local_localhost_requests_total",
                 "Queries for names below localhost. and localhost.<domain> names that local answered.",
                 false, {}, static_cast<double>(localhostRequests())});
}

conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas) {
  Config config;
  // Several stanzas are read in order, as CoreDNS reads them: the last localhost_prefix wins.
  for (const conf::Directive* stanza : stanzas) {
    if (auto n = conf::expectArgs(*stanza, kPlugin, 0, 0); !n) return n.error();
    for (const conf::Directive& option : stanza->block) {
      if (option.name.text != "localhost_prefix") {
        return conf::unknownOption(option, kPlugin, {"localhost_prefix"});
      }
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      const conf::Token& value = option.args[0];
      if (value.text == "on") {
        config.localhostPrefix = true;
      } else if (value.text == "off") {
        config.localhostPrefix = false;
      } else {
        return conf::errorAt(value, kPlugin, "localhost_prefix takes 'on' or 'off', got '" + value.text + "'");
      }
    }
  }
  return config;
}

conf::Result<HandlerPtr> setupLocal(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas);
  if (!config) return config.error();
  // Tests and checks build without event loops; one counter keeps the handler usable there.
  auto handler = std::make_shared<LocalHandler>(*config, std::max<size_t>(1, ctx.loops.size()));
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::local
