// `moat explain -conf FILE NAME [TYPE]`: the path one query takes through the configuration,
// offline. The Corefile is built by the server's own code with no event loops (so nothing can
// be sent), the query runs through the same chain runner, and each handler's decision is printed.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace moat::app {

int runExplain(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace moat::app
