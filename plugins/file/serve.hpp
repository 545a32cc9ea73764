// Answering a query from a zone, shared by every plugin that serves zone data (file, auto,
// secondary): the lookup, fallthrough, the reply written, and a CNAME chain that leaves the
// zone's data handed to the whole server as a subquery.
#pragma once

#include <span>
#include <string_view>

#include "dns/query.hpp"
#include "plugins/fall.hpp"
#include "plugins/file/zone.hpp"
#include "plugins/handler.hpp"

namespace moat::plugins::file {

struct ServedZone {
  const Zone* zone = nullptr;    // null: not loaded (or expired): SERVFAIL
  std::string_view origin;       // "example.org.", for explain
  std::string_view source;       // where the data came from ("db.example.org", "AXFR from 10.0.0.1")
};

// Answers `q` (whose name lies in the zone) or passes it on. `client` receives the subquery's
// reply when the answer needs one; it must call finishChase from its onSubquery.
Verdict serveQuery(dns::Query& q, const ServedZone& served, const Fall& fall, std::string_view plugin,
                   SubqueryClient& client);

// Completes a reply that serveQuery left pending: the subquery's answers, its rcode as CoreDNS
// passes it on, the zone's authority. `zone` may be null (the zone went away meanwhile).
void finishChase(dns::Query& parent, std::span<const uint8_t> reply, const Zone* zone);

}  // namespace moat::plugins::file
