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
