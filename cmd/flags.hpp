// CoreDNS's command line: Go-style single-dash flags (-conf FILE, -conf=FILE; --conf works too).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moat::app {

struct Flags {
  std::string conf;           // -conf; empty: ./Corefile, else the default conf/Corefile
  std::optional<uint16_t> dnsPort;  // -dns.port
  bool quiet = false;         // -quiet: no start-up banner
  bool version = false;       // -version
  bool plugins = false;       // -plugins
  std::string pidfile;        // -pidfile
  bool help = false;          // -h, -help: print usage and exit 0 (as Go's flag package)
};

// One flag as the help shows it. The parser and the help read the same table, so a flag
// cannot be added to one and forgotten in the other.
struct FlagDoc {
  std::string_view names;  // every spelling, as typed: "-conf", or "-h, -help"
  std::string_view value;  // the argument's placeholder ("FILE"), empty for a boolean
  std::string_view text;   // one line
};

std::span<const FlagDoc> serveFlags();

// Parses argv (without argv[0]). On error returns nullopt and sets `error`.
std::optional<Flags> parseFlags(const std::vector<std::string>& args, std::string& error);

// The help `moat -h` prints: the synopsis of every command, then every flag of the server.
std::string usage();

// "  -conf FILE      text\n" lines with the names padded to one column (lint and explain too).
std::string flagLines(std::span<const FlagDoc> flags);

}  // namespace moat::app
