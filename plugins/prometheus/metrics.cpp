#include "plugins/prometheus/metrics.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include "dns/counter.hpp"
#include "plugins/metric_source.hpp"

namespace moat::plugins::prometheus {

namespace pc = ::prometheus;

size_t typeIndex(uint16_t qtype) {
  switch (qtype) {
    case 1: return 0;    // A
    case 28: return 1;   // AAAA
    case 5: return 2;    // CNAME
    case 48: return 3;   // DNSKEY
    case 43: return 4;   // DS
    case 15: return 5;   // MX
    case 47: return 6;   // NSEC
    case 50: return 7;   // NSEC3
    case 2: return 8;    // NS
    case 12: return 9;   // PTR
    case 46: return 10;  // RRSIG
    case 6: return 11;   // SOA
    case 33: return 12;  // SRV
    case 16: return 13;  // TXT
    case 65: return 14;  // HTTPS
    case 64: return 15;  // SVCB
    case 251: return 16; // IXFR
    case 252: return 17; // AXFR
    case 255: return 18; // ANY
    default: return 19;  // other
  }
}

std::string_view rcodeName(unsigned rcode) {
  // miekg/dns RcodeToString for 0..11; 12..15 have no name there, so CoreDNS prints RCODEn.
  static constexpr std::array<std::string_view, kRcodes> kNames = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
      "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI", "RCODE12", "RCODE13", "RCODE14", "RCODE15"};
  return kNames[rcode & 0xF];
}

double durationBound(size_t i) { return 0.00025 * static_cast<double>(uint64_t{1} << i); }

namespace {

// "example.org." -> lowercased wire form. Zones are already normalised by the runtime.
std::vector<uint8_t> toWire(std::string_view zone) {
  std::vector<uint8_t> out;
  size_t start = 0;
  while (start < zone.size()) {
    size_t dot = zone.find('.', start);
    if (dot == std::string_view::npos) dot = zone.size();
    if (dot > start) {
      out.push_back(static_cast<uint8_t>(dot - start));
      for (size_t i = start; i < dot; ++i) {
        char c = zone[i];
        out.push_back(static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
      }
    }
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

size_t roundLines(size_t counters) { return (counters + 7) / 8; }

template <size_t N>
size_t bucketOf(const std::array<double, N>& bounds, uint64_t value) {
  auto it = std::lower_bound(bounds.begin(), bounds.end(), static_cast<double>(value));
  return static_cast<size_t>(it - bounds.begin());  // N = +Inf
}

size_t durationBucketOf(uint64_t ns) {
  // Bound i is 250 µs * 2^i; "le" semantics: the first bound >= the value.
  for (size_t i = 0; i < kDurationBuckets; ++i) {
    if (ns <= uint64_t{250'000} << i) return i;
  }
  return kDurationBuckets;
}

}  // namespace

BlockMetrics::BlockMetrics(BlockLabels labels, unsigned workers) : labels_(std::move(labels)) {
  if (labels_.zones.empty()) labels_.zones.push_back(".");
  for (const std::string& z : labels_.zones) zoneWire_.push_back(toWire(z));
  const size_t zones = labels_.zones.size();
  const size_t sizeSlots = kSizeBounds.size() + 1;
  size_t next = zones * 2 * 2 * kTypeNames.size();  // requests
  doBase_ = next;
  next += zones;
  durationBase_ = next;
  next += zones * (kDurationBuckets + 1);
  durationSumBase_ = next;
  next += zones;
  requestSizeBase_ = next;
  next += zones * 2 * sizeSlots;
  requestSizeSumBase_ = next;
  next += zones * 2;
  responseSizeBase_ = next;
  next += zones * 2 * sizeSlots;
  responseSizeSumBase_ = next;
  next += zones * 2;
  responsesBase_ = next;
  next += zones * kRcodes * (labels_.plugins.size() + 1);
  total_ = next;
  workers_.resize(std::max(1u, workers));
  for (auto& w : workers_) w = std::make_unique<Line[]>(roundLines(total_));
}

size_t BlockMetrics::requestsAt(size_t zone, bool tcp, bool ipv6, size_t type) const {
  return ((zone * 2 + tcp) * 2 + ipv6) * kTypeNames.size() + type;
}

size_t BlockMetrics::zoneIndex(std::span<const uint8_t> name) const {
  // Walk the name's label starts from the left: the first suffix equal to a zone is the longest.
  for (size_t off = 0; off < name.size();) {
    const size_t rest = name.size() - off;
    for (size_t z = 0; z < zoneWire_.size(); ++z) {
      if (zoneWire_[z].size() == rest && std::memcmp(zoneWire_[z].data(), name.data() + off, rest) == 0) return z;
    }
    if (name[off] == 0) break;
    off += name[off] + 1u;
  }
  return 0;
}

size_t BlockMetrics::pluginIndex(std::string_view name) const {
  for (size_t i = 0; i < labels_.plugins.size(); ++i) {
    if (labels_.plugins[i] == name) return i + 1;
  }
  return 0;
}

void BlockMetrics::record(unsigned worker, const Observation& o) {
  if (worker >= workers_.size()) return;  // cannot happen: one slot per event loop
  const size_t z = o.zone < labels_.zones.size() ? o.zone : 0;
  dns::bump(at(worker, requestsAt(z, o.tcp, o.ipv6, o.type < kTypeNames.size() ? o.type : kTypeNames.size() - 1)));
  if (o.dnssecOk) dns::bump(at(worker, doAt(z)));
  dns::bump(at(worker, durationAt(z, durationBucketOf(o.durationNs))));
  dns::bump(at(worker, durationSumAt(z)), o.durationNs);
  dns::bump(at(worker, requestSizeAt(z, o.tcp, bucketOf(kSizeBounds, o.requestSize))));
  dns::bump(at(worker, requestSizeSumAt(z, o.tcp)), o.requestSize);
  dns::bump(at(worker, responseSizeAt(z, o.tcp, bucketOf(kSizeBounds, o.responseSize))));
  dns::bump(at(worker, responseSizeSumAt(z, o.tcp)), o.responseSize);
  const size_t p = o.plugin <= labels_.plugins.size() ? o.plugin : 0;
  dns::bump(at(worker, responsesAt(z, o.rcode & 0xF, p)));
}

uint64_t BlockMetrics::sum(size_t index) const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w[index / 8].c[index % 8].load(std::memory_order_relaxed);
  return n;
}

std::shared_ptr<BlockMetrics> Collector::block(const BlockLabels& labels, unsigned workers) {
  std::lock_guard lock(mu_);
  for (const auto& b : blocks_) {
    const BlockLabels& l = b->labels();
    if (l.server == labels.server && l.zones == labels.zones && l.plugins == labels.plugins &&
        l.view == labels.view && b->workers() == std::max(1u, workers)) {
      b->markSetup(++setups_);
      return b;
    }
  }
  blocks_.push_back(std::make_shared<BlockMetrics>(labels, workers));
  blocks_.back()->markSetup(++setups_);
  return blocks_.back();
}

namespace {

using LabelValues = std::vector<std::string>;  // values in the family's (sorted) name order

struct Hist {
  std::vector<uint64_t> counts;  // per bucket, not cumulative; the last is +Inf
  double sum = 0;
};

// Series of one family keyed by label values, so blocks with equal labels add up (a reload
// that changed a block leaves its old counters, which then continue the same series).
class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> labelNames, pc::MetricType type)
      : name_(std::move(name)), help_(std::move(help)), names_(std::move(labelNames)), type_(type) {}
  void add(LabelValues values, double v) { series_[std::move(values)] += v; }
  void set(LabelValues values, double v) { series_[std::move(values)] = v; }
  pc::MetricFamily build() const {
    pc::MetricFamily f{name_, help_, type_, {}};
    for (const auto& [values, v] : series_) {
      pc::ClientMetric m;
      for (size_t i = 0; i < names_.size(); ++i) m.label.push_back({names_[i], values[i]});
      if (type_ == pc::MetricType::Gauge) {
        m.gauge.value = v;
      } else {
        m.counter.value = v;
      }
      f.metric.push_back(std::move(m));
    }
    return f;
  }
  bool empty() const { return series_.empty(); }

 private:
  std::string name_, help_;
  std::vector<std::string> names_;
  pc::MetricType type_;
  std::map<LabelValues, double> series_;
};

class HistogramFamily {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> labelNames, std::vector<double> bounds)
      : name_(std::move(name)), help_(std::move(help)), names_(std::move(labelNames)), bounds_(std::move(bounds)) {}
  void add(LabelValues values, const Hist& h) {
    Hist& into = series_[std::move(values)];
    if (into.counts.empty()) into.counts.assign(bounds_.size() + 1, 0);
    for (size_t i = 0; i < h.counts.size() && i < into.counts.size(); ++i) into.counts[i] += h.counts[i];
    into.sum += h.sum;
  }
  pc::MetricFamily build() const {
    pc::MetricFamily f{name_, help_, pc::MetricType::Histogram, {}};
    for (const auto& [values, h] : series_) {
      pc::ClientMetric m;
      for (size_t i = 0; i < names_.size(); ++i) m.label.push_back({names_[i], values[i]});
      uint64_t cumulative = 0;
      for (size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += h.counts[i];
        m.histogram.bucket.push_back({cumulative, bounds_[i]});
      }
      cumulative += h.counts[bounds_.size()];
      // The serializer adds le="+Inf" with sample_count itself.
      m.histogram.sample_count = cumulative;
      m.histogram.sample_sum = h.sum;
      f.metric.push_back(std::move(m));
    }
    return f;
  }

 private:
  std::string name_, help_;
  std::vector<std::string> names_;
  std::vector<double> bounds_;
  std::map<LabelValues, Hist> series_;
};

std::vector<double> durationBounds() {
  std::vector<double> b;
  for (size_t i = 0; i < kDurationBuckets; ++i) b.push_back(durationBound(i));
  return b;
}

}  // namespace

std::vector<pc::MetricFamily> Collector::Collect() const {
  std::vector<std::shared_ptr<BlockMetrics>> blocks;
  {
    std::lock_guard lock(mu_);
    blocks = blocks_;
  }
  // Label names in Go client order (sorted), which is what CoreDNS's output shows.
  CounterFamily requests("coredns_dns_requests_total", "DNS requests per server, zone, protocol, address family and query type.",
                         {"family", "proto", "server", "type", "view", "zone"}, pc::MetricType::Counter);
  CounterFamily doRequests("coredns_dns_do_requests_total", "DNS requests with the EDNS DO bit set.",
                           {"server", "view", "zone"}, pc::MetricType::Counter);
  HistogramFamily duration("coredns_dns_request_duration_seconds",
                           "Time from receiving a request to its reply, in seconds.",
                           {"server", "view", "zone"}, durationBounds());
  const std::vector<double> sizeBounds(kSizeBounds.begin(), kSizeBounds.end());
  HistogramFamily requestSize("coredns_dns_request_size_bytes", "Request message size in bytes.",
                              {"proto", "server", "view", "zone"}, sizeBounds);
  HistogramFamily responseSize("coredns_dns_response_size_bytes", "Reply message size in bytes, as sent.",
                               {"proto", "server", "view", "zone"}, sizeBounds);
  CounterFamily responses("coredns_dns_responses_total", "Replies by rcode and by the plugin that wrote them.",
                          {"plugin", "rcode", "server", "view", "zone"}, pc::MetricType::Counter);
  CounterFamily enabled("coredns_plugin_enabled", "1 for each plugin loaded in a server block.",
                        {"name", "server", "view", "zone"}, pc::MetricType::Gauge);

  static constexpr std::array<std::string_view, 2> kProto = {"udp", "tcp"};
  static constexpr std::array<std::string_view, 2> kFamily = {"1", "2"};
  // plugin_enabled comes from the newest setup of each server+zone only: an older block that
  // a reload replaced still counts its past queries but no longer says what is loaded.
  std::map<std::pair<std::string, std::string>, const BlockMetrics*> newest;
  for (const auto& b : blocks) {
    for (const std::string& zone : b->labels().zones) {
      const BlockMetrics*& n = newest[{b->labels().server, zone}];
      if (n == nullptr || n->lastSetup() < b->lastSetup()) n = b.get();
    }
  }
  for (const auto& b : blocks) {
    const BlockLabels& l = b->labels();
    for (size_t z = 0; z < l.zones.size(); ++z) {
      const std::string& zone = l.zones[z];
      if (newest[{l.server, zone}] == b.get()) {
        for (const std::string& name : l.plugins) enabled.set({name, l.server, l.view, zone}, 1);
      }
      for (int tcp = 0; tcp < 2; ++tcp) {
        for (int v6 = 0; v6 < 2; ++v6) {
          for (size_t t = 0; t < kTypeNames.size(); ++t) {
            if (uint64_t n = b->sum(b->requestsAt(z, tcp, v6, t))) {
              requests.add({std::string(kFamily[v6]), std::string(kProto[tcp]), l.server, std::string(kTypeNames[t]),
                            l.view, zone},
                           static_cast<double>(n));
            }
          }
        }
      }
      if (uint64_t n = b->sum(b->doAt(z))) doRequests.add({l.server, l.view, zone}, static_cast<double>(n));

      Hist d;
      uint64_t count = 0;
      for (size_t i = 0; i <= kDurationBuckets; ++i) count += d.counts.emplace_back(b->sum(b->durationAt(z, i)));
      d.sum = static_cast<double>(b->sum(b->durationSumAt(z))) / 1e9;
      if (count != 0) duration.add({l.server, l.view, zone}, d);

      for (int tcp = 0; tcp < 2; ++tcp) {
        Hist req, resp;
        uint64_t reqCount = 0, respCount = 0;
        for (size_t i = 0; i <= kSizeBounds.size(); ++i) {
          reqCount += req.counts.emplace_back(b->sum(b->requestSizeAt(z, tcp, i)));
          respCount += resp.counts.emplace_back(b->sum(b->responseSizeAt(z, tcp, i)));
        }
        req.sum = static_cast<double>(b->sum(b->requestSizeSumAt(z, tcp)));
        resp.sum = static_cast<double>(b->sum(b->responseSizeSumAt(z, tcp)));
        if (reqCount != 0) requestSize.add({std::string(kProto[tcp]), l.server, l.view, zone}, req);
        if (respCount != 0) responseSize.add({std::string(kProto[tcp]), l.server, l.view, zone}, resp);
      }

      for (unsigned rc = 0; rc < kRcodes; ++rc) {
        for (size_t p = 0; p <= l.plugins.size(); ++p) {
          if (uint64_t n = b->sum(b->responsesAt(z, rc, p))) {
            responses.add({p == 0 ? std::string() : l.plugins[p - 1], std::string(rcodeName(rc)), l.server, l.view, zone},
                          static_cast<double>(n));
          }
        }
      }
    }
  }
  std::vector<pc::MetricFamily> out;
  for (const CounterFamily* f : {&doRequests, &requests, &responses, &enabled}) {
    if (!f->empty()) out.push_back(f->build());
  }
  for (const HistogramFamily* f : {&duration, &requestSize, &responseSize}) out.push_back(f->build());
  // Families in name order, as the Go client gathers them.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& f) { return f.metric.empty(); }), out.end());
  return out;
}

Metrics& Metrics::instance() {
  // Created on first setup and never destroyed: HTTP and worker threads may still touch it
  // while the process exits.
  static Metrics* metrics = new Metrics();
  return *metrics;
}

Metrics::Metrics() : registry_(std::make_shared<pc::Registry>()), collector_(std::make_shared<Collector>()) {
  // Moat's version; revision and goversion have no meaning for a C++ build (README.md).
  pc::BuildGauge()
      .Name("coredns_build_info")
      .Help("Always 1; the labels say which build is running.")
      .Register(*registry_)
      .Add({{"version", "0.1.0"}, {"revision", ""}, {"goversion", ""}})
      .Set(1);
}

namespace {

// Families CoreDNS always exposes, at 0 until something counts: its plugins register them with
// the default registry when the binary starts, configured or not. Moat has no panics (no
// recover), so coredns_panics_total stays 0.
struct Baseline {
  std::string_view family;
  std::string_view help;
  bool gauge;
};
constexpr std::array<Baseline, 5> kBaseline = {{
    {"coredns_panics_total", "Panics recovered while serving; Moat has none to recover.", false},
    {"coredns_forward_healthcheck_broken_total",
     "Queries for which every upstream of a forward stanza was marked down.", false},
    {"coredns_forward_max_concurrent_rejects_total",
     "Queries refused because a forward stanza had max_concurrent queries in flight.", false},
    {"coredns_hosts_reload_timestamp_seconds",
     "Modification time of the hosts file read most recently (newest of all hosts files).", true},
    {"coredns_reload_failed_total", "Corefile reloads that failed (the running configuration stayed).",
     false},
}};

pc::ClientMetric toClientMetric(const MetricSample& s) {
  pc::ClientMetric m;
  for (const auto& [name, value] : s.labels) m.label.push_back({name, value});
  if (s.histogram()) {
    for (size_t i = 0; i < s.bounds.size() && i < s.cumulative.size(); ++i) {
      m.histogram.bucket.push_back({s.cumulative[i], s.bounds[i]});
    }
    // The serializer writes le="+Inf" from sample_count itself.
    m.histogram.sample_count = s.count;
    m.histogram.sample_sum = s.value;
  } else if (s.gauge) {
    m.gauge.value = s.value;
  } else {
    m.counter.value = s.value;
  }
  return m;
}

pc::MetricType typeOf(const MetricSample& s) {
  if (s.histogram()) return pc::MetricType::Histogram;
  return s.gauge ? pc::MetricType::Gauge : pc::MetricType::Counter;
}

}  // namespace

std::string Metrics::scrape() const {
  // prometheus-cpp 1.0.1's Registry cannot hold a custom Collectable, so both are gathered here.
  std::vector<pc::MetricFamily> families = registry_->Collect();
  std::vector<pc::MetricFamily> blocks = collector_->Collect();
  families.insert(families.end(), std::make_move_iterator(blocks.begin()), std::make_move_iterator(blocks.end()));
  // Other plugins' and the process's series, one family per name.
  std::vector<MetricSample> samples = collectMetricSources();
  std::map<std::string, size_t, std::less<>> byName;
  for (const MetricSample& s : samples) byName.try_emplace(s.family, 0);
  for (const Baseline& b : kBaseline) {
    if (byName.count(b.family) == 0) samples.push_back({std::string(b.family), std::string(b.help), b.gauge, {}, 0});
  }
  byName.clear();
  const size_t first = families.size();
  for (const MetricSample& s : samples) {
    auto [it, fresh] = byName.try_emplace(s.family, families.size());
    if (fresh) families.push_back({s.family, s.help, typeOf(s), {}});
    families[it->second].metric.push_back(toClientMetric(s));
  }
  // Series in label order within a family, as the Go client prints them.
  for (size_t f = first; f < families.size(); ++f) {
    std::sort(families[f].metric.begin(), families[f].metric.end(), [](const auto& a, const auto& b) {
      return std::lexicographical_compare(a.label.begin(), a.label.end(), b.label.begin(), b.label.end(),
                                          [](const auto& x, const auto& y) {
                                            return std::tie(x.name, x.value) < std::tie(y.name, y.value);
                                          });
    });
  }
  std::sort(families.begin(), families.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return pc::TextSerializer().Serialize(families);
}

}  // namespace moat::plugins::prometheus
