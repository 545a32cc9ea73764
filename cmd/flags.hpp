// CoreDNS's command line: Go-style single-dash flags (-conf FILE, -conf=FILE; --conf works too).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moat::app {

struct Flags {
  std::string conf;           // -conf; empty: ./Corefile, else the default conf/Corefile
  std::optional<uint16_t> dnsPort;  // -dns.port
  bool quiet = false;         // -quiet: no start-up banner
  bool version = false;       // -version
  bool plugins = false;       // -plugins
  std::string pidfile;        // -pidfile
};

// Parses argv (without argv[0]). On error returns nullopt and sets `error`.
std::optional<Flags> parseFlags(const std::vector<std::string>& args, std::string& error);

std::string usage();

}  // namespace moat::app
