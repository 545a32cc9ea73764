// Fuzz target: `template`'s parsers. The input goes three ways: as a record template compiled
// alone (and, when it compiles, rendered against fixed data), as rendered record text read into
// wire form, and as the body of a `.` block whose `template` stanzas are parsed and, when they
// load, asked three questions. Invariants: rendering stays inside its buffer and reports its
// length; a record read from text has an owner and rdata within bounds; a handler either passes
// the query on or leaves a reply that walks to its end.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "conf/parser.hpp"
#include "dns/name.hpp"
#include "dns/record_walker.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/template/rr_text.hpp"
#include "plugins/template/template.hpp"

namespace {

using namespace moat;
namespace t = plugins::tmpl;

void compileAndRender(std::string_view text) {
  t::Scope scope;
  scope.groupNames = {{"", "a", "", "b"}, {"", "b"}};
  t::CompileError error;
  auto compiled = t::Template::compile(text, scope, error);
  if (!compiled) {
    FUZZ_CHECK(!error.message.empty());
    FUZZ_CHECK(error.offset <= text.size());
    return;
  }
  const std::array<std::string_view, 4> match = {"ip-10-1-2-3.example.", "10", "", "ff"};
  for (int regex : {0, 1}) {
    t::Data data;
    data.name = "ip-10-1-2-3.example.";
    data.zone = "example.";
    data.klass = "IN";
    data.type = "A";
    data.remote = "192.0.2.1";
    data.match = std::span<const std::string_view>(match.data(), regex == 0 ? 4 : 2);
    data.regex = regex;
    std::array<char, 512> out;
    std::string_view why;
    auto len = compiled->render(data, out.data(), out.size(), why);
    if (len) {
      FUZZ_CHECK(*len <= out.size());
    } else {
      FUZZ_CHECK(!why.empty());
    }
  }
}

void readRecord(std::string_view text) {
  t::WireRecord rec;
  std::string_view why;
  if (t::parseRecord(text, rec, why)) {
    FUZZ_CHECK(rec.ownerLen >= 1 && rec.ownerLen <= dns::kMaxNameLen);
    FUZZ_CHECK(rec.rdataLen <= rec.rdata.size());
  } else {
    FUZZ_CHECK(!why.empty());
  }
}

void askAll(t::TemplateHandler& h) {
  for (const char* text : {"ip-10-1-2-3.example.", "www.example.org.", "foo.invalid."}) {
    for (uint16_t type : {dns::rrtype::A, dns::rrtype::MX, dns::rrtype::TXT}) {
      auto wire = dns::nameFromText(text);
      dns::Query q;
      if (!wire || !fuzz::loadQuery(q, fuzz::makeQuery(*wire, type, dns::rrclass::IN, 0x4242, 1232))) continue;
      const plugins::Verdict v = h.onQuery(q);
      if (v == plugins::Verdict::Next) continue;
      FUZZ_CHECK(v == plugins::Verdict::Answered);  // no dispatcher: never Pending
      dns::RecordWalker walk(q.reply);
      dns::Record r;
      FUZZ_CHECK(walk.nextQuestion(r));
      while (walk.next(r)) {
      }
      FUZZ_CHECK(walk.done());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string body(reinterpret_cast<const char*>(data), size);
  compileAndRender(body);
  readRecord(body);
  auto file = conf::parseCorefile(". {\n" + body + "\n}\n", "Corefile");
  if (!file || file->blocks.empty()) return 0;
  std::vector<const conf::Directive*> stanzas;
  for (const conf::Directive& d : file->blocks[0].directives) {
    if (d.name.text == "template") stanzas.push_back(&d);
  }
  if (stanzas.empty()) return 0;
  auto config = t::parseConfig(stanzas, {"."});
  if (!config) {
    FUZZ_CHECK(!config.error().message.empty());
    return 0;
  }
  t::TemplateHandler h(std::move(*config), 1, "dns://:53", "");
  askAll(h);
  return 0;
}
