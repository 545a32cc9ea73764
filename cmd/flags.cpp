#include "cmd/flags.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace moat::app {

namespace {

constexpr std::array<FlagDoc, 7> kServeFlags = {{
    {"-conf", "FILE", "Corefile to load (default: ./Corefile, else the shipped conf/Corefile)"},
    {"-dns.port", "N", "port for server blocks whose key names none (default 53)"},
    {"-quiet", "", "no start-up banner"},
    {"-version", "", "print the version and exit"},
    {"-plugins", "", "list the plugins and exit"},
    {"-pidfile", "FILE", "write the process id to FILE"},
    {"-h, -help", "", "print this help and exit"},
}};

}  // namespace

std::span<const FlagDoc> serveFlags() { return kServeFlags; }

std::string flagLines(std::span<const FlagDoc> flags) {
  auto label = [&](const FlagDoc& f) {
    std::string out = "  " + std::string(f.names);
    if (!f.value.empty()) out += " " + std::string(f.value);
    return out;
  };
  size_t width = 0;
  for (const FlagDoc& f : flags) width = std::max(width, label(f).size());
  std::string out;
  for (const FlagDoc& f : flags) {
    std::string line = label(f);
    line.resize(width + 3, ' ');
    out += line + std::string(f.text) + "\n";
  }
  return out;
}

std::string usage() {
  return "Usage: moat [-conf FILE] [-dns.port N] [-quiet] [-version] [-plugins] [-pidfile FILE]\n"
         "       moat lint [--format text|json|sarif|github] [--fail-on error|warning] FILE...\n"
         "       moat explain [--format text|json|mermaid] [--from ADDR] -conf FILE NAME [TYPE]\n"
         "\n"
         "Serves DNS from a CoreDNS Corefile. Flags are CoreDNS's: -flag, --flag and -flag=value.\n"
         "\n" +
         flagLines(kServeFlags) +
         "\n"
         "'moat lint -h' and 'moat explain -h' describe the subcommands.\n";
}

std::optional<Flags> parseFlags(const std::vector<std::string>& args, std::string& error) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) == 0) arg.erase(0, 1);
    if (arg.empty() || arg[0] != '-') {
      error = "unexpected argument '" + args[i] + "'";
      return std::nullopt;
    }
    std::string name = arg.substr(1);
    std::optional<std::string> inlineValue;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inlineValue = name.substr(eq + 1);
      name.resize(eq);
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inlineValue) return inlineValue;
      if (i + 1 < args.size()) return args[++i];
      error = "flag needs an argument: -" + name;
      return std::nullopt;
    };
    auto boolean = [&](bool& target) {
      target = !inlineValue || *inlineValue == "true" || *inlineValue == "1";
      return true;
    };
    if (name == "conf") {
      auto v = value();
      if (!v) return std::nullopt;
      f.conf = *v;
    } else if (name == "dns.port") {
      auto v = value();
      if (!v) return std::nullopt;
      unsigned port = 0;
      auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), port);
      if (ec != std::errc() || p != v->data() + v->size() || port > 65535) {
        error = "invalid value \"" + *v + "\" for flag -dns.port";
        return std::nullopt;
      }
      f.dnsPort = static_cast<uint16_t>(port);
    } else if (name == "pidfile") {
      auto v = value();
      if (!v) return std::nullopt;
      f.pidfile = *v;
    } else if (name == "quiet") {
      boolean(f.quiet);
    } else if (name == "version") {
      boolean(f.version);
    } else if (name == "plugins") {
      boolean(f.plugins);
    } else if (name == "h" || name == "help") {
      // Go's flag package: help wins over everything else on the line, even a bad flag after it.
      f.help = true;
      return f;
    } else {
      error = "flag provided but not defined: -" + name;
      return std::nullopt;
    }
  }
  return f;
}

}  // namespace moat::app
