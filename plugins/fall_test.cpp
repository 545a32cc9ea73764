#include "plugins/fall.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/name.hpp"

namespace moat::plugins {
namespace {

conf::Directive option(std::vector<std::string> args) {
  conf::Directive d;
  d.name = conf::Token{"fallthrough", conf::Pos{"Corefile", 4, 9}, false};
  uint32_t col = 21;
  for (auto& a : args) {
    d.args.push_back(conf::Token{a, conf::Pos{"Corefile", 4, col}, false});
    col += static_cast<uint32_t>(a.size()) + 1;
  }
  return d;
}

bool through(const Fall& fall, std::string_view name) {
  auto wire = dns::nameFromText(name);
  REQUIRE(wire.has_value());
  return fall.through(*wire);
}

TEST_CASE("Fall: absent means never") {
  Fall fall;
  CHECK_FALSE(fall.enabled());
  CHECK_FALSE(through(fall, "example.org."));
  CHECK_FALSE(through(fall, "."));
}

TEST_CASE("Fall: no zones means every name") {
  auto fall = Fall::parse(option({}));
  REQUIRE(fall.ok());
  CHECK(fall->enabled());
  CHECK(fall->all());
  CHECK(through(*fall, "."));
  CHECK(through(*fall, "a.b.example.org."));

  Fall everything = Fall::everything();
  CHECK(everything.enabled());
  CHECK(everything.all());
  CHECK(through(everything, "anything."));
}

TEST_CASE("Fall: zones limit it to names at or below them") {
  auto fall = Fall::parse(option({"Example.ORG", "in-addr.arpa."}));
  REQUIRE(fall.ok());
  CHECK(fall->enabled());
  CHECK_FALSE(fall->all());
  CHECK(fall->zones().size() == 2);
  CHECK(through(*fall, "example.org."));
  CHECK(through(*fall, "www.example.org."));
  CHECK(through(*fall, "1.0.0.10.in-addr.arpa."));
  CHECK_FALSE(through(*fall, "example.net."));
  CHECK_FALSE(through(*fall, "org."));
  CHECK_FALSE(through(*fall, "badexample.org."));
}

TEST_CASE("Fall: CIDR zones become reverse zones, the root zone means all") {
  auto cidr = Fall::parse(option({"10.0.0.0/8", "192.168.0.0/23"}));
  REQUIRE(cidr.ok());
  CHECK(through(*cidr, "1.2.3.10.in-addr.arpa."));
  CHECK(through(*cidr, "9.1.168.192.in-addr.arpa."));
  CHECK_FALSE(through(*cidr, "9.2.168.192.in-addr.arpa."));
  CHECK_FALSE(through(*cidr, "1.2.3.11.in-addr.arpa."));

  auto root = Fall::parse(option({"."}));
  REQUIRE(root.ok());
  CHECK(root->all());
  CHECK(through(*root, "anything.at.all."));
}

TEST_CASE("Fall: a zone that is not a name is a positioned error") {
  auto fall = Fall::parse(option({"example.org", "bad..zone"}));
  REQUIRE_FALSE(fall.ok());
  CHECK(fall.error().pos.line == 4);
  CHECK(fall.error().pos.col == 33);
}

}  // namespace
}  // namespace moat::plugins
