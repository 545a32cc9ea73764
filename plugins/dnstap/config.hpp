// dnstap's Corefile syntax, as CoreDNS's README writes it:
//   dnstap SOCKET|unix://SOCKET|tcp://HOST:PORT [full] [WRITEBUFFER [QUEUE]] {
//     identity IDENTITY; version VERSION; extra EXTRA; skipverify }
// Each stanza is one tap; a block may hold several. `tls://` endpoints and `dnstap listen` are
// refused at load (see README: Moat has no TLS Frame Streams writer nor a listening sink).
#pragma once

#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"

namespace moat::plugins::dnstap {

struct TapConfig {
  enum class Transport : uint8_t { Unix, Tcp };
  Transport transport = Transport::Unix;
  std::string path;   // unix: the socket path
  std::string host;   // tcp: a name or an address (IPv6 without brackets)
  std::string port;   // tcp
  std::string endpoint;  // as written, for logs, explain and the metric label
  bool full = false;     // include the wire messages
  int writeBufferMiB = 1;  // TCP send buffer, [1, 1024] MiB
  int queueMultiple = 1;   // queue of QUEUE x 10000 messages, [1, 4096]
  std::string identity;    // defaults to the host name
  std::string version;     // defaults to "Moat-<version>"
  std::string extra;
  bool skipVerify = false;  // accepted as CoreDNS does; no TLS endpoint can be used with it
};

// Pure: each stanza to a tap, or the first positioned error. `hostname` is the identity default.
conf::Result<std::vector<TapConfig>> parseConfig(const std::vector<const conf::Directive*>& stanzas,
                                                 const std::string& hostname);

}  // namespace moat::plugins::dnstap
