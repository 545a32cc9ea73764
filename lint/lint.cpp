// Placeholder until the lint helper lands its rules.
#include "lint/lint.hpp"

#include <ostream>

namespace moat::lint {

int runLint(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  err << "moat lint: not built yet\n";
  return 2;
}

}  // namespace moat::lint
