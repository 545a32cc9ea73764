#include "plugins/acl/acl.hpp"

#include <algorithm>
#include <array>

#include "dns/counter.hpp"
#include "dns/log.hpp"
#include "dns/message.hpp"
#include "plugins/server_label.hpp"

namespace moat::plugins::acl {

namespace {

constexpr uint8_t kRootName[] = {0};
constexpr uint32_t kDnssecOkBit = 0x8000;  // in the OPT's TTL field
constexpr uint16_t kUdpSizeWithoutClientOpt = 4096;
constexpr size_t kDecidingActions = 3;  // block, filter, drop

}  // namespace

Acl::Slot::Slot(size_t counters) : decided(new std::atomic<uint64_t>[counters]) {
  for (size_t i = 0; i < counters; ++i) decided[i].store(0, std::memory_order_relaxed);
}

Acl::Acl(AclConfig config, size_t workers, std::string server, std::string view)
    : server_(std::move(server)), view_(std::move(view)) {
  for (Rule& rule : config.rules) {
    CompiledRule compiled;
    for (const std::string& zone : rule.zones) compiled.zones.add(zone);
    for (size_t i = 0; i < compiled.zones.size(); ++i) {
      const std::string& text = compiled.zones.text(static_cast<int>(i));
      auto it = std::find(zoneLabels_.begin(), zoneLabels_.end(), text);
      if (it == zoneLabels_.end()) it = zoneLabels_.insert(zoneLabels_.end(), text);
      compiled.labelOf.push_back(static_cast<uint32_t>(it - zoneLabels_.begin()));
    }
    compiled.policies = std::move(rule.policies);
    rules_.push_back(std::move(compiled));
  }
  const size_t counters = std::max<size_t>(kDecidingActions * zoneLabels_.size(), 1);
  for (size_t i = 0; i <= workers; ++i) slots_.push_back(std::make_unique<Slot>(counters));
}

const Policy* Acl::firstMatch(const CompiledRule& rule, const IpKey& client, uint16_t qtype) const {
  for (const Policy& policy : rule.policies) {
    if (policy.types.contains(qtype) && policy.nets.contains(client)) return &policy;
  }
  return nullptr;
}

Verdict Acl::onQuery(dns::Query& q) {
  const std::span<const uint8_t> name = q.view.question.lowerName();
  const std::optional<IpKey> client = clientKey(q.client);
  for (const CompiledRule& rule : rules_) {
    const int zone = rule.zones.longestMatch(name);
    if (zone == dns::ZoneSet::kNone) continue;
    const Policy* policy = nullptr;
    Action action = Action::Block;  // CoreDNS blocks a query whose source it cannot read
    if (client) {
      policy = firstMatch(rule, *client, q.view.question.qtype);
      if (policy == nullptr) continue;  // this rule has no say; the next one may
      action = policy->action;
    }
    if (q.trace != nullptr) note(q, rule.zones.text(zone), policy, action);
    if (action == Action::Allow) break;
    countDecided(q.worker, action, rule.labelOf[static_cast<size_t>(zone)]);
    if (action == Action::Drop) return Verdict::Drop;
    if (action == Action::Block) {
      writeExtendedError(q, dns::RCode::Refused, kEdeBlocked);
    } else {
      writeExtendedError(q, dns::RCode::NoError, kEdeFiltered);
    }
    return Verdict::Answered;
  }
  countAllowed(q.worker);
  return Verdict::Next;
}

void writeExtendedError(dns::Query& q, dns::RCode rcode, uint16_t infoCode) {
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, rcode, /*aa=*/false);
  const uint8_t option[6] = {kEdeOption >> 8, kEdeOption & 0xFF, 0, 2,
                             static_cast<uint8_t>(infoCode >> 8), static_cast<uint8_t>(infoCode)};
  const uint16_t udpSize = q.view.edns.present ? q.view.edns.udpSize : kUdpSizeWithoutClientOpt;
  w.addRR(dns::Section::Additional, kRootName, dns::rrtype::OPT, udpSize, kDnssecOkBit, option);
}

void Acl::note(dns::Query& q, std::string_view zone, const Policy* policy, Action action) const {
  std::string text;
  if (policy == nullptr) {
    text = "the client's address cannot be read";
  } else {
    std::array<char, 64> buf;
    text = "client " + std::string(q.client.addressText(buf)) + ", type ";
    std::string_view type = logging::typeName(q.view.question.qtype);
    text += type.empty() ? "TYPE" + std::to_string(q.view.question.qtype) : std::string(type);
    text += " matches '" + std::string(actionName(action)) + "' at " + policy->pos.str();
  }
  text += " (rule zone " + std::string(zone) + ") -> ";
  switch (action) {
    case Action::Allow: text += "allowed"; break;
    case Action::Block: text += "REFUSED, extended error 15 (Blocked)"; break;
    case Action::Filter: text += "NOERROR with no records, extended error 17 (Filtered)"; break;
    case Action::Drop: text += "dropped, no reply"; break;
  }
  q.trace->note("acl", std::move(text));
}

size_t Acl::counterIndex(Action action, uint32_t label) const {
  const size_t row = action == Action::Block ? 0 : action == Action::Filter ? 1 : 2;
  return row * zoneLabels_.size() + label;
}

void Acl::countAllowed(unsigned worker) {
  Slot& slot = slotOf(worker);
  if (spare(worker)) {
    slot.allowed.fetch_add(1, std::memory_order_relaxed);  // any thread may write the spare
  } else {
    dns::bump(slot.allowed);
  }
}

void Acl::countDecided(unsigned worker, Action action, uint32_t label) {
  std::atomic<uint64_t>& counter = slotOf(worker).decided[counterIndex(action, label)];
  if (spare(worker)) {
    counter.fetch_add(1, std::memory_order_relaxed);
  } else {
    dns::bump(counter);
  }
}

uint64_t Acl::allowed() const {
  uint64_t sum = 0;
  for (const auto& slot : slots_) sum += slot->allowed.load(std::memory_order_relaxed);
  return sum;
}

uint64_t Acl::decided(Action action, std::string_view zone) const {
  auto it = std::find(zoneLabels_.begin(), zoneLabels_.end(), zone);
  if (it == zoneLabels_.end() || action == Action::Allow) return 0;
  const size_t index = counterIndex(action, static_cast<uint32_t>(it - zoneLabels_.begin()));
  uint64_t sum = 0;
  for (const auto& slot : slots_) sum += slot->decided[index].load(std::memory_order_relaxed);
  return sum;
}

void Acl::collect(std::vector<MetricSample>& out) const {
  struct Family {
    Action action;
    std::string_view name;
    std::string_view help;
  };
  static constexpr Family kFamilies[] = {
      {Action::Block, "coredns_acl_blocked_requests_total",
       "Queries an acl rule answered REFUSED (extended DNS error Blocked)."},
      {Action::Filter, "coredns_acl_filtered_requests_total",
       "Queries an acl rule answered with an empty NOERROR (extended DNS error Filtered)."},
      {Action::Drop, "coredns_acl_dropped_requests_total",
       "Queries an acl rule dropped without a reply."},
  };
  // As CoreDNS (a Prometheus CounterVec): a series exists once it was counted, and its labels
  // print in name order.
  for (const Family& family : kFamilies) {
    for (const std::string& zone : zoneLabels_) {
      const uint64_t n = decided(family.action, zone);
      if (n == 0) continue;
      out.push_back({std::string(family.name), std::string(family.help), false,
                     {{"server", server_}, {"view", view_}, {"zone", zone}}, static_cast<double>(n)});
    }
  }
  if (const uint64_t n = allowed(); n != 0) {
    out.push_back({"coredns_acl_allowed_requests_total", "Queries the acl rules passed on to the next plugin.",
                   false, {{"server", server_}, {"view", view_}}, static_cast<double>(n)});
  }
}

conf::Result<HandlerPtr> setupAcl(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas, ctx.zones, ctx.warnings);
  if (!config) return config.error();
  auto handler = std::make_shared<Acl>(std::move(*config), ctx.loops.size(), serverLabel(ctx), ctx.view);
  registerMetricSource(std::weak_ptr<const MetricSource>(handler));
  return HandlerPtr(std::move(handler));
}

}  // namespace moat::plugins::acl
