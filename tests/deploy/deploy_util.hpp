// Helpers for the tests that keep docker/ honest: reading the Dockerfile, the Kubernetes
// manifests and the systemd unit as data, building a Corefile the way the server does, and
// running the installed tree. Header-only: the test folder compiles only its *_test.cpp files.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "cmd/runtime.hpp"
#include "conf/parser.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

// Readable failures for the collections these tests compare.
namespace doctest {
template <class T>
String joinForDoctest(const T& items) {
  std::ostringstream out;
  out << "{";
  const char* sep = "";
  for (const auto& i : items) {
    out << sep;
    if constexpr (std::is_same_v<std::decay_t<decltype(i)>, std::pair<int, std::string>>) {
      out << i.first << "/" << i.second;
    } else {
      out << i;
    }
    sep = ", ";
  }
  out << "}";
  return String(out.str().c_str());
}
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) { return joinForDoctest(v); }
};
template <>
struct StringMaker<std::set<std::string>> {
  static String convert(const std::set<std::string>& v) { return joinForDoctest(v); }
};
template <>
struct StringMaker<std::set<int>> {
  static String convert(const std::set<int>& v) { return joinForDoctest(v); }
};
template <>
struct StringMaker<std::set<std::pair<int, std::string>>> {
  static String convert(const std::set<std::pair<int, std::string>>& v) { return joinForDoctest(v); }
};
template <>
struct StringMaker<std::pair<int, std::string>> {
  static String convert(const std::pair<int, std::string>& v) {
    return String((std::to_string(v.first) + "/" + v.second).c_str());
  }
};
}  // namespace doctest

namespace moat::deploy_test {

namespace fs = std::filesystem;

inline std::string sourcePath(const std::string& rel) { return std::string(MOAT_SOURCE_DIR) + "/" + rel; }

inline std::string readText(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeText(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

inline std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

inline std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

inline bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// ---- Dockerfile ---------------------------------------------------------------------------

struct Instruction {
  std::string keyword;  // upper case: FROM, RUN, COPY...
  std::string args;     // continuation lines joined with a space
  int line = 0;         // where it starts, 1-based
};

struct Stage {
  std::string image;  // FROM's image
  std::string name;   // AS name, "" if none
  std::vector<Instruction> instructions;

  std::vector<const Instruction*> all(const std::string& keyword) const {
    std::vector<const Instruction*> out;
    for (const auto& i : instructions) {
      if (i.keyword == keyword) out.push_back(&i);
    }
    return out;
  }
  // The one instruction with this keyword (fails the test unless there is exactly one).
  const Instruction& one(const std::string& keyword) const {
    auto found = all(keyword);
    REQUIRE_MESSAGE(found.size() == 1, "stage " << image << ": expected one " << keyword << ", found " << found.size());
    return *found.front();
  }
};

// Dockerfile text -> stages. Comment lines are dropped (also inside continued instructions, as
// Docker does); a trailing backslash continues an instruction on the next line.
inline std::vector<Stage> parseDockerfile(const std::string& text) {
  std::vector<Stage> stages;
  std::istringstream in(text);
  std::string line, pending;
  int lineNo = 0, startLine = 0;
  auto finish = [&] {
    std::string t = trim(pending);
    pending.clear();
    if (t.empty()) return;
    size_t sp = t.find_first_of(" \t");
    Instruction ins;
    ins.keyword = t.substr(0, sp);
    std::transform(ins.keyword.begin(), ins.keyword.end(), ins.keyword.begin(), ::toupper);
    ins.args = sp == std::string::npos ? "" : trim(t.substr(sp));
    ins.line = startLine;
    if (ins.keyword == "FROM") {
      auto w = words(ins.args);
      Stage s;
      for (size_t i = 0; i < w.size(); ++i) {
        if (startsWith(w[i], "--")) continue;
        if (s.image.empty()) {
          s.image = w[i];
        } else if ((w[i] == "AS" || w[i] == "as") && i + 1 < w.size()) {
          s.name = w[i + 1];
        }
      }
      stages.push_back(s);
      return;
    }
    REQUIRE_MESSAGE(!stages.empty(), "Dockerfile:" << ins.line << ": " << ins.keyword << " before FROM");
    stages.back().instructions.push_back(ins);
  };
  while (std::getline(in, line)) {
    ++lineNo;
    std::string t = trim(line);
    if (t.empty() || startsWith(t, "#")) continue;  // inside a continuation too, as Docker does
    if (pending.empty()) startLine = lineNo;
    bool continued = t.back() == '\\';
    if (continued) t.pop_back();
    pending += " " + t;
    if (!continued) finish();
  }
  finish();
  return stages;
}

// The project's docker/Dockerfile, parsed.
inline std::vector<Stage> dockerfile() { return parseDockerfile(readText(sourcePath("docker/Dockerfile"))); }

// The packages of the `apt-get VERB ...` command inside a RUN (`VERB`: install, purge).
inline std::vector<std::string> aptPackages(const Instruction& run, const std::string& verb) {
  std::vector<std::string> out;
  std::string args = run.args;
  size_t at = 0;
  while (at <= args.size()) {
    size_t end = args.find("&&", at);
    std::string command = args.substr(at, end == std::string::npos ? std::string::npos : end - at);
    auto w = words(command);
    if (w.size() >= 2 && w[0] == "apt-get" && w[1] == verb) {
      for (size_t i = 2; i < w.size(); ++i) {
        if (!startsWith(w[i], "-")) out.push_back(w[i]);
      }
    }
    if (end == std::string::npos) break;
    at = end + 2;
  }
  return out;
}

// The RUN commands (split on &&) of a stage, trimmed, in order.
inline std::vector<std::string> runCommands(const Stage& stage) {
  std::vector<std::string> out;
  for (const Instruction* run : stage.all("RUN")) {
    std::string args = run->args;
    size_t at = 0;
    for (;;) {
      size_t end = args.find("&&", at);
      out.push_back(trim(args.substr(at, end == std::string::npos ? std::string::npos : end - at)));
      if (end == std::string::npos) break;
      at = end + 2;
    }
  }
  return out;
}

// ENTRYPOINT/CMD in exec form: a JSON array of strings (JSON is YAML, so yaml-cpp reads it).
inline std::vector<std::string> execForm(const Instruction& ins) {
  YAML::Node node = YAML::Load(ins.args);
  REQUIRE_MESSAGE(node.IsSequence(), "Dockerfile:" << ins.line << ": " << ins.keyword << " is not in exec form");
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(item.as<std::string>());
  return out;
}

// `name=(a b c)` in a bash script, possibly over several lines; comments after # dropped.
inline std::vector<std::string> shellArray(const std::string& text, const std::string& name) {
  size_t at = text.find(name + "=(");
  REQUIRE_MESSAGE(at != std::string::npos, "no array " << name);
  size_t end = text.find(')', at);
  REQUIRE(end != std::string::npos);
  std::string body = text.substr(at + name.size() + 2, end - at - name.size() - 2);
  std::vector<std::string> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    for (auto& w : words(line)) out.push_back(w);
  }
  return out;
}

// ---- Kubernetes manifests -----------------------------------------------------------------

struct Manifest {
  std::string file;
  YAML::Node node;
};

// Every document of every *.yaml file directly in `dir`, sorted by file name.
inline std::vector<Manifest> loadManifests(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<Manifest> out;
  for (const auto& f : files) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAllFromFile(f);
    } catch (const YAML::Exception& e) {
      FAIL(f << ": " << e.what());
    }
    for (const auto& d : docs) {
      if (!d.IsNull()) out.push_back({f, d});
    }
  }
  return out;
}

inline YAML::Node findManifest(const std::vector<Manifest>& all, const std::string& kind, const std::string& name) {
  for (const auto& m : all) {
    if (m.node["kind"].as<std::string>("") == kind && m.node["metadata"]["name"].as<std::string>("") == name) {
      return m.node;
    }
  }
  FAIL("no " << kind << " named '" << name << "' in the manifests");
  return {};
}

inline std::vector<YAML::Node> manifestsOfKind(const std::vector<Manifest>& all, const std::string& kind) {
  std::vector<YAML::Node> out;
  for (const auto& m : all) {
    if (m.node["kind"].as<std::string>("") == kind) out.push_back(m.node);
  }
  return out;
}

inline YAML::Node containerNamed(const YAML::Node& podSpec, const std::string& name) {
  for (const auto& c : podSpec["containers"]) {
    if (c["name"].as<std::string>("") == name) return c;
  }
  FAIL("no container '" << name << "'");
  return {};
}

// A probe's or a Service's target port: a number, or the name of one of the container's ports.
inline int resolvePort(const YAML::Node& port, const YAML::Node& container) {
  REQUIRE(port.IsDefined());
  int number = 0;
  if (YAML::convert<int>::decode(port, number)) return number;
  for (const auto& p : container["ports"]) {
    if (p["name"].as<std::string>("") == port.as<std::string>()) return p["containerPort"].as<int>();
  }
  FAIL("port '" << port.as<std::string>() << "' is not a port of container " << container["name"].as<std::string>(""));
  return -1;
}

inline std::vector<std::string> stringList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsSequence()) {
    for (const auto& n : node) out.push_back(n.as<std::string>());
  }
  return out;
}

// ---- Corefiles ----------------------------------------------------------------------------

inline conf::Corefile parseCorefileText(const std::string& text, const std::string& path) {
  auto parsed = conf::parseCorefile(text, path);
  REQUIRE_MESSAGE(parsed.ok(), "Corefile does not parse: " << parsed.error().str());
  return *parsed;
}

// What the server would listen on for a Corefile: DNS ports, and HTTP path -> port.
struct ServedPorts {
  std::set<int> dns;
  std::map<std::string, int> http;  // "/health" -> 8080
  std::vector<std::string> warnings;
};

inline int portOfAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  REQUIRE_MESSAGE(colon != std::string::npos, "address without a port: " << address);
  return std::stoi(address.substr(colon + 1));
}

// Builds the Corefile exactly as the server does at start (plugins set up, listeners planned)
// and reports the ports; fails the test when it does not build.
inline ServedPorts buildAndListPorts(const std::string& text, const std::string& path) {
  conf::Corefile corefile = parseCorefileText(text, path);
  boost::asio::io_context loop;
  boost::asio::io_context* loops[] = {&loop};
  auto runtime = app::buildRuntime(corefile, {53, loops});
  REQUIRE_MESSAGE(runtime.ok(), "Corefile does not build: " << runtime.error().str());
  ServedPorts out;
  for (const auto& l : runtime->listeners) out.dns.insert(l.port);
  for (const auto& r : runtime->http) out.http[r.path] = portOfAddress(r.address);
  for (const auto& w : runtime->warnings) out.warnings.push_back(w.str());
  return out;
}

// Every directive named `name`, at any depth.
inline void collectDirectives(const std::vector<conf::Directive>& in, const std::string& name,
                              std::vector<const conf::Directive*>& out) {
  for (const auto& d : in) {
    if (d.name.text == name) out.push_back(&d);
    collectDirectives(d.block, name, out);
  }
}

// Rewrites a Corefile for a run on loopback: each rule replaces the one line whose trimmed
// text equals `from` (keeping its indentation); a rule that matches no line, or more than one,
// fails the test, so the rewrite cannot silently miss what it means to change.
struct LineRewrite {
  std::string from;
  std::string to;
};

inline std::string rewriteLines(const std::string& text, const std::vector<LineRewrite>& rules) {
  std::vector<int> used(rules.size(), 0);
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    bool replaced = false;
    for (size_t i = 0; i < rules.size() && !replaced; ++i) {
      if (t == rules[i].from) {
        ++used[i];
        out += line.substr(0, line.find_first_not_of(" \t")) + rules[i].to + "\n";
        replaced = true;
      }
    }
    if (!replaced) out += line + "\n";
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    REQUIRE_MESSAGE(used[i] == 1, "the line '" << rules[i].from << "' occurs " << used[i] << " times, expected once");
  }
  return out;
}

// ---- the installed tree -------------------------------------------------------------------

// The image's file system, rebuilt as the Dockerfile builds it: `cmake --install` of this build
// tree with the Dockerfile's --prefix, moved to where its COPY --from puts it, plus the files it
// COPYs from the context. Done once per test process (ctest runs each case as its own process).
struct ImageTree {
  std::string root;     // stands for the image's "/"
  std::string prefix;   // the install prefix inside the image, e.g. "/usr"
  std::string binary;   // ENTRYPOINT[0] under root
};

inline const ImageTree& imageTree() {
  static testing::TempDir dir;
  static ImageTree tree;
  static bool done = false;
  if (done) return tree;

  auto stages = parseDockerfile(readText(sourcePath("docker/Dockerfile")));
  REQUIRE(stages.size() == 2);
  // Build stage: cmake --install BUILD --prefix STAGED_PREFIX.
  std::string stagedPrefix;
  for (const auto& c : runCommands(stages[0])) {
    auto w = words(c);
    if (w.size() >= 3 && w[0] == "cmake" && w[1] == "--install") {
      auto p = std::find(w.begin(), w.end(), "--prefix");
      REQUIRE(p != w.end());
      REQUIRE(p + 1 != w.end());
      stagedPrefix = *(p + 1);
    }
  }
  REQUIRE_MESSAGE(!stagedPrefix.empty(), "the build stage runs no `cmake --install ... --prefix P`");
  // Runtime stage: COPY --from=<build> SRC DST maps the staged prefix into the image.
  std::string imagePrefix;
  for (const Instruction* copy : stages[1].all("COPY")) {
    auto w = words(copy->args);
    if (w.size() == 3 && w[0] == "--from=" + stages[0].name) {
      std::string src = w[1], dst = w[2];
      if (src.back() != '/') src += '/';
      if (dst.back() != '/') dst += '/';
      REQUIRE_MESSAGE(startsWith(stagedPrefix + "/", src), "COPY --from takes " << src << ", not the install prefix " << stagedPrefix);
      imagePrefix = dst + (stagedPrefix + "/").substr(src.size());
      while (imagePrefix.size() > 1 && imagePrefix.back() == '/') imagePrefix.pop_back();
    }
  }
  REQUIRE_MESSAGE(!imagePrefix.empty(), "the runtime stage copies nothing from the build stage");

  tree.root = dir.path() + "/image";
  tree.prefix = imagePrefix;
  std::string out;
  int rc = testing::runCommand({"cmake", "--install", MOAT_BUILD_DIR, "--prefix", tree.root + imagePrefix}, out,
                               std::chrono::seconds(60));
  REQUIRE_MESSAGE(rc == 0, "cmake --install failed:\n" << out);
  // The files the runtime stage COPYs from the build context.
  for (const Instruction* copy : stages[1].all("COPY")) {
    auto w = words(copy->args);
    if (w.size() == 2) {
      REQUIRE_MESSAGE(fs::is_regular_file(sourcePath(w[0])), "Dockerfile COPY source missing: " << w[0]);
      fs::create_directories(fs::path(tree.root + w[1]).parent_path());
      fs::copy_file(sourcePath(w[0]), tree.root + w[1], fs::copy_options::overwrite_existing);
    }
  }
  auto entry = execForm(stages[1].one("ENTRYPOINT"));
  REQUIRE(!entry.empty());
  tree.binary = tree.root + entry[0];
  done = true;
  return tree;
}

// The image's default Corefile (the file CMD's -conf names, as COPY put it there), and the same
// text with the absolute path of its hosts file moved under the tree's root, so it runs here.
struct ImageCorefile {
  std::string path;      // under the tree's root
  std::string text;      // as shipped
  std::string hostsFile; // as the Corefile names it, inside the image
  std::string rooted;    // text with hostsFile under the tree's root
};

inline ImageCorefile imageCorefile(const ImageTree& tree) {
  auto stages = parseDockerfile(readText(sourcePath("docker/Dockerfile")));
  auto cmd = execForm(stages.back().one("CMD"));
  REQUIRE(cmd.size() == 2);
  ImageCorefile out;
  out.path = tree.root + cmd[1];
  REQUIRE_MESSAGE(fs::is_regular_file(out.path), "CMD's Corefile is not in the image: " << cmd[1]);
  out.text = readText(out.path);
  conf::Corefile parsed = parseCorefileText(out.text, out.path);
  REQUIRE(parsed.blocks.size() == 1);
  std::vector<const conf::Directive*> hosts;
  collectDirectives(parsed.blocks[0].directives, "hosts", hosts);
  REQUIRE(hosts.size() == 1);
  REQUIRE(!hosts[0]->args.empty());
  out.hostsFile = hosts[0]->args[0].text;
  REQUIRE_MESSAGE(startsWith(out.hostsFile, "/"), "the image's Corefile names a relative hosts file");
  REQUIRE_MESSAGE(fs::is_regular_file(tree.root + out.hostsFile), out.hostsFile << " is not installed in the image");
  out.rooted = rewriteLines(out.text, {{"hosts " + out.hostsFile + " {", "hosts " + tree.root + out.hostsFile + " {"}});
  return out;
}

// ---- a background process (the sidecar's shell loop) --------------------------------------

// Runs argv with exactly `env` in its own process group, output to `logPath`; the destructor
// ends the whole group (the loop and whatever it is running).
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& logPath) {
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close_range(3, ~0U, 0);  // the test's own descriptors stay the test's
      std::vector<std::string> a = argv, e = env;
      std::vector<char*> av, ev;
      for (auto& s : a) av.push_back(s.data());
      for (auto& s : e) ev.push_back(s.data());
      av.push_back(nullptr);
      ev.push_back(nullptr);
      ::execve(av[0], av.data(), ev.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  ~Background() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

 private:
  pid_t pid_ = -1;
};

using moat::testing::eventually;
}  // namespace moat::deploy_test
