#include "plugins/hosts/config.hpp"

#include <doctest/doctest.h>

#include "conf/parser.hpp"
#include "dns/name.hpp"
#include "plugins/hosts/test_support.hpp"

namespace moat::plugins::hosts {
namespace {

using testing::directive;
using testing::Setup;
using namespace std::chrono_literals;

bool falls(const Fall& fall, std::string_view name) {
  auto wire = dns::nameFromText(name);
  REQUIRE(wire.has_value());
  return fall.through(*wire);
}

TEST_CASE("parseHosts: defaults") {
  Setup s(directive("hosts"), {"example.org.", "example.net."});
  auto cfg = parseHosts(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->path == "/etc/hosts");
  CHECK(cfg->zones == std::vector<std::string>{"example.org.", "example.net."});
  CHECK(cfg->ttl == 3600);
  CHECK(cfg->reverse);
  CHECK(cfg->reload == 5s);
  CHECK_FALSE(cfg->fall.enabled());
  CHECK_FALSE(cfg->fallthroughUnsupported);
  CHECK(cfg->inlineLines.empty());
  CHECK(s.warnings.empty());  // parsing never looks at the file
}

TEST_CASE("parseHosts: file and zones from the arguments") {
  SUBCASE("relative file joins the Corefile's directory") {
    Setup s(directive("hosts example.hosts"), {"."}, "/etc/moat");
    auto cfg = parseHosts(s.ctx);
    REQUIRE(cfg.ok());
    CHECK(cfg->path == "/etc/moat/example.hosts");
    CHECK(cfg->zones == std::vector<std::string>{"."});
  }
  SUBCASE("absolute file stays; zones replace the block's and are normalised") {
    Setup s(directive("hosts /srv/h Example.ORG 10.0.0.0/8"), {"."}, "/etc/moat");
    auto cfg = parseHosts(s.ctx);
    REQUIRE(cfg.ok());
    CHECK(cfg->path == "/srv/h");
    CHECK(cfg->zones == std::vector<std::string>{"example.org.", "10.in-addr.arpa."});
  }
  SUBCASE("no base directory: relative stays relative") {
    Setup s(directive("hosts example.hosts"));
    auto cfg = parseHosts(s.ctx);
    REQUIRE(cfg.ok());
    CHECK(cfg->path == "example.hosts");
  }
}

TEST_CASE("parseHosts: options") {
  Setup s(directive("hosts", {"ttl 300", "no_reverse", "reload 50ms", "fallthrough example.org",
                              "fallthrough_unsupported"}));
  auto cfg = parseHosts(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->ttl == 300);
  CHECK_FALSE(cfg->reverse);
  CHECK(cfg->reload == 50ms);
  CHECK(cfg->fall.enabled());
  CHECK(falls(cfg->fall, "a.example.org."));
  CHECK_FALSE(falls(cfg->fall, "a.example.net."));
  CHECK(cfg->fallthroughUnsupported);
}

TEST_CASE("parseHosts: reload 0 disables, ttl bounds inclusive, bare fallthrough covers all") {
  Setup s(directive("hosts", {"reload 0", "ttl 65535", "fallthrough"}));
  auto cfg = parseHosts(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->reload == 0s);
  CHECK(cfg->ttl == 65535);
  CHECK(cfg->fall.all());
  CHECK(falls(cfg->fall, "anything.at.all."));
}

TEST_CASE("parseHosts: inline entries until fallthrough") {
  Setup s(directive("hosts", {"10.0.0.1 a.example.org b.example.org", "ttl 60", "::1 c.example.org",
                              "fallthrough"}));
  auto cfg = parseHosts(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->inlineLines ==
        std::vector<std::string>{"10.0.0.1 a.example.org b.example.org", "::1 c.example.org"});
  CHECK(cfg->ttl == 60);
}

TEST_CASE("parseHosts: rejected configurations name the place") {
  struct Case {
    conf::Directive d;
    uint32_t line, col;
    std::string contains;
  };
  const Case cases[] = {
      {directive("hosts", {"fallthrough", "10.0.0.1 late.example.org"}), 4, 1,
       "unknown option '10.0.0.1'"},
      {directive("hosts", {"fallthrough", "tll 5"}), 4, 1, "did you mean 'ttl'"},
      {directive("hosts", {"ttl 0"}), 3, 5, "ttl must be an integer from 1 to 65535"},
      {directive("hosts", {"ttl 65536"}), 3, 5, "ttl"},
      {directive("hosts", {"ttl abc"}), 3, 5, "ttl"},
      {directive("hosts", {"ttl"}), 3, 1, "'ttl' takes exactly 1 argument"},
      {directive("hosts", {"ttl 1 2"}), 3, 7, "takes exactly 1 argument"},
      {directive("hosts", {"reload -1s"}), 3, 8, "negative"},
      {directive("hosts", {"reload 5"}), 3, 8, "duration"},
      {directive("hosts", {"reload"}), 3, 1, "'reload' takes exactly 1 argument"},
      {directive("hosts", {"no_reverse yes"}), 3, 12, "takes no arguments"},
      {directive("hosts", {"fallthrough_unsupported"}), 3, 1, "requires fallthrough"},
      {directive("hosts", {"fallthrough", "fallthrough_unsupported x"}), 4, 25,
       "takes no arguments"},
      {directive("hosts", {"fallthrough bad..zone"}), 3, 13, ""},
      {directive("hosts /etc/hosts bad..zone"), 2, 18, ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.contains);
    Setup s(c.d);
    auto cfg = parseHosts(s.ctx);
    REQUIRE_FALSE(cfg.ok());
    CAPTURE(cfg.error().str());
    CHECK(cfg.error().pos.line == c.line);
    CHECK(cfg.error().pos.col == c.col);
    CHECK(cfg.error().message.find(c.contains) != std::string::npos);
  }
}

TEST_CASE("parseHosts: fallthrough_unsupported may come before fallthrough") {
  Setup s(directive("hosts", {"fallthrough_unsupported", "fallthrough"}));
  auto cfg = parseHosts(s.ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->fallthroughUnsupported);
}

TEST_CASE("parseHosts: from Corefile text") {
  const char* corefile =
      "example.org {\n"
      "    hosts extra.hosts example.org {\n"
      "        10.0.0.1 \"quoted.example.org\"  spaced.example.org # comment\n"
      "        ttl 30\n"
      "        fallthrough\n"
      "        10.0.0.2 late.example.org\n"
      "    }\n"
      "}\n";
  auto parsed = conf::parseCorefile(corefile, "/etc/moat/Corefile");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().str()));
  const conf::Directive& d = parsed->blocks.at(0).directives.at(0);
  SetupContext ctx;
  ctx.zones = {"example.org."};
  ctx.stanzas = {&d};
  ctx.baseDir = "/etc/moat";
  auto cfg = parseHosts(ctx);
  REQUIRE_FALSE(cfg.ok());  // an entry after fallthrough is an unknown option
  CHECK(cfg.error().str() == "/etc/moat/Corefile:6:9: hosts: unknown option '10.0.0.2'");

  conf::Directive trimmed = d;
  trimmed.block.pop_back();
  ctx.stanzas = {&trimmed};
  cfg = parseHosts(ctx);
  REQUIRE(cfg.ok());
  CHECK(cfg->path == "/etc/moat/extra.hosts");
  CHECK(cfg->inlineLines ==
        std::vector<std::string>{"10.0.0.1 quoted.example.org spaced.example.org"});
  CHECK(cfg->ttl == 30);
  CHECK(cfg->fall.all());
}

TEST_CASE("parseHosts: a second stanza is an error at the second one") {
  Setup s(directive("hosts"));
  conf::Directive second = directive("hosts other");
  second.name.pos.line = 9;
  s.ctx.stanzas.push_back(&second);
  auto cfg = parseHosts(s.ctx);
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.error().pos.line == 9);
}

}  // namespace
}  // namespace moat::plugins::hosts
