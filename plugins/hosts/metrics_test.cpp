// The hosts plugin's /metrics series: coredns_hosts_entries{hostsfile} and
// coredns_hosts_reload_timestamp_seconds, set when the file is read (and re-read).
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "plugins/hosts/hosts.hpp"
#include "plugins/hosts/test_support.hpp"

namespace moat::plugins::hosts {
namespace {

using testing::directive;
using testing::Setup;
using testing::TempDir;
using namespace std::chrono_literals;
using Labels = std::vector<std::pair<std::string, std::string>>;

std::optional<MetricSample> find(const std::vector<MetricSample>& all, const std::string& family,
                                 const Labels& labels) {
  std::optional<MetricSample> found;
  for (const auto& s : all) {
    if (s.family != family || s.labels != labels) continue;
    CHECK_MESSAGE(!found, "two samples for " << family);
    found = s;
  }
  return found;
}

std::vector<MetricSample> collected(const Hosts& h) {
  std::vector<MetricSample> out;
  h.collect(out);
  return out;
}

double mtimeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

std::shared_ptr<Hosts> makeHosts(const TempDir& dir, std::initializer_list<std::string_view> block) {
  Setup s(directive("hosts hosts.txt", block), {"example.org."}, dir.path());
  auto h = setupHosts(s.ctx);
  REQUIRE(h.ok());
  return std::static_pointer_cast<Hosts>(*h);
}

TEST_CASE("hosts metrics: entries of file and inline lines, and the file's mtime") {
  TempDir dir;
  const std::string path = dir.write("hosts.txt",
                                     "10.0.0.1 a.example.org\n"
                                     "10.0.0.2 b.example.org alias.example.org\n"
                                     "10.0.0.3 outside.example.com\n");  // not in the zones: dropped
  auto h = makeHosts(dir, {"10.0.0.9 c.example.org"});
  const auto all = collected(*h);
  auto entries = find(all, "coredns_hosts_entries", {{"hostsfile", path}});
  REQUIRE(entries);
  CHECK(entries->gauge);
  // Addresses per name (a, b, alias, c: 4) plus names per address (10.0.0.1: a; .2: b, alias;
  // .9: c: 4), as CoreDNS's Map.Len counts them.
  CHECK(entries->value == 8);
  auto stamp = find(all, "coredns_hosts_reload_timestamp_seconds", {});
  REQUIRE(stamp);
  CHECK(stamp->gauge);
  CHECK(stamp->keepMax);
  CHECK(stamp->value == doctest::Approx(mtimeOf(path)).epsilon(1e-12));
  CHECK(stamp->value > 1e9);
}

TEST_CASE("hosts metrics: no_reverse counts addresses per name only") {
  TempDir dir;
  const std::string path = dir.write("hosts.txt", "10.0.0.1 a.example.org b.example.org\n");
  auto h = makeHosts(dir, {"no_reverse"});
  auto entries = find(collected(*h), "coredns_hosts_entries", {{"hostsfile", path}});
  REQUIRE(entries);
  CHECK(entries->value == 2);
}

TEST_CASE("hosts metrics: a re-read file updates both series") {
  TempDir dir;
  const std::string path = dir.write("hosts.txt", "10.0.0.1 a.example.org\n");
  auto h = makeHosts(dir, {"reload 20ms"});
  REQUIRE(find(collected(*h), "coredns_hosts_entries", {{"hostsfile", path}})->value == 2);
  dir.write("hosts.txt", "10.0.0.1 a.example.org\n10.0.0.2 b.example.org\n10.0.0.3 c.example.org\n");
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + 10s);
  const double mtime = mtimeOf(path);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (find(collected(*h), "coredns_hosts_entries", {{"hostsfile", path}})->value != 6 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  const auto all = collected(*h);
  CHECK(find(all, "coredns_hosts_entries", {{"hostsfile", path}})->value == 6);
  CHECK(find(all, "coredns_hosts_reload_timestamp_seconds", {})->value == doctest::Approx(mtime).epsilon(1e-12));
}

TEST_CASE("hosts metrics: a file that was never read has no series") {
  TempDir dir;
  auto h = makeHosts(dir, {"10.0.0.9 c.example.org"});  // hosts.txt does not exist
  CHECK(collected(*h).empty());
}

TEST_CASE("hosts metrics: several hosts sources keep the newest mtime") {
  TempDir older, newer;
  const std::string oldPath = older.write("hosts.txt", "10.0.0.1 a.example.org\n");
  std::filesystem::last_write_time(oldPath, std::filesystem::last_write_time(oldPath) - 3600s);
  const std::string newPath = newer.write("hosts.txt", "10.0.0.1 a.example.org\n");
  auto second = makeHosts(newer, {});
  auto first = makeHosts(older, {});  // registered last, but its file is older
  auto all = collectMetricSources();
  auto stamp = find(all, "coredns_hosts_reload_timestamp_seconds", {});
  REQUIRE(stamp);
  CHECK(stamp->value == doctest::Approx(mtimeOf(newPath)).epsilon(1e-12));
  CHECK(find(all, "coredns_hosts_entries", {{"hostsfile", oldPath}}));
  CHECK(find(all, "coredns_hosts_entries", {{"hostsfile", newPath}}));
}

}  // namespace
}  // namespace moat::plugins::hosts
