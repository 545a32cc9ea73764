#include "plugins/metric_source.hpp"

#include <algorithm>
#include <map>
#include <mutex>

namespace moat::plugins {

namespace {

struct Sources {
  std::mutex mu;
  std::vector<std::weak_ptr<const MetricSource>> list;
};

Sources& sources() {
  static Sources* s = new Sources();  // never destroyed: scrapes may run while the process exits
  return *s;
}

void merge(MetricSample& into, const MetricSample& s) {
  if (into.gauge) {
    into.value = into.keepMax ? std::max(into.value, s.value) : s.value;
    return;
  }
  into.value += s.value;
  if (!into.histogram()) return;
  into.count += s.count;
  if (into.bounds == s.bounds && into.cumulative.size() == s.cumulative.size()) {
    for (size_t i = 0; i < into.cumulative.size(); ++i) into.cumulative[i] += s.cumulative[i];
  }
}

}  // namespace

void registerMetricSource(std::weak_ptr<const MetricSource> source) {
  Sources& s = sources();
  std::lock_guard lock(s.mu);
  s.list.push_back(std::move(source));
}

std::vector<MetricSample> collectMetricSources() {
  std::vector<std::shared_ptr<const MetricSource>> live;  // in registration order
  {
    Sources& s = sources();
    std::lock_guard lock(s.mu);
    std::erase_if(s.list, [](const auto& w) { return w.expired(); });
    for (const auto& w : s.list) {
      if (auto p = w.lock()) live.push_back(std::move(p));
    }
  }
  std::vector<MetricSample> raw;
  for (const auto& source : live) source->collect(raw);
  std::map<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>, size_t> index;
  std::vector<MetricSample> out;
  for (MetricSample& s : raw) {
    auto [it, fresh] = index.try_emplace({s.family, s.labels}, out.size());
    if (fresh) {
      out.push_back(std::move(s));
    } else {
      merge(out[it->second], s);
    }
  }
  return out;
}

}  // namespace moat::plugins
