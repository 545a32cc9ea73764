// ClusterStore: initial load, reload on change (files and ConfigMap directories), keeping the
// last good snapshot on errors, the per-worker read path, and a prompt shutdown.
#include "plugins/kubernetes/store.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "plugins/kubernetes/objects_test_util.hpp"
#include "tests/support/eventually.hpp"

namespace moat::plugins::kubernetes {
namespace {

using namespace std::chrono_literals;
using moat::testing::eventually;
using testing::ip;
using testing::LogCapture;
using testing::TempDir;

std::string serviceYaml(const std::string& clusterIp) {
  return "kind: Service\nmetadata: {name: web, namespace: default}\nspec: {clusterIP: " +
         clusterIp + "}\n";
}

// The cluster IP of default/web as worker 0 sees it, or "" when there is no such service.
std::string webIp(ClusterStore& store, unsigned worker = 0) {
  const Service* s = store.current(worker)->findService("default", "web");
  return s && !s->clusterIPs.empty() ? s->clusterIPs[0].str() : "";
}

TEST_CASE("store: loads at construction, then follows rewrites, errors and fixes") {
  LogCapture log;
  TempDir dir;
  const std::string path = dir.write("objects.yaml", serviceYaml("10.96.0.1"));
  ClusterStore store({path}, 2, 20ms);
  CHECK(store.loaded());
  CHECK(webIp(store) == "10.96.0.1");  // at once: no wait for the poller
  CHECK(log.text().find("[INFO] plugin/kubernetes: loaded 1 services, 0 endpoint sets") !=
        std::string::npos);

  dir.write("objects.yaml", serviceYaml("10.96.0.2"));
  CHECK(eventually([&] { return webIp(store) == "10.96.0.2"; }));
  CHECK(webIp(store, 1) == "10.96.0.2");

  // Broken: the last good snapshot stays and the position is logged.
  dir.write("objects.yaml", "kind: Service\nmetadata: {name: web\n");
  CHECK(eventually([&] { return log.text().find("[ERROR]") != std::string::npos; }));
  CHECK(log.text().find("[ERROR] plugin/kubernetes: " + path + ":3:1: invalid YAML: ") !=
        std::string::npos);
  std::this_thread::sleep_for(100ms);  // several polls of the broken file
  CHECK(webIp(store) == "10.96.0.2");
  CHECK(store.loaded());
  // One error line per change, not per poll.
  const std::string text = log.text();
  CHECK(text.find("[ERROR]") == text.rfind("[ERROR]"));

  dir.write("objects.yaml", serviceYaml("10.96.0.3"));
  CHECK(eventually([&] { return webIp(store) == "10.96.0.3"; }));
}

TEST_CASE("store: a first load that fails starts empty, not loaded, and keeps trying") {
  LogCapture log;
  TempDir dir;
  const std::string path = dir.file("objects.json");
  ClusterStore store({path}, 1, 20ms);
  CHECK_FALSE(store.loaded());
  REQUIRE(store.current(0) != nullptr);
  CHECK(store.current(0)->services().empty());
  CHECK(log.text().find("[ERROR] plugin/kubernetes: " + path + ": No such file or directory") !=
        std::string::npos);

  dir.write(
      "objects.json",
      "{\"kind\": \"Service\", \"metadata\": {\"name\": \"web\"},\n \"spec\": {\"clusterIP\": 1}}");
  CHECK(eventually(
      [&] { return log.text().find(path + ":2:24: Service default/web") != std::string::npos; }));
  CHECK_FALSE(store.loaded());

  dir.write(
      "objects.json",
      R"({"kind": "Service", "metadata": {"name": "web"}, "spec": {"clusterIP": "10.96.0.7"}})");
  CHECK(eventually([&] { return store.loaded(); }));
  CHECK(webIp(store) == "10.96.0.7");
}

TEST_CASE("store: a ConfigMap volume directory follows the ..data swap") {
  namespace fs = std::filesystem;
  LogCapture log;
  TempDir dir;
  dir.write("..v1/objects.yaml", serviceYaml("10.96.1.1"));
  fs::create_directory_symlink("..v1", dir.file("..data"));
  fs::create_symlink("..data/objects.yaml", dir.file("objects.yaml"));
  ClusterStore store({dir.path()}, 1, 20ms);
  CHECK(webIp(store) == "10.96.1.1");

  dir.write("..v2/objects.yaml", serviceYaml("10.96.1.2"));
  fs::create_directory_symlink("..v2", dir.file("..data_tmp"));
  fs::rename(dir.file("..data_tmp"), dir.file("..data"));
  fs::remove_all(dir.file("..v1"));
  CHECK(eventually([&] { return webIp(store) == "10.96.1.2"; }));

  SUBCASE("a new file in the directory is loaded, a removed one dropped") {
    dir.write("more.json", R"({"kind": "Namespace", "metadata": {"name": "extra"}})");
    CHECK(eventually([&] { return store.current(0)->hasNamespace("extra"); }));
    fs::remove(dir.file("more.json"));
    CHECK(eventually([&] { return !store.current(0)->hasNamespace("extra"); }));
  }
}

TEST_CASE("store: refresh() reloads only on change, and without polling nothing moves") {
  LogCapture log;
  TempDir dir;
  const std::string path = dir.write("objects.yaml", serviceYaml("10.96.0.1"));
  ClusterStore store({path}, 1, 0ms);
  ClusterPtr first = store.snapshot();
  CHECK(first->serial() > 1700000000u);  // the load time, for SOA serials
  CHECK_FALSE(store.refresh());
  CHECK(store.snapshot() == first);

  dir.write("objects.yaml", serviceYaml("10.96.0.2"));
  std::this_thread::sleep_for(50ms);
  CHECK(webIp(store) == "10.96.0.1");  // no poller
  CHECK(store.refresh());
  CHECK(webIp(store) == "10.96.0.2");
  CHECK(first->findService("default", "web")->clusterIPs[0] == ip("10.96.0.1"));  // untouched
}

TEST_CASE("store: workers keep reading while snapshots are swapped under them") {
  LogCapture log;
  TempDir dir;
  dir.write("objects.yaml", serviceYaml("10.96.0.1"));
  ClusterStore store({dir.file("objects.yaml")}, 2, 1ms);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  auto worker = [&](unsigned index) {
    while (!stop) {
      const Service* s = store.current(index)->findService("default", "web");
      if (!s || s->clusterIPs.size() != 1) ++bad;
    }
  };
  std::thread w0(worker, 0), w1(worker, 1);
  for (int i = 2; i < 40; ++i) {
    dir.write("objects.yaml", serviceYaml("10.96.0." + std::to_string(i)));
    std::this_thread::sleep_for(3ms);
  }
  stop = true;
  w0.join();
  w1.join();
  CHECK(bad.load() == 0);
  CHECK(eventually([&] { return webIp(store) == "10.96.0.39"; }));

  // Out-of-range workers (tools) get the current snapshot too.
  CHECK(store.current(7)->findService("default", "web"));
}

TEST_CASE("store: a replaced snapshot is freed once no worker uses it") {
  LogCapture log;
  TempDir dir;
  dir.write("objects.yaml", serviceYaml("10.96.0.1"));
  ClusterStore store({dir.file("objects.yaml")}, 1, 10ms);
  CHECK(webIp(store) == "10.96.0.1");
  std::weak_ptr<const Cluster> old = store.snapshot();
  dir.write("objects.yaml", serviceYaml("10.96.0.2"));
  REQUIRE(eventually([&] { return webIp(store) == "10.96.0.2"; }));  // worker 0 moved on
  CHECK(eventually([&] { return old.expired(); }));
}

TEST_CASE("store: destruction stops the poller at once") {
  LogCapture log;
  TempDir dir;
  dir.write("objects.yaml", serviceYaml("10.96.0.1"));
  auto store = std::make_unique<ClusterStore>(std::vector<std::string>{dir.file("objects.yaml")}, 1,
                                              std::chrono::milliseconds(std::chrono::hours(1)));
  const auto start = std::chrono::steady_clock::now();
  store.reset();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

}  // namespace
}  // namespace moat::plugins::kubernetes
