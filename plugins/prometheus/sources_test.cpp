// Other plugins' series on /metrics: MetricSample (counters, gauges, histograms) turned into
// text by Metrics::scrape, how several sources of one series combine, and the families CoreDNS
// always shows.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "plugins/metric_source.hpp"
#include "plugins/prometheus/metrics.hpp"

namespace moat::plugins::prometheus {
namespace {

class FixedSource final : public MetricSource {
 public:
  explicit FixedSource(std::vector<MetricSample> samples) : samples_(std::move(samples)) {}
  void collect(std::vector<MetricSample>& out) const override {
    out.insert(out.end(), samples_.begin(), samples_.end());
  }

 private:
  std::vector<MetricSample> samples_;
};

std::shared_ptr<FixedSource> source(std::vector<MetricSample> samples) {
  auto s = std::make_shared<FixedSource>(std::move(samples));
  registerMetricSource(std::weak_ptr<const MetricSource>(s));
  return s;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool has(const std::vector<std::string>& all, const std::string& line) {
  return std::find(all.begin(), all.end(), line) != all.end();
}

size_t count(const std::vector<std::string>& all, const std::string& prefix) {
  size_t n = 0;
  for (const auto& l : all) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

MetricSample histogram(std::string to, std::vector<uint64_t> cumulative, uint64_t count, double sum) {
  MetricSample h{"test_request_duration_seconds", "A test histogram.", false,
                 {{"rcode", "NOERROR"}, {"to", std::move(to)}}, sum};
  h.bounds = {0.25, 0.5, 1};
  h.cumulative = std::move(cumulative);
  h.count = count;
  return h;
}

TEST_CASE("metric sources: histograms are written with cumulative buckets, +Inf, sum and count") {
  auto s = source({histogram("192.0.2.1:53", {1, 3, 4}, 5, 2.5)});
  auto text = lines(Metrics::instance().scrape());
  CAPTURE(Metrics::instance().scrape());
  CHECK(has(text, "# TYPE test_request_duration_seconds histogram"));
  CHECK(has(text, "test_request_duration_seconds_bucket{rcode=\"NOERROR\",to=\"192.0.2.1:53\",le=\"0.25\"} 1"));
  CHECK(has(text, "test_request_duration_seconds_bucket{rcode=\"NOERROR\",to=\"192.0.2.1:53\",le=\"0.5\"} 3"));
  CHECK(has(text, "test_request_duration_seconds_bucket{rcode=\"NOERROR\",to=\"192.0.2.1:53\",le=\"1\"} 4"));
  CHECK(has(text, "test_request_duration_seconds_bucket{rcode=\"NOERROR\",to=\"192.0.2.1:53\",le=\"+Inf\"} 5"));
  CHECK(has(text, "test_request_duration_seconds_sum{rcode=\"NOERROR\",to=\"192.0.2.1:53\"} 2.5"));
  CHECK(has(text, "test_request_duration_seconds_count{rcode=\"NOERROR\",to=\"192.0.2.1:53\"} 5"));
}

TEST_CASE("metric sources: one series from several sources adds up, gauges take the newest") {
  MetricSample counter{"test_things_total", "Things.", false, {{"to", "a"}}, 2};
  MetricSample gauge{"test_entries", "Entries.", true, {{"zones", "."}}, 10};
  MetricSample stamp{"test_timestamp_seconds", "Newest.", true, {}, 200};
  stamp.keepMax = true;
  auto older = source({counter, gauge, stamp, histogram("a", {1, 1, 2}, 2, 1)});
  counter.value = 5;
  gauge.value = 3;
  stamp.value = 100;
  auto newer = source({counter, gauge, stamp, histogram("a", {0, 1, 1}, 3, 0.5)});

  auto text = lines(Metrics::instance().scrape());
  CAPTURE(Metrics::instance().scrape());
  CHECK(has(text, "test_things_total{to=\"a\"} 7"));
  CHECK(has(text, "test_entries{zones=\".\"} 3"));        // the newer handler's view
  CHECK(has(text, "test_timestamp_seconds 200"));         // keepMax
  CHECK(has(text, "test_request_duration_seconds_bucket{rcode=\"NOERROR\",to=\"a\",le=\"0.5\"} 2"));
  CHECK(has(text, "test_request_duration_seconds_bucket{rcode=\"NOERROR\",to=\"a\",le=\"+Inf\"} 5"));
  CHECK(has(text, "test_request_duration_seconds_sum{rcode=\"NOERROR\",to=\"a\"} 1.5"));
  CHECK(count(text, "# TYPE test_things_total counter") == 1);
  CHECK(count(text, "test_things_total{") == 1);

  newer.reset();  // a handler gone: its share leaves the series
  text = lines(Metrics::instance().scrape());
  CHECK(has(text, "test_things_total{to=\"a\"} 2"));
  CHECK(has(text, "test_entries{zones=\".\"} 10"));
}

TEST_CASE("metric sources: series are sorted by label values within a family") {
  auto s = source({{"test_sorted_total", "Sorted.", false, {{"to", "c"}}, 1},
                   {"test_sorted_total", "Sorted.", false, {{"to", "a"}}, 2},
                   {"test_sorted_total", "Sorted.", false, {{"to", "b"}}, 3}});
  auto text = lines(Metrics::instance().scrape());
  std::vector<std::string> series;
  for (const auto& l : text) {
    if (l.rfind("test_sorted_total{", 0) == 0) series.push_back(l);
  }
  CHECK(series == std::vector<std::string>{"test_sorted_total{to=\"a\"} 2", "test_sorted_total{to=\"b\"} 3",
                                           "test_sorted_total{to=\"c\"} 1"});
}

TEST_CASE("metric sources: the families CoreDNS always shows are there at 0 until counted") {
  auto text = lines(Metrics::instance().scrape());
  CAPTURE(Metrics::instance().scrape());
  for (const char* line : {"coredns_panics_total 0", "coredns_forward_healthcheck_broken_total 0",
                           "coredns_forward_max_concurrent_rejects_total 0",
                           "coredns_hosts_reload_timestamp_seconds 0", "coredns_reload_failed_total 0"}) {
    CAPTURE(line);
    CHECK(has(text, line));
  }
  CHECK(has(text, "# TYPE coredns_hosts_reload_timestamp_seconds gauge"));
  CHECK(has(text, "# TYPE coredns_panics_total counter"));

  auto failed = source({{"coredns_reload_failed_total", "Failed reloads.", false, {}, 4}});
  text = lines(Metrics::instance().scrape());
  CHECK(has(text, "coredns_reload_failed_total 4"));
  CHECK(count(text, "coredns_reload_failed_total ") == 1);
  CHECK(count(text, "# TYPE coredns_reload_failed_total") == 1);
}

}  // namespace
}  // namespace moat::plugins::prometheus
