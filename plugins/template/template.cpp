#include "plugins/template/template.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "dns/log.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "plugins/server_label.hpp"
#include "plugins/template/rr_text.hpp"

namespace moat::plugins::tmpl {

namespace {

constexpr std::string_view kPlugin = "template";
constexpr uint16_t kEdeOption = 15;                  // RFC 8914
constexpr uint16_t kUdpSizeWithoutClientOpt = 4096;  // CoreDNS's SetEdns0(4096, true)
constexpr uint32_t kDnssecOkBit = 0x8000;
constexpr uint8_t kRootName[] = {0};
// The longest text a record renders to.
constexpr size_t kMaxRecordText = 4096;

// Counter keys: kind, then the rule (matches) or record (failures), zone, class and type.
enum class Kind : uint64_t { Match = 1, TemplateFailure = 2, RrFailure = 3 };
uint64_t key(Kind kind, size_t owner, int zone, uint16_t klass, uint16_t type) {
  return static_cast<uint64_t>(kind) << 62 | (static_cast<uint64_t>(owner) & 0x3FFF) << 48 |
         (static_cast<uint64_t>(zone) & 0xFFFF) << 32 | static_cast<uint64_t>(klass) << 16 | type;
}

const char* sectionName(Section s) {
  switch (s) {
    case Section::Answer: return "answer";
    case Section::Authority: return "authority";
    case Section::Additional: return "additional";
  }
  return "";
}

dns::Section wireSection(Section s) {
  switch (s) {
    case Section::Answer: return dns::Section::Answer;
    case Section::Authority: return dns::Section::Authority;
    case Section::Additional: return dns::Section::Additional;
  }
  return dns::Section::Answer;
}

std::string typeText(uint16_t type) {
  const std::string_view name = logging::typeName(type);
  return name.empty() ? "TYPE" + std::to_string(type) : std::string(name);
}

std::string classText(uint16_t klass) {
  switch (klass) {
    case dns::rrclass::IN: return "IN";
    case 2: return "CS";
    case dns::rrclass::CH: return "CH";
    case dns::rrclass::HS: return "HS";
    case dns::rrclass::NONE: return "NONE";
    case dns::rrclass::ANY: return "ANY";
    default: return "CLASS" + std::to_string(klass);
  }
}

// Class and type names for .Class and .Type without allocating (the usual ones).
std::string_view classView(uint16_t klass, std::array<char, 16>& buf) {
  switch (klass) {
    case dns::rrclass::IN: return "IN";
    case 2: return "CS";
    case dns::rrclass::CH: return "CH";
    case dns::rrclass::HS: return "HS";
    case dns::rrclass::NONE: return "NONE";
    case dns::rrclass::ANY: return "ANY";
    default: break;
  }
  auto [p, ec] = std::to_chars(buf.data() + 5, buf.data() + buf.size(), klass);
  (void)ec;
  std::copy_n("CLASS", 5, buf.data());
  return {buf.data(), static_cast<size_t>(p - buf.data())};
}

std::string_view typeView(uint16_t type, std::array<char, 16>& buf) {
  const std::string_view name = logging::typeName(type);
  if (!name.empty()) return name;
  auto [p, ec] = std::to_chars(buf.data() + 4, buf.data() + buf.size(), type);
  (void)ec;
  std::copy_n("TYPE", 4, buf.data());
  return {buf.data(), static_cast<size_t>(p - buf.data())};
}

const expression::Env kNoMetadata;  // Moat has no metadata plugin: .Meta and metadata() are ""

void servfail(dns::Query& q, std::string_view why) {
  dns::writeErrorReply(q.reply, q.requestBytes(), &q.view, dns::RCode::ServFail);
  q.error = why;
}

}  // namespace

// One worker's counters: a fixed open-addressed table, so counting never allocates. Series
// beyond its size are not counted (a Corefile would need hundreds of zone/type pairs).
struct TemplateHandler::Counters {
  static constexpr size_t kSlots = 512;
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<uint64_t> n{0};
  };
  std::array<Slot, kSlots> slots;

  void add(uint64_t k) {
    size_t i = static_cast<size_t>((k * 0x9E3779B97F4A7C15ULL) >> 55) % kSlots;
    for (size_t probe = 0; probe < kSlots; ++probe, i = (i + 1) % kSlots) {
      const uint64_t have = slots[i].key.load(std::memory_order_relaxed);
      if (have == k) {
        slots[i].n.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (have == 0) {
        slots[i].n.fetch_add(1, std::memory_order_relaxed);
        slots[i].key.store(k, std::memory_order_release);
        return;
      }
    }
  }
};

TemplateHandler::TemplateHandler(Config config, size_t workers, std::string server, std::string view)
    : config_(std::move(config)),
      workers_(workers),
      server_(std::move(server)),
      view_(std::move(view)),
      // One table per worker, and one for queries from no worker (explain, tests).
      counters_(std::make_unique<Counters[]>(workers + 1)) {}

TemplateHandler::~TemplateHandler() = default;

void TemplateHandler::count(const dns::Query& q, uint64_t k) const {
  counters_[std::min(static_cast<size_t>(q.worker), workers_)].add(k);
}

Verdict TemplateHandler::onQuery(dns::Query& q) { return answer(q, {}, false); }

void TemplateHandler::onSubquery(dns::Query& parent, std::span<const uint8_t> reply) {
  resume(parent, answer(parent, reply, true));
}

Verdict TemplateHandler::answer(dns::Query& q, std::span<const uint8_t> upstream, bool second) {
  if (q.view.header.qdcount == 0) return Verdict::Next;
  const dns::Question& question = q.view.question;
  const std::span<const uint8_t> lower = question.lowerName();
  if (!config_.zones.contains(lower)) return Verdict::Next;

  // The name as CoreDNS's templates and regexes see it: lowercase, final dot, dig's escapes.
  std::array<char, dns::kMaxNameLen * 4 + 1> nameBuf;
  const std::string_view name(nameBuf.data(), dns::writeNameText(lower, nameBuf.data()));
  std::array<char, 64> remoteBuf;

  for (size_t r = 0; r < config_.rules.size(); ++r) {
    const Rule& rule = config_.rules[r];
    const int zone = rule.zones.longestMatch(lower);
    if (zone == dns::ZoneSet::kNone) continue;
    if (rule.qclass != dns::rrclass::ANY && question.qclass != dns::rrclass::ANY && question.qclass != rule.qclass) {
      continue;
    }
    if (rule.qtype != dns::rrtype::ANY && question.qtype != dns::rrtype::ANY && question.qtype != rule.qtype) {
      continue;
    }
    std::array<re2::StringPiece, kMaxGroups> pieces;
    int matched = -1;
    int captured = 0;
    for (size_t i = 0; i < rule.regexes.size() && matched < 0; ++i) {
      const re2::RE2& re = *rule.regexes[i];
      captured = std::min(rule.groups, re.NumberOfCapturingGroups() + 1);
      // Only the groups a record reads are captured: no group read means RE2's DFA alone.
      if (re.Match(re2::StringPiece(name.data(), name.size()), 0, name.size(), re2::RE2::UNANCHORED, pieces.data(),
                   captured)) {
        matched = static_cast<int>(i);
      }
    }
    bool conditions = matched >= 0;
    for (size_t c = 0; conditions && c < rule.conditions.size(); ++c) {
      const expression::Value v = rule.conditions[c].evaluate(q, kNoMetadata);
      if (v.type == expression::Type::Error) {
        servfail(q, "template: an expr failed");
        if (q.trace != nullptr) {
          q.trace->note(kPlugin, "template at " + rule.pos.str() + ": expr " + rule.conditions[c].text() + " fails: SERVFAIL");
        }
        return Verdict::Answered;
      }
      conditions = v.type == expression::Type::Bool && v.b;
    }
    if (!conditions) {
      if (rule.fall.through(lower)) {
        if (q.trace != nullptr) {
          q.trace->note(kPlugin, "template at " + rule.pos.str() + " (" + rule.className + " " + rule.typeName + " " +
                                     rule.zones.text(zone) + ") does not match " + std::string(name) +
                                     (matched < 0 ? "" : " (an expr is false)") + "; fallthrough");
        }
        continue;
      }
      servfail(q, "template: no regex matched and no fallthrough");
      if (q.trace != nullptr) {
        q.trace->note(kPlugin, "template at " + rule.pos.str() + " (" + rule.className + " " + rule.typeName + " " +
                                   rule.zones.text(zone) + ") does not match " + std::string(name) +
                                   " and has no fallthrough: SERVFAIL");
      }
      return Verdict::Answered;
    }

    // .Class and .Type: the question's, or the template's when the question asked ANY.
    const uint16_t klass = question.qclass != dns::rrclass::ANY ? question.qclass : rule.qclass;
    const uint16_t type = question.qtype != dns::rrtype::ANY ? question.qtype : rule.qtype;
    if (!second) count(q, key(Kind::Match, r, zone, klass, type));
    if (rule.rcode == static_cast<uint8_t>(dns::RCode::ServFail)) {
      servfail(q, {});
      if (q.trace != nullptr) {
        q.trace->note(kPlugin, "template at " + rule.pos.str() + " matched " + std::string(name) + ": rcode SERVFAIL");
      }
      return Verdict::Answered;
    }

    std::array<std::string_view, kMaxGroups> match{};
    for (int g = 0; g < captured; ++g) {
      const re2::StringPiece& p = pieces[static_cast<size_t>(g)];
      match[static_cast<size_t>(g)] = p.data() == nullptr ? std::string_view() : std::string_view(p.data(), p.size());
    }
    std::array<char, 16> classBuf, typeBuf;
    Data data;
    data.name = name;
    data.zone = rule.zones.text(zone);
    data.klass = classView(klass, classBuf);
    data.type = typeView(type, typeBuf);
    // inet_ntop costs more than the rest of a plain answer: only for a template that reads it.
    if (rule.readsRemote) data.remote = q.client.addressText(remoteBuf);
    data.qtype = question.qtype;
    data.qclass = question.qclass;
    data.id = q.view.header.id;
    data.match = std::span<const std::string_view>(match.data(), static_cast<size_t>(captured));
    data.regex = matched;

    dns::MessageWriter w(q.reply);
    w.startReply(q.requestBytes(), q.view, static_cast<dns::RCode>(rule.rcode), /*aa=*/true);
    std::array<char, kMaxRecordText> text;
    WireRecord rec;
    bool asked = false;  // a CNAME target went (or goes) to the subquery
    const bool resolves = question.qtype == dns::rrtype::A || question.qtype == dns::rrtype::AAAA;
    size_t answers = 0;
    for (const Record& record : rule.records) {
      std::string_view why;
      const auto len = record.text.render(data, text.data(), text.size(), why);
      if (!len) {
        if (!second) count(q, key(Kind::TemplateFailure, record.metricIndex, zone, klass, type));
        servfail(q, "template: a template failed to render");
        if (q.trace != nullptr) {
          q.trace->note(kPlugin, "template at " + rule.pos.str() + ": " + sectionName(record.section) + " " +
                                     record.text.source() + " fails (" + std::string(why) + "): SERVFAIL");
        }
        return Verdict::Answered;
      }
      if (!parseRecord({text.data(), *len}, rec, why)) {
        if (!second) count(q, key(Kind::RrFailure, record.metricIndex, zone, klass, type));
        servfail(q, "template: a rendered record is not valid");
        if (q.trace != nullptr) {
          q.trace->note(kPlugin, "template at " + rule.pos.str() + ": " + sectionName(record.section) + " '" +
                                     std::string(text.data(), *len) + "' is no valid record (" + std::string(why) +
                                     "): SERVFAIL");
        }
        return Verdict::Answered;
      }
      w.addRR(wireSection(record.section), rec.ownerWire(), rec.type, rec.klass, rec.ttl, rec.rdataWire());
      if (record.section == Section::Answer) ++answers;
      // CoreDNS's upstream: the target of a CNAME answer to A or AAAA, through the whole server.
      if (record.section != Section::Answer || rec.type != dns::rrtype::CNAME || !resolves || asked) continue;
      asked = true;
      if (second) {
        if (!upstream.empty()) {
          answers += static_cast<size_t>(std::max(0, dns::appendAnswersExpanded(w, upstream, dns::Section::Answer)));
          if (upstream.size() >= 4 && (upstream[2] & 0x02) != 0) w.setFlag(dns::flag::TC, true);
        }
        continue;
      }
      if (q.dispatcher != nullptr &&
          static_cast<Runner*>(q.dispatcher)->subquery(q, rec.rdataWire(), question.qtype, *this)) {
        if (q.trace != nullptr) {
          q.trace->note(kPlugin, "template at " + rule.pos.str() + " matched " + std::string(name) +
                                     "; resolving its CNAME target through the server");
        }
        return Verdict::Pending;  // onSubquery builds the reply again, with the target's records
      }
    }
    if (rule.ederror) {
      std::array<uint8_t, 4 + 2 + 512> option{};
      const size_t textLen = std::min(rule.ederror->reason.size(), option.size() - 6);
      const size_t len = 2 + textLen;
      option[0] = kEdeOption >> 8;
      option[1] = kEdeOption & 0xFF;
      option[2] = static_cast<uint8_t>(len >> 8);
      option[3] = static_cast<uint8_t>(len);
      option[4] = static_cast<uint8_t>(rule.ederror->code >> 8);
      option[5] = static_cast<uint8_t>(rule.ederror->code);
      std::copy_n(rule.ederror->reason.data(), textLen, option.data() + 6);
      const uint16_t udpSize = q.view.edns.present ? q.view.edns.udpSize : kUdpSizeWithoutClientOpt;
      w.addRR(dns::Section::Additional, kRootName, dns::rrtype::OPT, udpSize, kDnssecOkBit,
              std::span<const uint8_t>(option.data(), 4 + len));
    }
    if (q.trace != nullptr) {
      static constexpr std::array<std::string_view, 11> kRcodes = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                                   "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                                   "NXRRSET", "NOTAUTH", "NOTZONE"};
      const std::string rcode(kRcodes[rule.rcode]);
      q.trace->note(kPlugin, "template at " + rule.pos.str() + " (" + rule.className + " " + rule.typeName + " " +
                                 rule.zones.text(zone) + ") matched " + std::string(name) + " with regex " +
                                 rule.patterns[static_cast<size_t>(matched)] + ": " + rcode + ", " +
                                 std::to_string(answers) + " answer(s), " + std::to_string(rule.records.size()) +
                                 " record(s) templated; local data, never sent upstream");
    }
    return Verdict::Answered;
  }
  return Verdict::Next;
}

void TemplateHandler::collect(std::vector<MetricSample>& out) const {
  std::vector<std::pair<uint64_t, uint64_t>> sums;
  for (size_t w = 0; w <= workers_; ++w) {
    for (const auto& slot : counters_[w].slots) {
      const uint64_t k = slot.key.load(std::memory_order_acquire);
      if (k == 0) continue;
      const uint64_t n = slot.n.load(std::memory_order_relaxed);
      auto it = std::find_if(sums.begin(), sums.end(), [&](const auto& s) { return s.first == k; });
      if (it == sums.end()) {
        sums.emplace_back(k, n);
      } else {
        it->second += n;
      }
    }
  }
  std::sort(sums.begin(), sums.end());
  for (const auto& [k, n] : sums) {
    const auto kind = static_cast<Kind>(k >> 62);
    const size_t owner = static_cast<size_t>((k >> 48) & 0x3FFF);
    const int zone = static_cast<int>((k >> 32) & 0xFFFF);
    const uint16_t klass = static_cast<uint16_t>(k >> 16);
    const uint16_t type = static_cast<uint16_t>(k);
    MetricSample s;
    s.value = static_cast<double>(n);
    std::string zoneText;
    if (kind == Kind::Match) {
      if (owner >= config_.rules.size()) continue;
      zoneText = config_.rules[owner].zones.text(zone);
      s.family = "coredns_template_matches_total";
      s.help = "Counter of template regex matches.";
    } else {
      // A record's rule: the one whose records hold this metric index.
      const Rule* rule = nullptr;
      for (const Rule& rl : config_.rules) {
        for (const Record& rec : rl.records) {
          if (rec.metricIndex == owner) rule = &rl;
        }
      }
      if (rule == nullptr) continue;
      zoneText = rule->zones.text(zone);
      s.family = kind == Kind::TemplateFailure ? "coredns_template_template_failures_total"
                                               : "coredns_template_rr_failures_total";
      s.help = kind == Kind::TemplateFailure ? "Counter of go template failures." : "Counter of mis-templated RRs.";
    }
    s.labels = {{"server", server_}, {"zone", zoneText}, {"view", view_}, {"class", classText(klass)},
                {"type", typeText(type)}};
    if (kind != Kind::Match) {
      s.labels.emplace_back("section", config_.recordLabels[owner].first);
      s.labels.emplace_back("template", config_.recordLabels[owner].second);
    }
    out.push_back(std::move(s));
  }
}

conf::Result<HandlerPtr> setupTemplate(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas, ctx.zones);
  if (!config) return config.error();
  auto handler = std::make_shared<TemplateHandler>(std::move(*config), std::max<size_t>(1, ctx.loops.size()),
                                                   serverLabel(ctx), ctx.view);
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::tmpl
