#include "plugins/acl/qtype_set.hpp"

#include <algorithm>

namespace moat::plugins::acl {

void QtypeSet::add(uint16_t type) {
  if (type == 0) {
    everything_ = true;
  } else if (type < small_.size()) {
    small_.set(type);
  } else {
    large_.push_back(type);
  }
}

void QtypeSet::seal() {
  std::sort(large_.begin(), large_.end());
  large_.erase(std::unique(large_.begin(), large_.end()), large_.end());
  large_.shrink_to_fit();
}

bool QtypeSet::contains(uint16_t type) const {
  if (everything_) return true;
  if (type < small_.size()) return small_.test(type);
  return std::binary_search(large_.begin(), large_.end(), type);
}

}  // namespace moat::plugins::acl
