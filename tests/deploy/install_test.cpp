// The image without a Docker engine: `cmake --install` of this build tree laid out as
// docker/Dockerfile lays it out, then the installed binary run from there, the runtime stage's
// package list checked against what that binary links, and the systemd unit against the tree.
#include <signal.h>

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/deploy/deploy_util.hpp"
#include "tests/support/sanitizers.hpp"
#include "tests/support/server_process.hpp"

using namespace moat::deploy_test;
namespace conf = moat::conf;
namespace mt = moat::testing;

namespace {

// NEEDED entries of an ELF file (readelf -d).
std::set<std::string> neededLibraries(const std::string& binary) {
  std::string out;
  REQUIRE(mt::runCommand({"readelf", "-d", binary}, out) == 0);
  std::set<std::string> needed;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    size_t at = line.find("(NEEDED)");
    if (at == std::string::npos) continue;
    size_t open = line.find('[', at), close = line.find(']', at);
    REQUIRE(open != std::string::npos);
    needed.insert(line.substr(open + 1, close - open - 1));
  }
  return needed;
}

// soname -> path, as the dynamic loader resolves them here (ldd).
std::map<std::string, std::string> resolvedLibraries(const std::string& binary) {
  std::string out;
  REQUIRE(mt::runCommand({"ldd", binary}, out) == 0);
  std::map<std::string, std::string> paths;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto w = words(line);
    if (w.size() >= 3 && w[1] == "=>") {
      REQUIRE_MESSAGE(w[2] != "not", binary << " cannot find " << w[0]);
      paths[w[0]] = w[2];
    }
  }
  return paths;
}

// The Debian package that owns a file (dpkg -S), trying both sides of the /usr merge.
std::string owningPackage(const std::string& path) {
  std::vector<std::string> candidates = {path};
  if (startsWith(path, "/usr/")) {
    candidates.push_back(path.substr(4));
  } else {
    candidates.push_back("/usr" + path);
  }
  for (const auto& c : candidates) {
    std::string out;
    if (mt::runCommand({"dpkg", "-S", c}, out) != 0) continue;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      size_t colon = line.find(':');
      if (colon != std::string::npos && line.size() >= c.size() && line.compare(line.size() - c.size(), c.size(), c) == 0) {
        return line.substr(0, colon);
      }
    }
  }
  FAIL("no Debian package owns " << path);
  return "";
}

struct Unit {
  std::map<std::string, std::multimap<std::string, std::string>> sections;
  std::string one(const std::string& section, const std::string& key) const {
    auto s = sections.find(section);
    REQUIRE_MESSAGE(s != sections.end(), "no [" << section << "]");
    REQUIRE_MESSAGE(s->second.count(key) == 1, "[" << section << "] " << key << "= appears " << s->second.count(key) << " times");
    return s->second.find(key)->second;
  }
};

Unit parseUnit(const std::string& text) {
  Unit unit;
  std::string section;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = t.substr(1, t.size() - 2);
      continue;
    }
    size_t eq = t.find('=');
    REQUIRE_MESSAGE(eq != std::string::npos, "not key=value: " << t);
    unit.sections[section].emplace(trim(t.substr(0, eq)), trim(t.substr(eq + 1)));
  }
  return unit;
}

}  // namespace

TEST_CASE("cmake --install lays out the tree the Dockerfile's ENTRYPOINT and CMD name") {
  const ImageTree& tree = imageTree();
  CHECK(tree.prefix == "/usr");
  REQUIRE_MESSAGE(fs::is_regular_file(tree.binary), "ENTRYPOINT's binary is not installed: " << tree.binary);
  CHECK(::access(tree.binary.c_str(), X_OK) == 0);
  // The default Corefile and the hosts file it names relatively, side by side.
  CHECK(fs::is_regular_file(tree.root + tree.prefix + "/share/moat/Corefile"));
  CHECK(fs::is_regular_file(tree.root + tree.prefix + "/share/moat/example.hosts"));

  auto stages = dockerfile();
  auto cmd = execForm(stages[1].one("CMD"));
  REQUIRE(cmd.size() == 2);
  CHECK(cmd[0] == "-conf");
  CHECK_MESSAGE(fs::is_regular_file(tree.root + cmd[1]), "CMD's Corefile is not in the image: " << cmd[1]);
  // Run without -conf (other arguments replace CMD), the binary looks for ./Corefile first: the
  // working directory holds the same Corefile.
  CHECK(fs::path(stages[1].one("WORKDIR").args) / "Corefile" == fs::path(cmd[1]));
  // setcap is applied to the binary the ENTRYPOINT runs.
  bool setcap = false;
  for (const auto& c : runCommands(stages[1])) {
    auto w = words(c);
    if (!w.empty() && w[0] == "setcap") {
      setcap = true;
      REQUIRE(w.size() == 3);
      CHECK(w[1] == "cap_net_bind_service=+ep");
      CHECK(tree.root + w[2] == tree.binary);
    }
  }
  CHECK_MESSAGE(setcap, "the runtime stage runs no setcap");
}

TEST_CASE("the runtime stage installs exactly the Debian packages the installed binary links") {
  const ImageTree& tree = imageTree();
  auto stages = dockerfile();
  std::set<std::string> installed, purged;
  for (const Instruction* run : stages[1].all("RUN")) {
    for (auto& p : aptPackages(*run, "install")) installed.insert(p);
    for (auto& p : aptPackages(*run, "purge")) purged.insert(p);
  }
  // Tools used while building the image (setcap) are purged in the same stage.
  for (const auto& p : purged) CHECK_MESSAGE(installed.count(p) == 1, p << " is purged but never installed");
  std::set<std::string> kept;
  for (const auto& p : installed) {
    if (!purged.count(p)) kept.insert(p);
  }

  // A sanitizer build links differently (GCC's sanitizer runtimes, and with clang libraries
  // that a Release link only needs indirectly): its list says nothing about the Release image.
  if (moat::testing::kAddressSanitizer) {
    MESSAGE("sanitizer build: the package list is checked in Release builds only");
    return;
  }
  // Packages debian:bookworm-slim already has (essential or required by apt/dpkg).
  const std::set<std::string> base = {"libc6", "libgcc-s1", "libstdc++6"};
  auto paths = resolvedLibraries(tree.binary);
  const auto sonames = neededLibraries(tree.binary);
  std::set<std::string> needed;
  for (const auto& soname : sonames) {
    REQUIRE_MESSAGE(paths.count(soname), "ldd does not resolve " << soname);
    std::string pkg = owningPackage(paths[soname]);
    if (base.count(pkg)) continue;
    needed.insert(pkg);
    CHECK_MESSAGE(kept.count(pkg), soname << " comes from " << pkg << ", which the runtime stage does not install");
  }
  // Data the binary reads rather than links: the CA roots TLS upstreams are checked against.
  const std::set<std::string> data = {"ca-certificates"};
  for (const auto& p : data) CHECK_MESSAGE(kept.count(p), "the runtime stage does not install " << p);
  for (const auto& p : kept) {
    if (data.count(p)) continue;
    CHECK_MESSAGE(needed.count(p), "the runtime stage installs " << p << ", which the binary does not link");
  }
  CHECK(purged == std::set<std::string>{"libcap2-bin"});
}

TEST_CASE("the installed binary serves the image's default Corefile from the installed tree") {
  const ImageTree& tree = imageTree();
  ImageCorefile image = imageCorefile(tree);

  // Same Corefile, on loopback high ports, with the image's paths under the staging root.
  uint16_t health = mt::freePort(), ready = mt::freePort(), metrics = mt::freePort();
  std::string loopback = rewriteLines(image.rooted, {
      {".:53 {", ".:@PORT@ {\n    bind 127.0.0.1"},
      {"health", "health 127.0.0.1:" + std::to_string(health)},
      {"ready", "ready 127.0.0.1:" + std::to_string(ready)},
      {"prometheus :9153", "prometheus 127.0.0.1:" + std::to_string(metrics)},
  });
  mt::TempDir dir;
  mt::ServerProcess server(tree.binary, dir, loopback);
  REQUIRE(server.running());

  CHECK(mt::dig(server.port(), {"api.moat.test", "A", "+short"}) == "192.0.2.10\n");
  CHECK(mt::dig(server.port(), {"-x", "192.0.2.20", "+short"}) == "db.moat.test.\n");
  std::string whoami = mt::dig(server.port(), {"elsewhere.example", "A"});
  CHECK(whoami.find("status: NOERROR") != std::string::npos);
  CHECK(whoami.find("_udp.elsewhere.example.") != std::string::npos);

  auto h = mt::httpGet(health, "/health");
  CHECK(h.status == 200);
  CHECK(h.body == "OK");
  CHECK(mt::httpGet(ready, "/ready").status == 200);
  auto m = mt::httpGet(metrics, "/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("coredns_dns_requests_total{") != std::string::npos);
  CHECK(server.stop() == 0);
}

TEST_CASE("the installed Corefiles build, and the files they name relatively are installed next to them") {
  const ImageTree& tree = imageTree();
  std::string share = tree.root + tree.prefix + "/share/moat/";
  struct Case {
    std::string file;
    std::string directive;
    std::set<int> dns;
  };
  for (const Case& c : {Case{"Corefile", "hosts", {1053}}, Case{"examples/cluster.Corefile", "kubernetes", {1053}}}) {
    CAPTURE(c.file);
    std::string path = share + c.file;
    std::string text = readText(path);
    ServedPorts ports = buildAndListPorts(text, path);
    CHECK(ports.dns == c.dns);
    conf::Corefile parsed = parseCorefileText(text, path);
    std::vector<const conf::Directive*> found;
    collectDirectives(parsed.blocks.at(0).directives, c.directive, found);
    REQUIRE(found.size() == 1);
    // hosts FILE, or kubernetes { objects FILE }: relative to the Corefile's directory.
    std::vector<std::string> named;
    if (c.directive == "hosts") named.push_back(found[0]->args.at(0).text);
    std::vector<const conf::Directive*> objects;
    collectDirectives(found[0]->block, "objects", objects);
    for (const auto* o : objects) {
      for (const auto& a : o->args) named.push_back(a.text);
    }
    REQUIRE(!named.empty());
    for (const auto& n : named) {
      CHECK_MESSAGE(fs::exists(fs::path(path).parent_path() / n), c.file << " names " << n << ", which is not installed");
    }
  }
}

TEST_CASE("the systemd unit runs the installed binary with least privilege, and its reload signal reloads") {
  const ImageTree& tree = imageTree();
  Unit unit = parseUnit(readText(sourcePath("docker/moat.service")));

  auto exec = words(unit.one("Service", "ExecStart"));
  REQUIRE(exec.size() == 3);
  // An install with prefix /usr (as the image's) puts the binary where ExecStart looks.
  CHECK(tree.prefix == "/usr");
  CHECK_MESSAGE(fs::is_regular_file(tree.root + exec[0]), "ExecStart's binary is not where cmake --install puts it: " << exec[0]);
  CHECK(exec[1] == "-conf");
  CHECK(exec[2] == "/etc/moat/Corefile");

  CHECK(unit.one("Service", "DynamicUser") == "yes");
  CHECK(unit.one("Service", "AmbientCapabilities") == "CAP_NET_BIND_SERVICE");
  CHECK(unit.one("Service", "CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE");
  CHECK(unit.one("Service", "NoNewPrivileges") == "yes");
  CHECK(unit.one("Service", "ProtectSystem") == "strict");
  CHECK(unit.one("Service", "Restart") == "on-failure");
  CHECK(unit.one("Install", "WantedBy") == "multi-user.target");

  auto reload = words(unit.one("Service", "ExecReload"));
  REQUIRE(reload.size() == 3);
  CHECK(fs::path(reload[0]).filename() == "kill");
  CHECK(reload[2] == "$MAINPID");
  REQUIRE(startsWith(reload[1], "-"));
  std::string sigName = reload[1].substr(1);
  if (startsWith(sigName, "SIG")) sigName = sigName.substr(3);
  const std::map<std::string, int> signals = {{"HUP", SIGHUP}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};
  REQUIRE_MESSAGE(signals.count(sigName), "ExecReload sends an unexpected signal: " << reload[1]);

  // The installed binary applies a changed Corefile on that signal: the new Corefile names
  // another hosts file, which only a reload of the Corefile can pick up.
  mt::TempDir dir;
  std::string before = dir.write("before.hosts", "192.0.2.10 api.moat.test\n");
  std::string after = dir.write("after.hosts", "192.0.2.99 api.moat.test\n");
  const std::string corefile = ".:@PORT@ {\n    bind 127.0.0.1\n    hosts HOSTS\n}\n";
  std::string first = corefile;
  first.replace(first.find("HOSTS"), 5, before);
  mt::ServerProcess server(tree.binary, dir, first);
  REQUIRE(server.running());
  CHECK(mt::dig(server.port(), {"api.moat.test", "A", "+short"}) == "192.0.2.10\n");

  std::string second = readText(dir.path() + "/Corefile");
  second.replace(second.find(before), before.size(), after);
  writeText(dir.path() + "/Corefile", second);
  REQUIRE(server.signal(signals.at(sigName)));
  CHECK(eventually([&] { return mt::dig(server.port(), {"api.moat.test", "A", "+short"}) == "192.0.2.99\n"; }));
  CHECK(server.stop() == 0);
}
