// The Corefile examples of the any and chaos READMEs (CoreDNS's examples, which Moat's READMEs
// repeat verbatim), read from the READMEs themselves and run by the real binary. The only change
// is the port: every key of the block gets a free one. What each README says the example does is
// asked with dig and compared with the README's own output lines.
#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace any_chaos_readme_test {

using namespace moat::testing;

namespace {

// "example.org {" -> "example.org:@PORT@ {", for every key of the block's first line.
std::string onFreePort(const ReadmeBlock& block) {
  std::string out;
  std::istringstream keys(block.text.at(0));
  for (std::string key; keys >> key && key != "{";) out += key + ":@PORT@ ";
  out += "{\n";
  for (size_t i = 1; i < block.text.size(); ++i) out += block.text[i] + "\n";
  return out;
}

std::vector<ReadmeBlock> blocksOf(const std::vector<ReadmeBlock>& blocks, const std::string& lang) {
  std::vector<ReadmeBlock> out;
  for (const ReadmeBlock& b : blocks) {
    if (b.lang == lang) out.push_back(b);
  }
  return out;
}

// The README's txt line that starts with `owner`, squeezed.
std::string readmeLine(const std::vector<ReadmeBlock>& blocks, const std::string& owner) {
  for (const ReadmeBlock& b : blocksOf(blocks, "txt")) {
    for (const std::string& line : b.text) {
      if (line.rfind(owner, 0) == 0) return squeeze(line);
    }
  }
  FAIL("no README line starts with " << owner);
  return {};
}

struct Dug {
  std::string status;               // NOERROR, SERVFAIL, ...
  std::vector<std::string> answer;  // squeezed
};

Dug ask(uint16_t port, std::vector<std::string> args) {
  args.insert(args.end(), {"+noall", "+comments", "+answer"});
  const std::string out = dig(port, args);
  Dug d;
  const size_t at = out.find("status: ");
  if (at != std::string::npos) d.status = out.substr(at + 8, out.find(',', at) - at - 8);
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != ';') d.answer.push_back(squeeze(line));
  }
  return d;
}

std::string hostname() {
  std::array<char, 256> buf{};
  REQUIRE(::gethostname(buf.data(), buf.size() - 1) == 0);
  return buf.data();
}

}  // namespace

TEST_CASE("any README: ANY to example.org gets the HINFO, other types still reach whoami") {
  const auto blocks = pluginReadme("any");
  const auto corefiles = blocksOf(blocks, "corefile");
  REQUIRE(corefiles.size() == 1);
  const std::string hinfo = readmeLine(blocks, "example.org.");
  CHECK(hinfo == "example.org. 8482 IN HINFO \"ANY obsoleted\" \"See RFC 8482\"");

  TempDir dir;
  ServerProcess s(dir, onFreePort(corefiles[0]));
  for (bool tcp : {false, true}) {
    CAPTURE(tcp);
    std::vector<std::string> args = {"example.org", "ANY"};
    if (tcp) args.push_back("+tcp");
    const Dug any = ask(s.port(), args);
    CHECK(any.status == "NOERROR");
    CHECK(any.answer == std::vector<std::string>{hinfo});
  }
  // The client's spelling is kept, and the name need not exist: every ANY gets the one record.
  CHECK(ask(s.port(), {"WWW.Example.org", "ANY"}).answer ==
        std::vector<std::string>{"WWW.Example.org. 8482 IN HINFO \"ANY obsoleted\" \"See RFC 8482\""});
  // whoami answers the rest: an empty answer section, the client's address in the additional.
  const std::string a = dig(s.port(), {"example.org", "A", "+noall", "+additional"});
  CHECK(squeeze(a.substr(0, a.find('\n'))) == "example.org. 0 IN A 127.0.0.1");
}

TEST_CASE("chaos README: both examples answer the five names and pass everything else on") {
  const auto blocks = pluginReadme("chaos");
  const auto corefiles = blocksOf(blocks, "corefile");
  REQUIRE(corefiles.size() == 2);
  const std::string version = readmeLine(blocks, "version.bind.");
  CHECK(version == "version.bind. 0 CH TXT \"CoreDNS-001\"");
  const std::string host = hostname();

  for (const ReadmeBlock& example : corefiles) {
    CAPTURE(example.line);
    TempDir dir;
    ServerProcess s(dir, onFreePort(example));
    const uint16_t port = s.port();
    const Dug v = ask(port, {"CH", "TXT", "version.bind"});
    CHECK(v.status == "NOERROR");
    CHECK(v.answer == std::vector<std::string>{version});
    CHECK(ask(port, {"CH", "TXT", "version.server", "+tcp"}).answer ==
          std::vector<std::string>{"version.server. 0 CH TXT \"CoreDNS-001\""});
    CHECK(ask(port, {"CH", "TXT", "authors.bind"}).answer ==
          std::vector<std::string>{"authors.bind. 0 CH TXT \"info@coredns.io\""});
    CHECK(ask(port, {"CH", "TXT", "hostname.bind"}).answer ==
          std::vector<std::string>{"hostname.bind. 0 CH TXT \"" + host + "\""});
    CHECK(ask(port, {"CH", "TXT", "ID.Server"}).answer ==
          std::vector<std::string>{"ID.Server. 0 CH TXT \"" + host + "\""});

    // Not chaos's: another type or class for its names passes on, and nothing follows chaos in
    // these blocks, so the chain ends in SERVFAIL (as CoreDNS's "no next plugin found").
    for (std::vector<std::string> other : {std::vector<std::string>{"CH", "A", "version.bind"},
                                           std::vector<std::string>{"IN", "TXT", "version.bind"}}) {
      CAPTURE(other[1]);
      const Dug d = ask(port, other);
      CHECK(d.status == "SERVFAIL");
      CHECK(d.answer.empty());
    }
    // Another CH TXT name: only the `.` block holds it (and passes it on); the first example
    // serves no zone above it, so the server refuses it.
    const bool root = example.text.at(0).rfind(".", 0) == 0;
    CHECK(ask(port, {"CH", "TXT", "foo.bind"}).status == (root ? "SERVFAIL" : "REFUSED"));
  }
}

TEST_CASE("chaos: without arguments, Moat's own version and `Moat` as author") {
  TempDir dir;
  ServerProcess s(dir, ".:@PORT@ {\n    chaos\n}\n");
  std::string version;
  REQUIRE(runCommand({MOAT_BINARY, "-version"}, version) == 0);
  version = version.substr(0, version.find('\n'));  // "Moat-0.1.0"
  CHECK(version.rfind("Moat-", 0) == 0);
  CHECK(ask(s.port(), {"CH", "TXT", "version.bind"}).answer ==
        std::vector<std::string>{"version.bind. 0 CH TXT \"" + version + "\""});
  CHECK(ask(s.port(), {"CH", "TXT", "authors.bind"}).answer ==
        std::vector<std::string>{"authors.bind. 0 CH TXT \"Moat\""});
}

TEST_CASE("chaos opens the listener to class CH, as CoreDNS, without it CH is REFUSED up front") {
  TempDir dir;
  // Both blocks on one listener: chaos in one lets CH queries into the other's chain too.
  // (any is the probe: dig cannot read the CH-class A records whoami would answer with.)
  ServerProcess with(dir, "example.org:@PORT@ {\n    any\n}\nversion.bind:@PORT@ {\n    chaos\n}\n");
  const Dug in = ask(with.port(), {"CH", "ANY", "example.org"});
  CHECK(in.status == "NOERROR");
  CHECK(in.answer == std::vector<std::string>{"example.org. 8482 IN HINFO \"ANY obsoleted\" \"See RFC 8482\""});
  TempDir other;
  ServerProcess without(other, "example.org:@PORT@ {\n    any\n}\n");
  CHECK(ask(without.port(), {"CH", "ANY", "example.org"}).status == "REFUSED");
  CHECK(ask(without.port(), {"IN", "ANY", "example.org"}).status == "NOERROR");
}

}  // namespace any_chaos_readme_test
