// The one way into ldns. <stdbool.h> first: ldns 1.8.3's common.h otherwise defines bool/true/
// false as macros, which breaks fmt and spdlog included after it. Also RAII holders.
#pragma once

#include <stdbool.h>  // NOLINT: must precede ldns

#include <ldns/ldns.h>

#include <memory>

namespace moat::dns {

struct LdnsPktFree { void operator()(ldns_pkt* p) const { ldns_pkt_free(p); } };
struct LdnsRrFree { void operator()(ldns_rr* p) const { ldns_rr_free(p); } };
struct LdnsRdfFree { void operator()(ldns_rdf* p) const { ldns_rdf_deep_free(p); } };
struct LdnsBufferFree { void operator()(ldns_buffer* p) const { ldns_buffer_free(p); } };

using LdnsPkt = std::unique_ptr<ldns_pkt, LdnsPktFree>;
using LdnsRr = std::unique_ptr<ldns_rr, LdnsRrFree>;
using LdnsRdf = std::unique_ptr<ldns_rdf, LdnsRdfFree>;
using LdnsBuffer = std::unique_ptr<ldns_buffer, LdnsBufferFree>;

}  // namespace moat::dns
