// The objects-feed sidecar of docker/kubernetes/deployment.yaml, run as written (its command,
// args and env) against a fake kubectl, next to the installed binary serving the ConfigMap's
// Corefile: new Services resolve, a half-written listing is never where Moat reads, an
// unchanged listing is not rewritten, and a failed listing keeps the last good one.
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/deploy/deploy_util.hpp"
#include "tests/support/server_process.hpp"

using namespace moat::deploy_test;
namespace mt = moat::testing;

namespace {

// Stands in for kubectl: records its arguments and prints listing.json in two halves; between
// them it leaves a `midway.N` mark and waits for the test's `go` file, so the test looks at the
// destination while a listing is half written. It fails while a `fail` file exists.
const char* kFakeKubectl = R"sh(#!/bin/sh
echo "$*" >> "$FAKE/calls"
n=$(wc -l < "$FAKE/calls")
if [ -e "$FAKE/fail" ]; then
  echo '{"apiVersion": "v1", "kind": "List", "items": ['
  echo "error: the server is currently unable to handle the request" >&2
  exit 1
fi
size=$(wc -c < "$FAKE/listing.json")
half=$((size / 2))
head -c "$half" "$FAKE/listing.json"
touch "$FAKE/midway.$n"
while [ ! -e "$FAKE/go" ]; do sleep 0.05; done
tail -c +"$((half + 1))" "$FAKE/listing.json"
)sh";

std::string service(const std::string& name, const std::string& ip) {
  return R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": ")" + name +
         R"(", "namespace": "default"}, "spec": {"type": "ClusterIP", "clusterIP": ")" + ip +
         R"(", "clusterIPs": [")" + ip + R"("], "ipFamilies": ["IPv4"], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})";
}

std::string listing(const std::vector<std::string>& items) {
  std::string out = R"({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [)" "\n";
  out += R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})";
  for (const auto& i : items) out += ",\n" + i;
  return out + "\n]}\n";
}

size_t lineCount(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("the objects feed renames complete listings into place, and the installed server serves them") {
  const ImageTree& tree = imageTree();
  auto all = loadManifests(sourcePath("docker/kubernetes"));
  YAML::Node spec = findManifest(all, "Deployment", "coredns")["spec"]["template"]["spec"];
  YAML::Node feed;
  for (const auto& c : spec["containers"]) {
    if (c["name"].as<std::string>() != "coredns") feed.reset(c);
  }
  REQUIRE(feed.IsDefined());
  std::string corefile = findManifest(all, "ConfigMap", "coredns")["data"]["Corefile"].as<std::string>();

  mt::TempDir dir;
  std::string fake = dir.path() + "/fake";
  std::string objects = dir.path() + "/objects/cluster.json";
  fs::create_directories(fake + "/bin");
  fs::create_directories(fs::path(objects).parent_path());
  writeText(fake + "/bin/kubectl", kFakeKubectl);
  fs::permissions(fake + "/bin/kubectl", fs::perms::owner_all);
  const std::string first = listing({service("kubernetes", "10.96.0.1")});
  writeText(fake + "/listing.json", first);

  // The ConfigMap's Corefile on loopback high ports, reading the objects file of this test and
  // forwarding to a closed loopback port instead of the node's resolvers.
  uint16_t health = mt::freePort(), ready = mt::freePort(), metrics = mt::freePort(), closed = mt::freePort();
  std::string local = rewriteLines(corefile, {
      {".:53 {", ".:@PORT@ {\n    bind 127.0.0.1"},
      {"health {", "health 127.0.0.1:" + std::to_string(health) + " {"},
      {"lameduck 5s", "lameduck 100ms"},
      {"ready", "ready 127.0.0.1:" + std::to_string(ready)},
      {"prometheus :9153", "prometheus 127.0.0.1:" + std::to_string(metrics)},
      {"objects /var/run/moat/objects/cluster.json", "objects " + objects},
      {"forward . /etc/resolv.conf {", "forward . 127.0.0.1:" + std::to_string(closed) + " {"},
  });
  mt::ServerProcess server(tree.binary, dir, local);
  REQUIRE(server.running());
  // Nothing listed yet: not ready, so a real pod stays out of the kube-dns endpoints.
  auto notReady = mt::httpGet(ready, "/ready");
  CHECK(notReady.status == 503);
  CHECK(notReady.body.find("kubernetes") != std::string::npos);

  // The sidecar exactly as the manifest runs it, with this test's paths and a short interval.
  std::vector<std::string> argv = stringList(feed["command"]);
  for (auto& a : stringList(feed["args"])) argv.push_back(a);
  REQUIRE(!argv.empty());
  std::vector<std::string> env;
  for (const auto& e : feed["env"]) {
    std::string name = e["name"].as<std::string>();
    std::string value = e["value"].as<std::string>();
    if (name == "OBJECTS_FILE") value = objects;
    if (name == "FEED_INTERVAL") value = "0.2";
    if (name == "HOME") value = dir.path();
    env.push_back(name + "=" + value);
  }
  env.push_back("PATH=" + fake + "/bin:/usr/bin:/bin");
  env.push_back("FAKE=" + fake);
  Background sidecar(argv, env, dir.path() + "/feed.log");

  // Halfway through the first listing, nothing is at the path Moat reads.
  REQUIRE(eventually([&] { return fs::exists(fake + "/midway.1"); }));
  CHECK_FALSE(fs::exists(objects));
  writeText(fake + "/go", "");
  REQUIRE(eventually([&] { return fs::exists(objects); }));
  CHECK(readText(objects) == first);
  std::string calls = readText(fake + "/calls");
  CHECK(startsWith(calls, "get services,endpointslices,pods,namespaces -A -o json"));

  CHECK(eventually([&] { return mt::httpGet(ready, "/ready").status == 200; }));
  CHECK(mt::dig(server.port(), {"kubernetes.default.svc.cluster.local", "A", "+short"}) == "10.96.0.1\n");

  // An unchanged listing is not renamed again (Moat would rebuild its index for nothing).
  ino_t inode = inodeOf(objects);
  size_t rounds = lineCount(fake + "/calls");
  REQUIRE(eventually([&] { return lineCount(fake + "/calls") >= rounds + 2; }));
  CHECK(inodeOf(objects) == inode);

  // A new Service shows up in the next listing and resolves.
  const std::string second = listing({service("kubernetes", "10.96.0.1"), service("web", "10.96.0.20")});
  writeText(fake + "/listing.json.new", second);
  fs::rename(fake + "/listing.json.new", fake + "/listing.json");
  CHECK(eventually([&] { return mt::dig(server.port(), {"web.default.svc.cluster.local", "A", "+short"}) == "10.96.0.20\n"; },
                   std::chrono::seconds(8)));
  CHECK(readText(objects) == second);
  CHECK(inodeOf(objects) != inode);

  // kubectl failing (API server away): the last listing stays, and the feed says why.
  writeText(fake + "/fail", "");
  rounds = lineCount(fake + "/calls");
  REQUIRE(eventually([&] { return lineCount(fake + "/calls") >= rounds + 2; }));
  CHECK(readText(objects) == second);
  CHECK(readText(dir.path() + "/feed.log").find("kubectl get failed") != std::string::npos);
  CHECK(mt::dig(server.port(), {"web.default.svc.cluster.local", "A", "+short"}) == "10.96.0.20\n");
  CHECK(server.stop() == 0);
}
