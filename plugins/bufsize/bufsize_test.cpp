// bufsize: the stanza's checks, and the request's EDNS buffer as the plugins after it see it.
#include "plugins/bufsize/bufsize.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/alloc_counter.hpp"
#include "tests/support/plugin_test_util.hpp"

using namespace moat;
using namespace moat::testing;
using plugins::bufsize::BufsizeHandler;

namespace {

conf::Result<uint16_t> sizeOf(std::string_view corefile) {
  Parsed p = stanzasOf(corefile, "bufsize");
  return plugins::bufsize::parseSize(*p.stanzas.front());
}

std::string errorOf(std::string_view corefile) {
  auto size = sizeOf(corefile);
  REQUIRE_FALSE(size.ok());
  return size.error().str();
}

// What the request's OPT says, read from its bytes as an upstream would.
uint16_t wireUdpSize(const dns::Query& q) {
  return dns::get16(q.request.data() + q.view.edns.offset + 3);
}

}  // namespace

TEST_CASE("bufsize: SIZE defaults to 1232 and must be an integer from 512 to 4096") {
  CHECK(*sizeOf(". {\n  bufsize\n}\n") == 1232);
  CHECK(*sizeOf(". {\n  bufsize 1100\n}\n") == 1100);
  CHECK(*sizeOf(". {\n  bufsize 512\n}\n") == 512);
  CHECK(*sizeOf(". {\n  bufsize 4096\n}\n") == 4096);
  CHECK(errorOf(". {\n  bufsize 511\n}\n") ==
        "Corefile:2:11: bufsize: SIZE must be an integer from 512 to 4096, got '511'");
  CHECK(errorOf(". {\n  bufsize 4097\n}\n") ==
        "Corefile:2:11: bufsize: SIZE must be an integer from 512 to 4096, got '4097'");
  CHECK(errorOf(". {\n  bufsize big\n}\n") ==
        "Corefile:2:11: bufsize: SIZE must be an integer from 512 to 4096, got 'big'");
  CHECK(errorOf(". {\n  bufsize 1232 1400\n}\n").starts_with("Corefile:2:16: bufsize: "));
  CHECK(errorOf(". {\n  bufsize {\n  }\n}\n") == "Corefile:2:3: bufsize: 'bufsize' takes no block");
}

TEST_CASE("bufsize: a second stanza is ignored with a warning, as CoreDNS ignores it") {
  auto p = stanzasOf(". {\n  bufsize 1100\n  bufsize 2000\n}\n", "bufsize");
  std::vector<conf::Diag> warnings;
  plugins::SetupContext ctx;
  ctx.stanzas = p.stanzas;
  ctx.warnings = &warnings;
  auto handler = plugins::bufsize::setupBufsize(ctx);
  REQUIRE(handler.ok());
  CHECK(std::static_pointer_cast<BufsizeHandler>(*handler)->size() == 1100);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].severity == conf::Severity::Warning);
  CHECK(warnings[0].str() ==
        "Corefile:3:3: bufsize: ignored: only the first bufsize of a block applies "
        "(Corefile:2:3), as in CoreDNS");
}

TEST_CASE("bufsize: a larger buffer is lowered in the view and in the request bytes") {
  BufsizeHandler h(1232);
  dns::Query q;
  loadQuery(q, makeQuery({.name = "a.example.", .edns = 4096, .dnssecOk = true}));
  CHECK(h.onQuery(q) == plugins::Verdict::Next);
  CHECK(q.view.edns.udpSize == 1232);
  CHECK(q.view.udpLimit() == 1232);
  CHECK(wireUdpSize(q) == 1232);
  // The rest of the OPT is the client's: DO stays, and the request still parses the same.
  dns::QueryView again;
  REQUIRE(dns::parseQuery(q.requestBytes(), again) == dns::ParseStatus::Ok);
  CHECK(again.edns.udpSize == 1232);
  CHECK(again.edns.dnssecOk);
}

TEST_CASE("bufsize: smaller buffers and queries without EDNS are left alone") {
  BufsizeHandler h(1232);
  for (uint16_t size : {uint16_t{512}, uint16_t{1232}, uint16_t{100}}) {
    dns::Query q;
    loadQuery(q, makeQuery({.name = "a.example.", .edns = size}));
    const auto before = std::vector<uint8_t>(q.requestBytes().begin(), q.requestBytes().end());
    h.onQuery(q);
    CHECK(q.view.edns.udpSize == size);
    CHECK(std::vector<uint8_t>(q.requestBytes().begin(), q.requestBytes().end()) == before);
  }
  dns::Query plain;
  loadQuery(plain, makeQuery({.name = "a.example."}));
  h.onQuery(plain);
  CHECK_FALSE(plain.view.edns.present);
  CHECK(plain.view.udpLimit() == 512);
}

TEST_CASE("bufsize: lowering the buffer allocates nothing") {
  BufsizeHandler h(1100);
  dns::Query q;
  loadQuery(q, makeQuery({.name = "a.example.", .edns = 4096}));
  allocations = 0;
  counting = true;
  h.onQuery(q);
  counting = false;
  CHECK(allocations == 0);
  CHECK(q.view.edns.udpSize == 1100);
}

TEST_CASE("bufsize: explain says what happened to the buffer") {
  moat::testing::TraceNotes notes;
  BufsizeHandler h(1232);
  for (std::optional<uint16_t> edns : {std::optional<uint16_t>(4096), std::optional<uint16_t>(512),
                                       std::optional<uint16_t>()}) {
    dns::Query q;
    loadQuery(q, makeQuery({.name = "a.example.", .edns = edns}));
    q.trace = &notes;
    h.onQuery(q);
  }
  CHECK(notes.lines == std::vector<std::string>{"bufsize: EDNS buffer 4096 lowered to 1232",
                                                "bufsize: EDNS buffer 512 is within 1232: left alone",
                                                "bufsize: no EDNS in the query: left alone"});
}
