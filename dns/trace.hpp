// What `moat explain` sees of a query's path: each handler's outcome and, where a handler says
// why, its reason. Serving never sets one (Query::trace is null), so the data path pays one
// branch per handler.
#pragma once

#include <string>
#include <string_view>

namespace moat::dns {

class Trace {
 public:
  virtual ~Trace() = default;
  // A handler's reason for what it is about to decide ("no entry; fallthrough (all zones)").
  virtual void note(std::string_view handler, std::string text) = 0;
  // The runner's record of a handler's outcome: "answered", "next", "pending" or "drop".
  virtual void outcome(std::string_view handler, std::string_view what) = 0;
};

}  // namespace moat::dns
