// README.md, executed. Every command README shows is run and its output compared line for line
// with what README prints under it, masking only what changes from run to run: times, ports,
// query IDs, and the random name of the loop plugin's probe (a query identifier too). A server
// runs on free ports, so its output is written back with README's ports (and the reload hash of
// the Corefile README names, not of the copy with other ports). Commands that install packages, build, or run for many minutes are listed
// below with the reason they are not run here; a README command that is neither run nor listed
// fails the test, so README cannot grow an unchecked command.
//
// README's conventions: in a ```sh block whose lines start with "$ ", each "$ " line is a command
// and the lines up to the next one are its output; in any other ```sh block every line that is
// not a comment is a command (its parts joined by && are taken one by one). A `build/moat`
// without a subcommand starts the server (in a scratch copy of its Corefile's directory, on free
// ports) that the following dig commands ask; a ```log block lists lines that server must have
// logged; a ```mermaid block must be exactly the output of the last `--format mermaid` command.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "conf/parser.hpp"
#include "plugins/reload/reload.hpp"
#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace readme_test {

using namespace moat::testing;
namespace fs = std::filesystem;

namespace {

// Commands not run here, and why. Matched against the start of each part of a command line.
struct Exclusion {
  const char* prefix;
  const char* reason;
};
const Exclusion kExcluded[] = {
    {"bash .ci/deps", "installs Debian packages as root; this test runs in a tree already built"},
    {"cmake -S . -B build ", "configures the build tree this test is part of (tests/build checks configuring)"},
    {"cmake --build build ", "builds the tree this test runs from (minutes on 2 cores)"},
    {"ctest --test-dir build ", "runs the whole suite, this test included"},
    {"CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz ", "an ASan+UBSan build, minutes; CI runs it (.ci/run)"},
    {"cmake --build build-fuzz ", "an ASan+UBSan build, minutes; CI runs it (.ci/run)"},
    {"ctest --test-dir build-fuzz ", "the suite under ASan+UBSan; CI runs it (.ci/run)"},
    {"fuzz/smoke.sh", "builds with clang-14 and fuzzes for minutes; CI runs it (.ci/run)"},
    {"bench/run.sh", "about 25 minutes, and needs the other servers it compares against"},
    {"kubectl ", "needs a Kubernetes cluster; README lints the same kind of ConfigMap from a file"},
};

std::string source() { return MOAT_SOURCE_DIR; }

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// What differs between runs, written the same way in README's text and in the real output.
std::string mask(std::string line) {
  static const std::regex ipPort(R"((\d+\.\d+\.\d+\.\d+):\d+)");
  static const std::regex queryId(R"( - \d+ ")");
  static const std::regex duration(R"(\b\d+\.\d+s\b)");
  static const std::regex probe(R"(\b\d+\.\d+\. HINFO\b)");
  static const std::regex srvPort(R"((\tSRV\t\d+ \d+ )\d+)");  // whoami: the client's port
  static const std::regex compiler(R"(^(linux/\w+), .+$)");  // the banner: what built the binary
  line = std::regex_replace(line, ipPort, "$1:<port>");
  line = std::regex_replace(line, srvPort, "$1<port>");
  line = std::regex_replace(line, queryId, " - <id> \"");
  line = std::regex_replace(line, duration, "<time>s");
  line = std::regex_replace(line, probe, "<probe>. HINFO");
  line = std::regex_replace(line, compiler, "$1, <compiler>");
  return line;
}

std::vector<std::string> masked(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& l : lines) out.push_back(mask(l));
  return out;
}

// Lines as one text, so a failing comparison shows both sides.
std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// Lint and explain read /etc/resolv.conf when a Corefile forwards to it; one that lists only
// loopback nameservers (a systemd-resolved stub) rightly adds a forward/loop finding README
// does not show.
bool resolvConfIsUsable() {
  std::istringstream in(readFile("/etc/resolv.conf"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, address;
    words >> key >> address;
    if (key == "nameserver" && address.rfind("127.", 0) != 0 && address != "::1") return true;
  }
  return false;
}

bool forwardsToResolvConf(const std::string& command) {
  std::istringstream words(command);
  for (std::string word; words >> word;) {
    const std::string path = source() + "/" + word;
    if (word.find('/') == std::string::npos || !fs::is_regular_file(path)) continue;
    for (const std::string& line : splitLines(readFile(path))) {
      const size_t at = line.find("forward . /etc/resolv.conf");
      if (at != std::string::npos && line.find('#') > at) return true;
    }
  }
  return false;
}

std::string corefileHash(const std::string& text) {
  auto parsed = moat::conf::parseCorefile(text, "Corefile");
  REQUIRE(parsed);
  return moat::plugins::reload::corefileHash(*parsed);
}

// The server a `build/moat [-conf FILE]` command starts: a copy of the Corefile's directory in
// a scratch dir, the Corefile's ports moved to free ones (DNS 1053, health, ready, metrics).
struct RunningServer {
  std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
  std::unique_ptr<ServerProcess> process;
  std::string dnsPort;
  std::vector<std::pair<std::string, std::string>> back;  // what it printed -> what README shows
};

std::unique_ptr<RunningServer> startServer(const std::string& corefileRelative) {
  auto server = std::make_unique<RunningServer>();
  const fs::path corefile = fs::path(source()) / corefileRelative;
  for (const auto& entry : fs::directory_iterator(corefile.parent_path())) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && ext != ".cpp" && ext != ".hpp") {
      fs::copy_file(entry.path(), fs::path(server->dir->path()) / entry.path().filename());
    }
  }
  std::string text = readFile(corefile.string());
  auto moveHttp = [&](const std::string& from, const std::string& prefix, const std::string& suffix,
                      const std::string& readmePort) {
    if (text.find(from) == std::string::npos) return;
    const std::string port = std::to_string(freePort());
    text = replaceAll(text, from, prefix + port + suffix);
    server->back.emplace_back(":" + port, ":" + readmePort);
  };
  moveHttp("    health {", "    health 127.0.0.1:", " {", "8080");
  moveHttp("    ready\n", "    ready 127.0.0.1:", "\n", "8181");
  moveHttp("    prometheus :9153", "    prometheus 127.0.0.1:", "", "9153");
  text = replaceAll(text, "1053", "@PORT@");
  // health's lameduck would hold every stop for 5 s; nothing README shows depends on it.
  text = replaceAll(text, "lameduck 5s", "lameduck 100ms");
  server->process = std::make_unique<ServerProcess>(*server->dir, text);
  server->dnsPort = std::to_string(server->process->port());
  server->back.emplace_back(":" + server->dnsPort, ":1053");
  // `reload` logs a hash of the parsed Corefile: the copy's differs from README's by the ports.
  const std::string served = replaceAll(text, "@PORT@", server->dnsPort);
  server->back.emplace_back(corefileHash(served), corefileHash(readFile(corefile.string())));
  return server;
}

// The server's stdout once it holds at least `lines` lines (bounded), with its ports as README
// writes them.
std::vector<std::string> serverOutput(const RunningServer& server, size_t lines) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<std::string> out;
  do {
    out = splitLines(server.process->stdoutText());
    if (out.size() >= lines) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  for (std::string& line : out) {
    for (const auto& [printed, readme] : server.back) line = replaceAll(line, printed, readme);
  }
  return out;
}

std::string run(const std::string& command) {
  std::string out;
  runCommand({"sh", "-c", "cd '" + source() + "' && " + command}, out, std::chrono::seconds(30));
  return out;
}

class ReadmeRunner {
 public:
  void block(const ReadmeBlock& b) {
    if (b.lang == "sh") {
      for (const ReadmeCommand& c : b.commands) command(c);
    } else if (b.lang == "mermaid") {
      CAPTURE(b.line);
      REQUIRE_MESSAGE(!lastMermaid_.empty(), "a mermaid block with no `--format mermaid` command before it");
      CHECK(joined(masked(b.text)) == joined(lastMermaid_));
    } else if (b.lang == "log") {
      CAPTURE(b.line);
      REQUIRE_MESSAGE(server_ != nullptr, "a log block with no server started before it");
      // Query-log lines reach stdout through the log thread, a moment after the reply.
      for (const std::string& line : masked(b.text)) {
        CAPTURE(line);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        bool found = false;
        while (!found && std::chrono::steady_clock::now() < deadline) {
          const std::vector<std::string> logged = masked(serverOutput(*server_, 0));
          found = std::find(logged.begin(), logged.end(), line) != logged.end();
          if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        CHECK(found);
      }
    }
  }

  size_t ran() const { return ran_; }

 private:
  void command(const ReadmeCommand& c) {
    CAPTURE(c.line);
    CAPTURE(c.text);
    size_t start = 0;
    std::vector<std::string> parts;
    for (size_t at; (at = c.text.find(" && ", start)) != std::string::npos; start = at + 4) {
      parts.push_back(c.text.substr(start, at - start));
    }
    parts.push_back(c.text.substr(start));
    for (const std::string& part : parts) {
      const bool last = &part == &parts.back();
      runPart(part, last && c.session ? &c.output : nullptr);
    }
  }

  void runPart(const std::string& part, const std::vector<std::string>* expected) {
    CAPTURE(part);
    for (const Exclusion& e : kExcluded) {
      if (part.rfind(e.prefix, 0) == 0) {
        MESSAGE("not run: " << part << " (" << std::string(e.reason) << ")");
        const bool showsOutput = expected != nullptr && !expected->empty();
        CHECK_MESSAGE(!showsOutput, "an excluded command shows output");
        return;
      }
    }
    if (part.rfind("dig ", 0) == 0) {
      REQUIRE_MESSAGE(server_ != nullptr, "dig before any server was started");
      const std::string out = run(replaceAll(part, "-p 1053", "-p " + server_->dnsPort));
      compare(splitLines(out), expected);
      return;
    }
    if (part.rfind("build/moat", 0) != 0) FAIL("README command neither run by this test nor excluded: " << part);

    std::istringstream words(part);
    std::vector<std::string> args;
    for (std::string w; words >> w;) args.push_back(w);
    const bool subcommand = args.size() > 1 && (args[1] == "lint" || args[1] == "explain" ||
                                                 args[1] == "-h" || args[1] == "-help" ||
                                                 args[1] == "--help" || args[1] == "-version" ||
                                                 args[1] == "-plugins");
    if (!subcommand) {
      std::string conf = "conf/Corefile";
      for (size_t i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == "-conf") conf = args[i + 1];
      }
      server_.reset();
      server_ = startServer(conf);
      ++ran_;
      if (expected != nullptr) {
        // The banner comes from the main thread and log lines from the log thread, so their
        // order varies; the lines themselves must all be there, each as often as shown.
        std::vector<std::string> got = masked(serverOutput(*server_, expected->size()));
        std::vector<std::string> want = masked(*expected);
        std::sort(got.begin(), got.end());
        std::sort(want.begin(), want.end());
        CHECK(joined(got) == joined(want));
      }
      return;
    }
    if (!resolvConfIsUsable() && forwardsToResolvConf(part)) {
      MESSAGE("not run: " << part << " (this machine's /etc/resolv.conf lists only loopback "
                                     "nameservers, which lint rightly reports as a loop)");
      return;
    }
    const std::string command = MOAT_BINARY + part.substr(std::string("build/moat").size());
    const std::vector<std::string> out = splitLines(run(command));
    compare(out, expected);
    if (part.find("--format mermaid") != std::string::npos) lastMermaid_ = masked(out);
  }

  void compare(const std::vector<std::string>& out, const std::vector<std::string>* expected) {
    ++ran_;
    if (expected == nullptr) return;
    CHECK(joined(masked(out)) == joined(masked(*expected)));
  }

  std::unique_ptr<RunningServer> server_;
  std::vector<std::string> lastMermaid_;
  size_t ran_ = 0;
};

}  // namespace

TEST_CASE("README: every command it shows runs and prints what it shows") {
  const std::string readme = readFile(source() + "/README.md");
  REQUIRE_FALSE(readme.empty());
  ReadmeRunner runner;
  for (const ReadmeBlock& b : readmeBlocks(readme)) runner.block(b);
  // Guards against a parse that finds nothing and so checks nothing.
  CHECK(runner.ran() >= 10);
}

TEST_CASE("README blocks: sessions, plain command lines, and other languages") {
  const std::string text =
      "intro\n"
      "```sh\n"
      "# a comment\n"
      "bash .ci/deps && build/moat\n"
      "```\n"
      "```sh\n"
      "$ dig x +short\n"
      "1.2.3.4\n"
      "$ build/moat lint a\n"
      "```\n"
      "```mermaid\n"
      "flowchart TD\n"
      "```\n";
  auto blocks = readmeBlocks(text);
  REQUIRE(blocks.size() == 3);
  REQUIRE(blocks[0].commands.size() == 1);
  CHECK(blocks[0].commands[0].text == "bash .ci/deps && build/moat");
  CHECK_FALSE(blocks[0].commands[0].session);
  REQUIRE(blocks[1].commands.size() == 2);
  CHECK(blocks[1].commands[0].output == std::vector<std::string>{"1.2.3.4"});
  CHECK(blocks[1].commands[1].output.empty());
  CHECK(blocks[1].commands[1].line == 9);
  CHECK(blocks[2].lang == "mermaid");
  CHECK(blocks[2].text == std::vector<std::string>{"flowchart TD"});
}

}  // namespace readme_test
