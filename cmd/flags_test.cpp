#include "cmd/flags.hpp"

#include <doctest/doctest.h>

using moat::app::parseFlags;

TEST_CASE("CoreDNS-style flags: -name value, -name=value, --name, booleans") {
  std::string error;
  auto f = parseFlags({"-conf", "/etc/Corefile", "-dns.port=1053", "--quiet", "-pidfile", "/run/m.pid"}, error);
  REQUIRE(f);
  CHECK(f->conf == "/etc/Corefile");
  CHECK(f->dnsPort == 1053);
  CHECK(f->quiet);
  CHECK(f->pidfile == "/run/m.pid");
  CHECK_FALSE(f->version);
  auto v = parseFlags({"-version=true", "-plugins=false"}, error);
  REQUIRE(v);
  CHECK(v->version);
  CHECK_FALSE(v->plugins);
}

TEST_CASE("flag errors say what is wrong, as Go's flag package does") {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"-nope"}, "flag provided but not defined: -nope"},
      {{"-conf"}, "flag needs an argument: -conf"},
      {{"-dns.port", "70000"}, "invalid value \"70000\" for flag -dns.port"},
      {{"-dns.port", "x"}, "invalid value \"x\" for flag -dns.port"},
      {{"serve"}, "unexpected argument 'serve'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    std::string error;
    CHECK_FALSE(parseFlags(c.args, error));
    CHECK(error == c.message);
  }
}

TEST_CASE("-h, -help and --help ask for help, as Go's flag package does, help wins over what follows") {
  for (const char* spelling : {"-h", "-help", "--help", "--h"}) {
    CAPTURE(spelling);
    std::string error;
    auto f = parseFlags({spelling}, error);
    REQUIRE(f);
    CHECK(f->help);
  }
  std::string error;
  auto f = parseFlags({"-conf", "x", "-h", "-bogus"}, error);
  REQUIRE(f);
  CHECK(f->help);
  CHECK_FALSE(parseFlags({"-bogus", "-h"}, error));  // the first bad flag still stops the parse
}

TEST_CASE("the help shows every flag of the table the parser follows, and each one parses") {
  const std::string help = moat::app::usage();
  for (const moat::app::FlagDoc& flag : moat::app::serveFlags()) {
    // "-h, -help": each spelling on its own.
    std::string names(flag.names);
    for (size_t start = 0; start < names.size();) {
      size_t end = names.find(", ", start);
      if (end == std::string::npos) end = names.size();
      const std::string name = names.substr(start, end - start);
      CAPTURE(name);
      CHECK(help.find("  " + std::string(flag.names)) != std::string::npos);
      std::vector<std::string> args{name};
      if (!flag.value.empty()) args.push_back(flag.value == "N" ? "53" : "x");
      std::string error;
      CHECK_MESSAGE(parseFlags(args, error), error);
      start = end + 2;
    }
  }
  // The subcommands are named too.
  CHECK(help.find("moat lint [") != std::string::npos);
  CHECK(help.find("moat explain [") != std::string::npos);
}
