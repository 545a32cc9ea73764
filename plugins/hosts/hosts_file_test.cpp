#include "plugins/hosts/hosts_file.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/name.hpp"
#include "plugins/hosts/index.hpp"

namespace moat::plugins::hosts {
namespace {

dns::WireName wire(std::string_view text) {
  auto w = dns::nameFromText(text);
  REQUIRE(w.has_value());
  return *w;
}

dns::ZoneSet zones(std::initializer_list<std::string_view> list) {
  dns::ZoneSet set;
  for (auto z : list) set.add(z);
  return set;
}

std::string names(const std::vector<HostsEntry>& entries) {
  std::string out;
  for (const auto& e : entries) out += dns::nameToText(e.name) + (e.wildcard ? "(*) " : " ");
  return out;
}

TEST_CASE("parseAddress accepts what Go's ParseIP accepts after dropping a zone") {
  struct Case {
    const char* text;
    int len;  // 0: rejected
    std::vector<uint8_t> bytes;
  };
  const Case cases[] = {
      {"10.0.0.1", 4, {10, 0, 0, 1}},
      {"::ffff:10.0.0.1", 4, {10, 0, 0, 1}},  // IPv4-mapped counts as IPv4
      {"::ffff:a00:1", 4, {10, 0, 0, 1}},
      {"fe80::1%eth0", 16, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
      {"::1", 16, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
      {"::10.0.0.1", 16, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1}},  // not mapped
      {"010.0.0.1", 0, {}},
      {"10.0.0", 0, {}},
      {"256.0.0.1", 0, {}},
      {"localhost", 0, {}},
      {"%eth0", 0, {}},
      {"", 0, {}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto a = parseAddress(c.text);
    if (c.len == 0) {
      CHECK_FALSE(a.has_value());
      continue;
    }
    REQUIRE(a.has_value());
    CHECK(a->len == c.len);
    CHECK(std::vector<uint8_t>(a->view().begin(), a->view().end()) == c.bytes);
  }
}

TEST_CASE("addressFromReverse reads in-addr.arpa and ip6.arpa names") {
  const std::string v6 =
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
  const std::string mapped =
      "1.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.";
  struct Case {
    std::string name;
    std::optional<std::string> address;  // as parseAddress text
  };
  const Case cases[] = {
      {"1.0.0.10.in-addr.arpa.", "10.0.0.1"},
      {"0.0.0.0.in-addr.arpa.", "0.0.0.0"},
      {"255.255.255.255.in-addr.arpa.", "255.255.255.255"},
      {v6, "2001:db8::1"},
      {mapped, "10.0.0.1"},  // a mapped address finds the IPv4 entries, as in CoreDNS
      {"0.0.10.in-addr.arpa.", std::nullopt},
      {"1.1.0.0.10.in-addr.arpa.", std::nullopt},
      {"01.0.0.10.in-addr.arpa.", std::nullopt},
      {"256.0.0.10.in-addr.arpa.", std::nullopt},
      {"x.0.0.10.in-addr.arpa.", std::nullopt},
      {"in-addr.arpa.", std::nullopt},
      {"arpa.", std::nullopt},
      {".", std::nullopt},
      {"www.example.org.", std::nullopt},
      {"1.0.0.10.in-addr.arpa.example.", std::nullopt},
      {"g" + v6.substr(1), std::nullopt},
      {"10." + v6.substr(2), std::nullopt},
      {"0.0.8.b.d.0.1.0.0.2.ip6.arpa.", std::nullopt},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto got = addressFromReverse(wire(c.name));
    if (!c.address) {
      CHECK_FALSE(got.has_value());
      continue;
    }
    REQUIRE(got.has_value());
    CHECK(got->key() == parseAddress(*c.address)->key());
  }
}

TEST_CASE("parseHostsText follows the hosts(5) rules CoreDNS applies") {
  const char* text =
      "# a comment line\n"
      "127.0.0.1 localhost\n"
      "10.0.0.1   WWW.Example.ORG   www2.example.org # trailing comment www3.example.org\n"
      "10.0.0.2\n"                        // fewer than two fields
      "not-an-ip host.example.org\n"      // bad address
      "\t10.0.0.3\tTabs.example.org\r\n"  // tabs and CRLF
      "fe80::1%eth0 link.example.org\n"
      "::ffff:10.0.0.4 mapped.example.org\n"
      "10.0.0.5 other.example.net in.example.org\n"  // out-of-zone name dropped, line kept
      "10.0.0.6 *.wild.example.org\n"
      "10.0.0.7 bad..name.example.org\n"
      "#10.0.0.8 commented.example.org\n"
      "10.0.0.9 example.org";  // no newline at the end
  auto entries = parseHostsText(text, zones({"example.org."}));
  CHECK(names(entries) ==
        "www.example.org. www2.example.org. tabs.example.org. link.example.org. "
        "mapped.example.org. in.example.org. *.wild.example.org.(*) example.org. ");
  REQUIRE(entries.size() == 8);
  CHECK(entries[3].address.len == 16);
  CHECK(entries[4].address.len == 4);
  CHECK(entries[4].address.key() == parseAddress("10.0.0.4")->key());
}

TEST_CASE("parseHostsText under the root zone keeps every valid name") {
  auto entries =
      parseHostsText("127.0.0.1 localhost localhost.localdomain\n::1 localhost\n", zones({"."}));
  CHECK(names(entries) == "localhost. localhost.localdomain. localhost. ");
}

TEST_CASE("Index: exact names beat wildcards per origin and family, wildcards span one label") {
  const auto file = parseHostsText(
      "10.0.0.53 *.example.org\n"
      "10.0.1.52 *.intern.example.org\n"
      "10.0.0.54 foo.example.org\n"
      "fd00::1 v6only.example.org\n",
      zones({"."}));
  const auto inlined = parseHostsText("10.9.9.9 foo.example.org\n", zones({"."}));
  auto index = Index::build(file, inlined, true);

  auto v4 = [&](std::string_view name) {
    std::vector<std::string> out;
    auto hits = index->lookup(wire(name), Family::V4);
    for (auto part : hits.parts) {
      for (size_t i = 0; i < part.size(); i += 4) {
        out.push_back(std::to_string(part[i]) + "." + std::to_string(part[i + 1]) + "." +
                      std::to_string(part[i + 2]) + "." + std::to_string(part[i + 3]));
      }
    }
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(v4("foo.example.org.") == V{"10.0.0.54", "10.9.9.9"});
  CHECK(v4("bar.example.org.") == V{"10.0.0.53"});
  CHECK(v4("bar.intern.example.org.") == V{"10.0.1.52"});
  CHECK(v4("example.org.") == V{});           // the apex is not covered
  CHECK(v4("deep.bar.example.org.") == V{});  // nor two labels down
  CHECK(v4("*.example.org.") == V{"10.0.0.53"});
  // CoreDNS resolves exact-versus-wildcard per family: no exact A here, so the wildcard's A.
  CHECK(v4("v6only.example.org.") == V{"10.0.0.53"});
  CHECK(index->lookup(wire("v6only.example.org."), Family::V6).count() == 1);
  CHECK(index->hasAddress(wire("anything.example.org.")));
  CHECK_FALSE(index->hasAddress(wire("org.")));
}

TEST_CASE("Index: PTR targets list file names first, skip wildcards, honour no_reverse") {
  const auto file = parseHostsText(
      "10.0.0.1 a.example.org b.example.org\n10.0.0.1 *.w.example.org\n", zones({"."}));
  const auto inlined = parseHostsText("10.0.0.1 c.example.org\n", zones({"."}));
  auto index = Index::build(file, inlined, true);
  std::vector<std::string> got;
  for (auto t : index->ptr(*parseAddress("10.0.0.1")))
    got.push_back(dns::nameToText(index->ptrName(t)));
  CHECK(got == std::vector<std::string>{"a.example.org.", "b.example.org.", "c.example.org."});
  CHECK(index->ptr(*parseAddress("10.0.0.2")).empty());
  // Addresses per name (4) plus names per address (3), as coredns_hosts_entries counts them.
  CHECK(index->entries() == 7);

  auto noReverse = Index::build(file, inlined, false);
  CHECK(noReverse->ptr(*parseAddress("10.0.0.1")).empty());
  CHECK(noReverse->entries() == 4);
}

}  // namespace
}  // namespace moat::plugins::hosts
