// The dnstap README's Corefiles, run by the real binary in one process (one block per example,
// each on its own port), with fstrm_capture as the real Frame Streams reader and dnstap-ldns
// decoding what it stored; README's remote hosts are loopback here (example.com is `localhost`,
// resolved by name). And with no reader at all: every query is answered, every message
// dropped and counted.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/eventually.hpp"
#include "tests/support/readme_blocks.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace dnstap_test {

using namespace moat::testing;

namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// fstrm_capture on a unix socket or a loopback TCP port, writing FILE; stopped with SIGTERM,
// which makes it flush and close the file.
class Capture {
 public:
  Capture(const TempDir& dir, const std::string& name, std::vector<std::string> listen)
      : file_(dir.path() + "/" + name + ".fstrm"), err_(dir.path() + "/" + name + ".err") {
    std::vector<std::string> args = {"fstrm_capture", "-t", "protobuf:dnstap.Dnstap", "-w", file_,
                                     "-d", "-d", "-d"};
    args.insert(args.end(), listen.begin(), listen.end());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(e, 1);
      ::dup2(e, 2);
      ::close_range(3, ~0U, 0);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    // Listening once it says it opened its output file (it binds its socket first).
    REQUIRE_MESSAGE(eventually([&] { return log().find("opened output file") != std::string::npos; }), log());
  }
  ~Capture() { stop(); }

  std::string log() const { return readFile(err_); }
  // Connections accepted so far, and those that ended (the writer sent STOP and got FINISH).
  size_t accepted() const { return count(log(), "accepted new connection"); }
  size_t closed() const { return count(log(), ": closing (read"); }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // Every message stored, one line each (dnstap-ldns's default), and every field (-y).
  std::string lines() const { return decode({"dnstap-ldns", "-q", "-r", file_}); }
  std::string yaml() const { return decode({"dnstap-ldns", "-y", "-r", file_}); }

 private:
  static std::string decode(const std::vector<std::string>& argv) {
    std::string out;
    CHECK(runCommand(argv, out) == 0);
    return out;
  }

  std::string file_;
  std::string err_;
  pid_t pid_ = -1;
};

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

}  // namespace

TEST_CASE("dnstap README: every example logs to fstrm_capture, dnstap-ldns reads the queries and responses") {
  const auto examples = pluginCorefiles("dnstap");
  REQUIRE(examples.size() == 7);
  TempDir dir;
  const std::string sock = dir.path() + "/dnstap.sock";
  const uint16_t tcpByAddress = freePort();
  const uint16_t tcpByName = freePort();
  Capture local(dir, "local", {"-u", sock});
  Capture byAddress(dir, "byaddress", {"-a", "127.0.0.1", "-p", std::to_string(tcpByAddress)});
  Capture byName(dir, "byname", {"-a", "127.0.0.1", "-p", std::to_string(tcpByName)});

  // Example i answers on port i (the first on @PORT@), zone ".".
  std::vector<uint16_t> ports(examples.size());
  std::string corefile;
  for (size_t i = 0; i < examples.size(); ++i) {
    ports[i] = i == 0 ? 0 : freePort();
    std::string block;
    for (const std::string& line : examples[i].text) block += line + "\n";
    block = replaceAll(block, "/tmp/dnstap.sock", sock);
    block = replaceAll(block, "tcp://127.0.0.1:6000", "tcp://127.0.0.1:" + std::to_string(tcpByAddress));
    block = replaceAll(block, "tcp://example.com:6000", "tcp://localhost:" + std::to_string(tcpByName));
    REQUIRE(block.rfind(". {", 0) == 0);
    corefile += ".:" + (i == 0 ? std::string("@PORT@") : std::to_string(ports[i])) + block.substr(1);
  }
  ServerProcess s(dir, corefile);
  ports[0] = s.port();
  for (uint16_t p : ports) REQUIRE(waitListening(p));
  // Every tap connected before the first query, or its messages would be dropped: examples
  // 1, 2, 3, 6 and 7's first tap read from the unix socket, 4 by address, 5 and 7's second by name.
  REQUIRE_MESSAGE(eventually([&] { return local.accepted() == 5; }), local.log());
  REQUIRE_MESSAGE(eventually([&] { return byAddress.accepted() == 1; }), byAddress.log());
  REQUIRE_MESSAGE(eventually([&] { return byName.accepted() == 2; }), byName.log());

  for (size_t i = 0; i < ports.size(); ++i) {
    const std::string out = dig(ports[i], {"ex" + std::to_string(i + 1) + ".test", "A"});
    CHECK_MESSAGE(out.find("status: NOERROR") != std::string::npos, out);
  }
  // Stopping Moat flushes every tap and ends each stream (STOP, FINISH).
  CHECK(s.stop() == 0);
  CHECK_MESSAGE(eventually([&] { return local.closed() == 5; }), local.log());
  CHECK_MESSAGE(eventually([&] { return byAddress.closed() == 1 && byName.closed() == 2; }),
                (byAddress.log() + byName.log()));
  local.stop();
  byAddress.stop();
  byName.stop();

  // Examples 2, 3 and 7 are `full`: their names are in the messages; 1 and 6 are not.
  const std::string l = local.lines();
  CAPTURE(l);
  CHECK(count(l, " CQ ") == 5);
  CHECK(count(l, " CR ") == 5);
  for (const char* name : {"ex2.test.", "ex3.test.", "ex7.test."}) {
    CHECK(count(l, name) == 2);
  }
  CHECK(count(l, "ex1.test.") == 0);
  const std::string y = local.yaml();
  CHECK(count(y, "identity: \"my-dns-server1\"") == 2);
  CHECK(count(y, "version: \"MyDNSServer-1.2.3\"") == 2);
  CHECK(count(y, "version: \"Moat-") == 8);
  CHECK(count(y, "query_address: \"127.0.0.1\"") == 10);
  CHECK(count(y, "socket_protocol: UDP") == 10);

  const std::string a = byAddress.lines();
  CAPTURE(a);
  CHECK(count(a, " CQ ") == 1);
  CHECK(count(a, " CR ") == 1);
  CHECK(count(a, "ex4.test.") == 2);

  const std::string n = byName.lines();
  CAPTURE(n);
  CHECK(count(n, " CQ ") == 2);
  CHECK(count(n, " CR ") == 2);
  CHECK(count(n, "ex5.test.") == 2);
  CHECK(count(n, "ex7.test.") == 0);  // the second tap of example 7 is not `full`
}

TEST_CASE("dnstap with no reader: every query is answered, every message dropped and counted") {
  TempDir dir;
  const uint16_t metrics = freePort();
  ServerProcess s(dir, ".:@PORT@ {\n    dnstap " + dir.path() + "/nobody.sock full\n    prometheus 127.0.0.1:" +
                           std::to_string(metrics) + "\n    whoami\n}\n");
  constexpr int kQueries = 5;
  for (int i = 0; i < kQueries; ++i) {
    const std::string out = dig(s.port(), {"q" + std::to_string(i) + ".test", "A"});
    CHECK_MESSAGE(out.find("status: NOERROR") != std::string::npos, out);
  }
  const std::string body = httpGet(metrics, "/metrics").body;
  CAPTURE(body);
  const std::string series = "moat_dnstap_dropped_total{endpoint=\"" + dir.path() + "/nobody.sock\"} ";
  CHECK(body.find(series + std::to_string(2 * kQueries) + "\n") != std::string::npos);
  CHECK(body.find("moat_dnstap_sent_total{endpoint=\"" + dir.path() + "/nobody.sock\"} 0\n") != std::string::npos);
}

}  // namespace dnstap_test
