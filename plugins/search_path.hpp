// A client's search path as a plugin other than autopath knows it (CoreDNS's AutoPather: the
// kubernetes plugin derives it from the client pod's namespace). autopath finds the source in
// its own server block (BlockPeer) and asks it once per query; the path is written into a
// fixed buffer the caller owns, so asking allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "dns/query.hpp"

namespace moat::plugins {

// Lowercased wire names, in the order a stub resolver appends them. The root name (a single
// zero byte) stands for the bare name, tried last.
class SearchPath {
 public:
  // Kubernetes caps a pod's search list at 32 domains and 2048 characters (kubelet's
  // MaxDNSSearchPaths); the pod's own three and the bare name come on top.
  static constexpr size_t kMaxDomains = 40;
  static constexpr size_t kMaxBytes = 4096;

  // False (and nothing added) when it is full or `name` is not a wire name.
  bool add(std::span<const uint8_t> name) {
    if (count_ == kMaxDomains || name.empty() || name.size() > dns::kMaxNameLen ||
        used_ + name.size() > kMaxBytes) {
      return false;
    }
    std::copy(name.begin(), name.end(), bytes_.begin() + static_cast<long>(used_));
    start_[count_] = static_cast<uint16_t>(used_);
    length_[count_++] = static_cast<uint16_t>(name.size());
    used_ += name.size();
    return true;
  }
  void clear() { count_ = used_ = 0; }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::span<const uint8_t> at(size_t i) const { return {bytes_.data() + start_[i], length_[i]}; }

 private:
  std::array<uint8_t, kMaxBytes> bytes_{};
  std::array<uint16_t, kMaxDomains> start_{}, length_{};
  size_t count_ = 0, used_ = 0;
};

class SearchPathSource {
 public:
  virtual ~SearchPathSource() = default;
  // The directive name autopath's @NAME refers to ("kubernetes").
  virtual std::string_view searchPathName() const = 0;
  // Fills `out` with the search path of q's client for q's question, bare name excluded; false
  // when this query gets none (not in the source's zones, client unknown): not autopathed.
  virtual bool searchPath(const dns::Query& q, SearchPath& out) = 0;
};

}  // namespace moat::plugins
