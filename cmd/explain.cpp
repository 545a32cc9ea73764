#include "cmd/explain.hpp"

#include <ostream>

namespace moat::app {

int runExplain(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  err << "moat explain: not built yet\n";
  return 2;
}

}  // namespace moat::app
