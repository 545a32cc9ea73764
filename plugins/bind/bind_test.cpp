// `bind` as CoreDNS's: addresses and interface names (every address of the interface, IPv4 and
// IPv6, link-local ones with their zone), `except` per directive, directives adding up, and
// every mistake at its file:line:col. Resolution runs against a pretend host, then once against
// this one.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "plugins/bind/bind.hpp"
#include "tests/support/plugin_test_util.hpp"

namespace moat::plugins::bind {
namespace {

using Addresses = std::vector<std::string>;

const InterfaceTable kHost = {
    {"lo", {"127.0.0.1", "::1"}},
    {"eth0", {"192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1%eth0"}},
    {"ifb0", {}},  // a link without addresses
};

conf::Result<Addresses> resolveOn(std::string_view corefile, const InterfaceTable& host = kHost) {
  auto parsed = moat::testing::stanzasOf(corefile, "bind");
  auto stanzas = parseStanzas(parsed.stanzas);
  if (!stanzas) return stanzas.error();
  return resolve(*stanzas, host);
}

Addresses addressesOf(std::string_view corefile) {
  auto r = resolveOn(corefile);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().str()));
  return *r;
}

std::string errorOf(std::string_view corefile) {
  auto r = resolveOn(corefile);
  REQUIRE_FALSE(r.ok());
  return r.error().str();
}

TEST_CASE("addresses: as written, canonical, in order, duplicates once") {
  CHECK(addressesOf(". {\n  bind 127.0.0.1\n}\n") == Addresses{"127.0.0.1"});
  CHECK(addressesOf(". {\n  bind 127.0.0.1 ::1\n}\n") == Addresses{"127.0.0.1", "::1"});
  CHECK(addressesOf(". {\n  bind 127.0.0.1\n  bind ::1\n}\n") == Addresses{"127.0.0.1", "::1"});
  CHECK(addressesOf(". {\n  bind 0:0::1 127.0.0.1 ::1\n}\n") == Addresses{"::1", "127.0.0.1"});
  CHECK(addressesOf(". {\n  bind ::FFFF:127.0.0.9\n}\n") == Addresses{"127.0.0.9"});  // as Go prints it
  CHECK(addressesOf(". {\n  bind 10.9.9.9\n}\n") == Addresses{"10.9.9.9"});  // not this host's: bind() says so
  // An IPv6 address with the zone of an existing interface (CoreDNS takes no zone).
  CHECK(addressesOf(". {\n  bind FE80::1%eth0\n}\n") == Addresses{"fe80::1%eth0"});
}

TEST_CASE("an interface name: each of its addresses, IPv4 and IPv6, link-local with its zone") {
  CHECK(addressesOf(". {\n  bind lo\n}\n") == Addresses{"127.0.0.1", "::1"});
  CHECK(addressesOf(". {\n  bind eth0\n}\n") == Addresses{"192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1%eth0"});
  CHECK(addressesOf(". {\n  bind lo 127.0.0.1 eth0\n}\n") ==
        Addresses{"127.0.0.1", "::1", "192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1%eth0"});
  CHECK(addressesOf(". {\n  bind ifb0 lo\n}\n") == Addresses{"127.0.0.1", "::1"});
}

TEST_CASE("except: addresses or interface names, for its own directive only, every except line counts") {
  CHECK(addressesOf(". {\n  bind lo {\n    except 127.0.0.1\n  }\n}\n") == Addresses{"::1"});
  CHECK(addressesOf(". {\n  bind lo eth0 {\n    except lo\n  }\n}\n") ==
        Addresses{"192.0.2.2", "fd00::2", "fe80::fc:ff:fe00:1%eth0"});
  CHECK(addressesOf(". {\n  bind eth0 {\n    except fe80::fc:ff:fe00:1%eth0 fd00::2\n  }\n}\n") ==
        Addresses{"192.0.2.2"});
  // A link-local address without its zone is another address, as in CoreDNS.
  CHECK(addressesOf(". {\n  bind eth0 {\n    except fe80::fc:ff:fe00:1 192.0.2.2 fd00::2\n  }\n}\n") ==
        Addresses{"fe80::fc:ff:fe00:1%eth0"});
  // Another directive's except does not touch this one's addresses.
  CHECK(addressesOf(". {\n  bind 127.0.0.1\n  bind lo {\n    except 127.0.0.1\n  }\n}\n") ==
        Addresses{"127.0.0.1", "::1"});
  CHECK(addressesOf(". {\n  bind lo eth0 {\n    except 127.0.0.1\n    except eth0\n  }\n}\n") == Addresses{"::1"});
  // Compared as addresses, not as text.
  CHECK(addressesOf(". {\n  bind lo {\n    except 0::1\n  }\n}\n") == Addresses{"127.0.0.1"});
  // Excluding what is not bound is no error.
  CHECK(addressesOf(". {\n  bind lo {\n    except 10.0.0.1 ifb0\n  }\n}\n") == Addresses{"127.0.0.1", "::1"});
}

TEST_CASE("no bind: no addresses (the runtime listens on every address)") {
  CHECK(addressesOf(". {\n  whoami\n}\n").empty());
}

TEST_CASE("mistakes, each at its file:line:col") {
  struct Case {
    const char* corefile;
    const char* error;
  };
  const Case cases[] = {
      {". {\n  bind\n}\n", "Corefile:2:3: bind: expected at least one address or interface name"},
      {". {\n  bind 127.0.0.1 wlan9\n}\n",
       "Corefile:2:18: bind: 'wlan9' is neither an IP address nor a network interface of this host (lo, eth0, ifb0)"},
      {". {\n  bind lo {\n    except nope0\n  }\n}\n",
       "Corefile:3:12: bind: 'nope0' is neither an IP address nor a network interface of this host (lo, eth0, ifb0)"},
      {". {\n  bind fe80::1%eth9\n}\n",
       "Corefile:2:8: bind: 'fe80::1%eth9' is neither an IP address nor a network interface of this host (lo, eth0, ifb0)"},
      {". {\n  bind 127.0.0.1%lo\n}\n",
       "Corefile:2:8: bind: '127.0.0.1%lo' is neither an IP address nor a network interface of this host (lo, eth0, ifb0)"},
      {". {\n  bind 127.0.0.1/8\n}\n",
       "Corefile:2:8: bind: '127.0.0.1/8' is neither an IP address nor a network interface of this host (lo, eth0, ifb0)"},
      {". {\n  bind lo {\n    except\n  }\n}\n", "Corefile:3:5: bind: 'except' needs at least one address or interface name"},
      {". {\n  bind lo {\n    exclude 127.0.0.1\n  }\n}\n", "Corefile:3:5: bind: unknown option 'exclude'"},
      {". {\n  bind lo {\n    Except 127.0.0.1\n  }\n}\n",
       "Corefile:3:5: bind: unknown option 'Except', did you mean 'except'?"},
      {". {\n  bind lo {\n    except lo\n  }\n}\n",
       "Corefile:2:3: bind: no address left to listen on (interfaces without addresses, or all excluded)"},
      {". {\n  bind ifb0\n}\n",
       "Corefile:2:3: bind: no address left to listen on (interfaces without addresses, or all excluded)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.corefile);
    CHECK(errorOf(c.corefile) == c.error);
  }
}

TEST_CASE("this host: `lo` is found and holds 127.0.0.1, bindAddresses resolves it") {
  InterfaceTable host = systemInterfaces();
  auto lo = std::find_if(host.begin(), host.end(), [](const Interface& i) { return i.name == "lo"; });
  REQUIRE(lo != host.end());
  CHECK(std::find(lo->addresses.begin(), lo->addresses.end(), "127.0.0.1") != lo->addresses.end());

  auto parsed = moat::testing::stanzasOf(". {\n  bind lo\n}\n", "bind");
  auto addresses = bindAddresses(parsed.stanzas);
  REQUIRE(addresses.ok());
  CHECK(*addresses == lo->addresses);
}

TEST_CASE("canonicalAddress: Go's text of an address, nothing for what is not one") {
  CHECK(canonicalAddress("127.0.0.1") == "127.0.0.1");
  CHECK(canonicalAddress("2001:DB8:0::1") == "2001:db8::1");
  CHECK(canonicalAddress("::ffff:10.0.0.1") == "10.0.0.1");
  CHECK_FALSE(canonicalAddress("lo"));
  CHECK_FALSE(canonicalAddress("fe80::1%lo"));
  CHECK_FALSE(canonicalAddress("1.2.3"));
  CHECK_FALSE(canonicalAddress(""));
}

}  // namespace
}  // namespace moat::plugins::bind
