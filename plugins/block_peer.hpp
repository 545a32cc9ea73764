// A handler that works with other handlers of its own server block (transfer sends the zones
// that file, auto and secondary serve, as CoreDNS's transfer finds its Transferers): the
// runtime hands it the block's whole chain once every handler is built, before the first
// query. Keep weak references only: the chain owns the peer, so a strong one would be a cycle.
#pragma once

#include <span>

#include "plugins/handler.hpp"

namespace moat::plugins {

class BlockPeer {
 public:
  virtual ~BlockPeer() = default;
  virtual void peersReady(std::span<const HandlerPtr> chain) = 0;
};

}  // namespace moat::plugins
