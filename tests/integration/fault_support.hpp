// Shared by hostile_test.cpp and fault_test.cpp: the control query every test asks after each
// hostile input or fault, bounded waits, and reading one series from /metrics.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/dns_test_util.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/server_process.hpp"

namespace moat::testing {

// Every test's hosts block holds this name; asking it proves the server still serves.
inline const std::string kControlEntry = "192.0.2.10 control.test";
inline const std::string kControlAnswer = "control.test. 3600 IN A 192.0.2.10";

// The control query over UDP (or TCP): exactly the hosts answer, with our ID.
inline bool controlAnswers(uint16_t port, bool tcp = false) {
  auto q = makeQuery({.name = "control.test.", .id = 0x0C0C});
  auto r = decode(tcp ? exchangeTcp(port, q) : exchangeUdp(port, q));
  return r.ok && r.id == 0x0C0C && r.rcode == 0 && r.aa && r.answer.size() == 1 &&
         r.answer[0] == kControlAnswer;
}

// The value of one series, written exactly as /metrics prints it before the value
// (`moat_malformed_packets_total{action="formerr"}`); nullopt when the scrape lacks it.
inline std::optional<double> metricValue(uint16_t metricsPort, const std::string& series) {
  HttpReply r = httpGet(metricsPort, "/metrics");
  if (r.status != 200) return std::nullopt;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

// The series' value, 0 when absent (counters that never moved may not be printed).
inline double metricOrZero(uint16_t metricsPort, const std::string& series) {
  return metricValue(metricsPort, series).value_or(0);
}

inline const std::string kDroppedSeries = "moat_malformed_packets_total{action=\"dropped\"}";
inline const std::string kFormErrSeries = "moat_malformed_packets_total{action=\"formerr\"}";

}  // namespace moat::testing
