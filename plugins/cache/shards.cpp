#include "plugins/cache/shards.hpp"

#include <algorithm>
#include <mutex>

namespace moat::plugins::cache {

namespace {

struct Live {
  struct Cache {
    std::string identity;
    std::vector<std::weak_ptr<Shard>> shards;
  };
  std::mutex mu;
  std::vector<Cache> caches;
};

Live& live() {
  static Live* l = new Live();  // never destroyed: handlers may be torn down at exit
  return *l;
}

bool expired(const Live::Cache& c) {
  return std::any_of(c.shards.begin(), c.shards.end(), [](const auto& w) { return w.expired(); });
}

}  // namespace

std::vector<ShardPtr> adoptShards(const std::string& identity, size_t workers,
                                  const std::function<ShardPtr(size_t)>& make) {
  Live& l = live();
  std::lock_guard lock(l.mu);
  std::erase_if(l.caches, expired);
  std::vector<ShardPtr> out;
  for (const Live::Cache& c : l.caches) {
    if (c.identity != identity || c.shards.size() != workers) continue;
    for (const auto& w : c.shards) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    if (out.size() == workers) return out;
    out.clear();  // one expired between the sweep and here: build new ones
  }
  Live::Cache entry{identity, {}};
  for (size_t i = 0; i < workers; ++i) {
    out.push_back(make(i));
    entry.shards.push_back(out.back());
  }
  // The newest cache of an identity is the one a later reload should adopt.
  std::erase_if(l.caches, [&](const Live::Cache& c) { return c.identity == identity; });
  l.caches.push_back(std::move(entry));
  return out;
}

}  // namespace moat::plugins::cache
