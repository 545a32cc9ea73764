// Where a large zone file can be cut in two so that two ldns readers, one per thread, each parse
// one part on their own. ldns reads a file as a stream with state (the $ORIGIN and $TTL in
// force, the previous owner for lines that start blank, open parentheses), so the cut must fall
// where none of that state is lost: at the start of a line that names its own owner, outside
// parentheses and quotes, with the directives in force there written out again before the
// second part. Files whose state cannot be carried that simply ($INCLUDE, a relative $ORIGIN,
// any other directive before the cut) are not cut: they load in one piece as before.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace moat::plugins::file {

struct ZoneSplit {
  size_t offset = 0;     // the second part starts here
  int line = 1;          // the 1-based line number at `offset`
  std::string preamble;  // the $ORIGIN and $TTL lines in force at `offset`, each ending in '\n'
  int preambleLines = 0;
};

// The first place at or after `near` where `text` can be cut, or none.
std::optional<ZoneSplit> findZoneSplit(std::string_view text, size_t near);

}  // namespace moat::plugins::file
