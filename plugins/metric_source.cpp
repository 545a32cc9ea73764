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

}  // namespace

void registerMetricSource(std::weak_ptr<const MetricSource> source) {
  Sources& s = sources();
  std::lock_guard lock(s.mu);
  s.list.push_back(std::move(source));
}

std::vector<MetricSample> collectMetricSources() {
  std::vector<std::shared_ptr<const MetricSource>> live;
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
  // Two sources with the same series (an old and a new handler during a reload) add up.
  std::map<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>, size_t> index;
  std::vector<MetricSample> out;
  for (MetricSample& s : raw) {
    auto [it, fresh] = index.try_emplace({s.family, s.labels}, out.size());
    if (fresh) {
      out.push_back(std::move(s));
    } else {
      out[it->second].value += s.value;
    }
  }
  return out;
}

}  // namespace moat::plugins
