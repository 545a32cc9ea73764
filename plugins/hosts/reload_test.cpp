#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "plugins/hosts/hosts.hpp"
#include "plugins/hosts/test_support.hpp"

namespace moat::plugins::hosts {
namespace {

using testing::ask;
using testing::directive;
using testing::Setup;
using testing::TempDir;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

Strings answerFor(Handler& h, const std::string& name) {
  auto r = ask(h, name, dns::rrtype::A);
  return r.verdict == Verdict::Answered ? r.reply.answer : Strings{"(next)"};
}

// Polls until the handler's answer for `name` equals `want`, for at most five seconds.
bool eventually(Handler& h, const std::string& name, const Strings& want) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (answerFor(h, name) == want) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::shared_ptr<Hosts> makeReloading(const TempDir& dir, std::string_view reload) {
  Setup s(directive("hosts hosts.txt", {"reload " + std::string(reload)}), {"example.org."},
          dir.path());
  auto h = setupHosts(s.ctx);
  REQUIRE(h.ok());
  return std::static_pointer_cast<Hosts>(*h);
}

TEST_CASE("reload: a changed file is picked up") {
  TempDir dir;
  std::string path = dir.write("hosts.txt", "10.0.0.1 a.example.org\n");
  auto h = makeReloading(dir, "50ms");
  CHECK(answerFor(*h, "a.example.org.") == Strings{"a.example.org. 3600 IN A 10.0.0.1"});

  dir.write("hosts.txt", "10.0.0.22 a.example.org\n10.0.0.3 b.example.org\n");
  CHECK(eventually(*h, "a.example.org.", {"a.example.org. 3600 IN A 10.0.0.22"}));
  CHECK(answerFor(*h, "b.example.org.") == Strings{"b.example.org. 3600 IN A 10.0.0.3"});

  SUBCASE("same size, new mtime") {
    dir.write("hosts.txt", "10.0.0.23 a.example.org\n10.0.0.3 b.example.org\n");
    std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + 10s);
    CHECK(eventually(*h, "a.example.org.", {"a.example.org. 3600 IN A 10.0.0.23"}));
  }
  SUBCASE("an unreadable file keeps the last entries until it is back") {
    std::filesystem::remove(path);
    std::this_thread::sleep_for(300ms);  // several polls with the file gone
    CHECK(answerFor(*h, "a.example.org.") == Strings{"a.example.org. 3600 IN A 10.0.0.22"});
    std::filesystem::create_directory(path);  // opens, but cannot be read
    std::this_thread::sleep_for(300ms);
    CHECK(answerFor(*h, "a.example.org.") == Strings{"a.example.org. 3600 IN A 10.0.0.22"});
    std::filesystem::remove(path);
    dir.write("hosts.txt", "10.0.0.4 a.example.org\n");
    CHECK(eventually(*h, "a.example.org.", {"a.example.org. 3600 IN A 10.0.0.4"}));
  }
}

TEST_CASE("reload: a file that appears after start is loaded") {
  TempDir dir;
  auto h = makeReloading(dir, "50ms");
  CHECK(answerFor(*h, "late.example.org.").empty());  // SERVFAIL: no such name yet
  dir.write("hosts.txt", "10.0.0.9 late.example.org\n");
  CHECK(eventually(*h, "late.example.org.", {"late.example.org. 3600 IN A 10.0.0.9"}));
}

TEST_CASE("reload 0: the file is read once") {
  TempDir dir;
  dir.write("hosts.txt", "10.0.0.1 a.example.org\n");
  auto h = makeReloading(dir, "0");
  dir.write("hosts.txt", "10.0.0.2 a.example.org\n# longer now\n");
  std::this_thread::sleep_for(200ms);
  CHECK(answerFor(*h, "a.example.org.") == Strings{"a.example.org. 3600 IN A 10.0.0.1"});
}

TEST_CASE("reload: refresh reports whether anything changed") {
  TempDir dir;
  std::string path = dir.write("hosts.txt", "10.0.0.1 a.example.org\n");
  auto h = makeReloading(dir, "0");
  auto first = h->index();
  CHECK_FALSE(h->store().refresh());
  CHECK(h->index() == first);
  dir.write("hosts.txt", "10.0.0.1 a.example.org b.example.org\n");
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + 10s);
  CHECK(h->store().refresh());
  CHECK(h->index() != first);
  CHECK(first->entries() == 2);  // an index in use never changes under its reader
  CHECK(h->index()->entries() == 4);
}

TEST_CASE("reload: workers keep answering while the index is swapped under them") {
  TempDir dir;
  dir.write("hosts.txt", "10.0.0.1 a.example.org\n");
  HostsConfig cfg;
  cfg.path = dir.file("hosts.txt");
  cfg.zones = {"example.org."};
  cfg.reload = 1ms;
  Hosts h(cfg, 2);

  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  auto worker = [&](unsigned index) {
    moat::testing::QuerySpec spec;
    spec.name = "a.example.org.";
    const auto packet = moat::testing::makeQuery(spec);
    dns::Query q;
    while (!stop) {
      q.reset();
      std::copy(packet.begin(), packet.end(), q.request.begin());
      q.requestLen = static_cast<uint16_t>(packet.size());
      if (dns::parseQuery(q.requestBytes(), q.view) != dns::ParseStatus::Ok) ++bad;
      q.worker = index;
      // Every generation has exactly one address for the name.
      if (h.onQuery(q) != Verdict::Answered || dns::Header::read(q.reply.data()).ancount != 1)
        ++bad;
    }
  };
  std::thread w0(worker, 0), w1(worker, 1);
  for (int i = 2; i < 40; ++i) {
    // Replaced by rename, as editors and config managers do: a reader never sees it half written.
    dir.write("next.txt", "10.0.0." + std::to_string(i) + " a.example.org\n" +
                              std::string(size_t(i), '#') + "\n");
    std::filesystem::rename(dir.file("next.txt"), dir.file("hosts.txt"));
    std::this_thread::sleep_for(5ms);
  }
  stop = true;
  w0.join();
  w1.join();
  CHECK(bad.load() == 0);
  CHECK(eventually(h, "a.example.org.", {"a.example.org. 3600 IN A 10.0.0.39"}));
}

TEST_CASE("reload: a replaced index is freed once no worker uses it") {
  TempDir dir;
  dir.write("hosts.txt", "10.0.0.1 a.example.org\n");
  auto h = makeReloading(dir, "20ms");
  CHECK(answerFor(*h, "a.example.org.") == Strings{"a.example.org. 3600 IN A 10.0.0.1"});
  std::weak_ptr<const Index> old = h->index();
  dir.write("next.txt", "10.0.0.2 a.example.org\n");
  std::filesystem::rename(dir.file("next.txt"), dir.file("hosts.txt"));
  REQUIRE(eventually(*h, "a.example.org.", {"a.example.org. 3600 IN A 10.0.0.2"}));
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!old.expired() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(old.expired());
}

TEST_CASE("reload: destroying the handler stops the poller at once") {
  TempDir dir;
  dir.write("hosts.txt", "10.0.0.1 a.example.org\n");
  auto h = makeReloading(dir, "1h");
  auto start = std::chrono::steady_clock::now();
  h.reset();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}

}  // namespace
}  // namespace moat::plugins::hosts
