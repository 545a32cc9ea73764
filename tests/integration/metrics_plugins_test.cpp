// /metrics of the real binary with cache, hosts and forward (to a FakeUpstream): after known
// queries every plugin's series has its exact value, with CoreDNS's names and labels, and the
// process's own series (malformed packets, failed reloads) count too.
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "tests/support/fake_upstream.hpp"
#include "tests/support/server_process.hpp"

// One namespace per file: the folder compiles as one unit (CMakeLists.txt, MOAT_UNITY_TESTS).
namespace metrics_plugins_test {

using namespace moat::testing;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& line) {
  return std::find(v.begin(), v.end(), line) != v.end();
}

// The value of the series line starting with `series` followed by a space; -1 when absent.
double valueOf(const std::vector<std::string>& v, const std::string& series) {
  for (const std::string& l : v) {
    if (l.size() > series.size() && l.compare(0, series.size(), series) == 0 && l[series.size()] == ' ') {
      return std::stod(l.substr(series.size() + 1));
    }
  }
  return -1;
}

// Runs the server on one CPU, so it has one worker and one cache: the caches are per worker,
// and two digs from two source ports could otherwise land on two workers (plugins/cache/README).
class OneCpu {
 public:
  OneCpu() {
    CPU_ZERO(&saved_);
    REQUIRE(sched_getaffinity(0, sizeof saved_, &saved_) == 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &saved_)) {
        CPU_SET(c, &one);
        break;
      }
    }
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  }
  ~OneCpu() { sched_setaffinity(0, sizeof saved_, &saved_); }

 private:
  cpu_set_t saved_;
};

std::unique_ptr<ServerProcess> startOnOneCpu(const TempDir& dir, const std::string& corefile) {
  OneCpu pin;  // the child inherits the mask at fork; the test itself gets its CPUs back
  return std::make_unique<ServerProcess>(dir, corefile);
}

std::vector<uint8_t> header(uint16_t id, uint16_t qdcount) {
  return {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, static_cast<uint8_t>(qdcount),
          0, 0, 0, 0, 0, 0};
}

}  // namespace

TEST_CASE("metrics: cache, hosts, forward and the process count known queries exactly") {
  FakeUpstream upstream;
  TempDir dir;
  const std::string hostsPath = dir.write("hosts", "10.1.1.1 web.example.test\n10.1.1.2 db.example.test\n");
  const uint16_t metricsPort = freePort();
  auto server = startOnOneCpu(dir, ".:@PORT@ {\n"
                                   "  bind 127.0.0.1\n"
                                   "  prometheus 127.0.0.1:" + std::to_string(metricsPort) + "\n"
                                   "  cache 30\n"
                                   "  hosts " + hostsPath + " {\n"
                                   "    fallthrough\n"
                                   "  }\n"
                                   "  forward . " + upstream.address() + "\n"
                                   "}\n");
  REQUIRE(server->running());
  const uint16_t port = server->port();

  struct Dig {
    std::vector<std::string> args;
    const char* status;
  };
  const Dig digs[] = {
      {{"a.example.org", "A"}, "NOERROR"},           // cache miss, forwarded
      {{"a.example.org", "A"}, "NOERROR"},           // cache hit (success)
      {{"b.nx.example.org", "A"}, "NXDOMAIN"},       // miss, forwarded; no SOA: not cached
      {{"web.example.test", "A"}, "NOERROR"},        // miss, hosts answers, cached
      {{"c.example.org", "A", "+tcp"}, "NOERROR"},   // miss, forwarded over a new TCP connection
      {{"d.example.org", "A", "+tcp"}, "NOERROR"},   // miss, forwarded over the pooled one
  };
  for (const Dig& d : digs) {
    std::string out = dig(port, d.args);
    REQUIRE_MESSAGE(out.find(std::string("status: ") + d.status) != std::string::npos, out);
  }
  CHECK(upstream.names() ==
        std::vector<std::string>{"a.example.org.", "b.nx.example.org.", "c.example.org.", "d.example.org."});

  // Not queries: five bytes (dropped, no reply), a header announcing a question it lacks (FORMERR).
  CHECK(exchangeUdp(port, {1, 2, 3, 4, 5}, std::chrono::milliseconds(300)).empty());
  const auto formerr = exchangeUdp(port, header(0x4242, 1));
  REQUIRE(formerr.size() >= 4);
  CHECK((formerr[3] & 0x0F) == 1);

  HttpReply r = httpGet(metricsPort, "/metrics");
  REQUIRE(r.status == 200);
  CAPTURE(r.body);
  const auto text = lines(r.body);
  const std::string srv = "server=\"dns://127.0.0.1:" + std::to_string(port) + "\"";
  const std::string to = "to=\"" + upstream.address() + "\"";

  // cache: six lookups, one hit.
  CHECK(contains(text, "coredns_cache_requests_total{" + srv + ",view=\"\",zones=\".\"} 6"));
  CHECK(contains(text, "coredns_cache_hits_total{" + srv + ",type=\"success\",view=\"\",zones=\".\"} 1"));
  CHECK(contains(text, "coredns_cache_misses_total{" + srv + ",view=\"\",zones=\".\"} 5"));
  CHECK(contains(text, "coredns_cache_entries{" + srv + ",type=\"success\",view=\"\",zones=\".\"} 4"));
  CHECK(contains(text, "coredns_cache_entries{" + srv + ",type=\"denial\",view=\"\",zones=\".\"} 0"));
  CHECK(valueOf(text, "coredns_cache_hits_total{" + srv + ",type=\"denial\",view=\"\",zones=\".\"}") == -1);
  CHECK(r.body.find("coredns_cache_evictions_total") == std::string::npos);

  // forward, through CoreDNS's proxy series: three NOERROR and one NXDOMAIN reply from the upstream.
  CHECK(contains(text, "coredns_proxy_request_duration_seconds_count{proxy_name=\"forward\",rcode=\"NOERROR\"," + to + "} 3"));
  CHECK(contains(text, "coredns_proxy_request_duration_seconds_count{proxy_name=\"forward\",rcode=\"NXDOMAIN\"," + to + "} 1"));
  CHECK(contains(text, "coredns_proxy_request_duration_seconds_bucket{proxy_name=\"forward\",rcode=\"NOERROR\"," + to +
                           ",le=\"+Inf\"} 3"));
  CHECK(contains(text, "# TYPE coredns_proxy_request_duration_seconds histogram"));
  CHECK(contains(text, "coredns_proxy_conn_cache_misses_total{proto=\"tcp\",proxy_name=\"forward\"," + to + "} 1"));
  CHECK(contains(text, "coredns_proxy_conn_cache_hits_total{proto=\"tcp\",proxy_name=\"forward\"," + to + "} 1"));
  CHECK(contains(text, "coredns_forward_healthcheck_broken_total 0"));
  CHECK(contains(text, "coredns_forward_max_concurrent_rejects_total 0"));
  CHECK(contains(text, "moat_forward_egress_kept_total{" + srv + "} 0"));
  CHECK(r.body.find("coredns_proxy_healthcheck_failures_total") == std::string::npos);

  // hosts: two names with one address each, and their PTRs.
  CHECK(contains(text, "coredns_hosts_entries{hostsfile=\"" + hostsPath + "\"} 4"));
  struct stat st {};
  REQUIRE(::stat(hostsPath.c_str(), &st) == 0);
  const double mtime = static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
  CHECK(valueOf(text, "coredns_hosts_reload_timestamp_seconds") == doctest::Approx(mtime).epsilon(1e-12));

  // The process.
  CHECK(contains(text, "moat_malformed_packets_total{action=\"dropped\"} 1"));
  CHECK(contains(text, "moat_malformed_packets_total{action=\"formerr\"} 1"));
  CHECK(contains(text, "moat_refused_no_zone_total 0"));
  CHECK(contains(text, "moat_query_slots_exhausted_total 0"));
  CHECK(contains(text, "coredns_panics_total 0"));
  CHECK(contains(text, "coredns_reload_failed_total 0"));

  // A broken Corefile on SIGUSR1: the running configuration stays, the failure is counted.
  dir.write("Corefile", ".:" + std::to_string(port) + " {\n  forward\n}\n");
  REQUIRE(server->signal(SIGUSR1));
  double failed = -1;
  for (int i = 0; i < 100 && failed != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    failed = valueOf(lines(httpGet(metricsPort, "/metrics").body), "coredns_reload_failed_total");
  }
  CHECK(failed == 1);
  // The same broken file again is the same failure: counted once, as CoreDNS counts a version.
  REQUIRE(server->signal(SIGUSR1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(valueOf(lines(httpGet(metricsPort, "/metrics").body), "coredns_reload_failed_total") == 1);
  CHECK(dig(port, {"a.example.org", "A"}).find("status: NOERROR") != std::string::npos);
  const auto after = lines(httpGet(metricsPort, "/metrics").body);
  CHECK(contains(after, "coredns_cache_hits_total{" + srv + ",type=\"success\",view=\"\",zones=\".\"} 2"));
  CHECK(server->stop() == 0);
}

}  // namespace metrics_plugins_test
