#include "cmd/server_metrics.hpp"

namespace moat::app {

void ServerMetrics::collect(std::vector<plugins::MetricSample>& out) const {
  const dns::server::Totals t = server_.totals();
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  const char* malformed =
      "Packets that were not a readable query: dropped without a reply (no readable header, a "
      "response, a TCP length out of range or a TCP message cut short), or answered FORMERR "
      "(header readable, the rest not).";
  out.push_back({"moat_malformed_packets_total", malformed, false, {{"action", "dropped"}}, n(t.malformedDropped)});
  out.push_back({"moat_malformed_packets_total", malformed, false, {{"action", "formerr"}}, n(t.malformedFormErr)});
  const char* rejected = "Queries the server answered itself, not a plugin: NOTIMP for an opcode other "
                         "than QUERY and NOTIFY or a NOTIFY no secondary zone took, BADVERS for an EDNS "
                         "version other than 0.";
  out.push_back({"moat_queries_rejected_total", rejected, false, {{"rcode", "BADVERS"}}, n(t.badVersion)});
  out.push_back({"moat_queries_rejected_total", rejected, false, {{"rcode", "NOTIMP"}},
                 n(t.notImplemented + runner_.notifyUntaken())});
  out.push_back({"moat_refused_no_zone_total",
                 "Queries answered REFUSED because no server block serves the name (CoreDNS counts "
                 "them in coredns_dns_requests_total with zone \"dropped\").",
                 false, {}, n(runner_.refusedNoZone())});
  out.push_back({"moat_query_slots_exhausted_total",
                 "Queries turned away because every query slot of the worker was in use: REFUSED "
                 "over UDP, the connection closed over TCP.",
                 false, {}, n(t.poolExhausted)});
  out.push_back({"moat_tcp_connections_rejected_total",
                 "TCP connections closed at accept because the worker had its maximum open.", false, {},
                 n(t.tcpRejected)});
  out.push_back({"moat_tls_handshake_failures_total",
                 "DNS-over-TLS connections closed before their handshake finished: the client "
                 "refused the certificate, sent something other than TLS, or did not finish within "
                 "the read timeout.",
                 false, {}, n(t.tlsHandshakeFailed)});
  out.push_back({"moat_udp_send_failures_total", "UDP replies the kernel would not send (the reply is lost).",
                 false, {}, n(t.sendFailed)});
}

}  // namespace moat::app
