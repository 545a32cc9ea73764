// Reading an RFC 1035 master file into a Zone. ldns parses every record
// (ldns_rr_new_frm_fp_l keeps $ORIGIN, $TTL, the previous owner and the line number); this
// loop only adds what ldns_zone_new_frm_fp_l lacks: $INCLUDE (which CoreDNS allows), the
// records outside the origin left out, and errors that name file:line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <optional>
#include <string>

#include "plugins/file/zone.hpp"

struct ldns_struct_rr;
using ldns_rr = ldns_struct_rr;

namespace moat::plugins::file {

struct ZoneLoad {
  ZonePtr zone;            // set when the file loaded
  bool unchanged = false;  // the SOA serial equals `skipIfSerial`: nothing was built
  std::string error;       // "db.example.org:12: ..." when neither
  std::string errorFile;   // the file and line of the error (0: none), for lint
  int errorLine = 0;
  size_t outOfZone = 0;    // records whose owner is not at or below the origin (left out)
};

// Each record as it is read, for checks that point at lines (moat lint).
struct SeenRecord {
  std::string_view file;             // the zone file or an included one
  int line = 0;                      // the record's last line
  std::span<const uint8_t> owner;    // lowercased wire form
  uint16_t type = 0;
  bool outsideOrigin = false;        // left out of the zone
};
using RecordObserver = std::function<void(const SeenRecord&)>;

// From this size on a zone file is parsed by two threads (about 130 000 records); below it the
// second thread costs more than it saves.
inline constexpr size_t kParallelLoadFrom = size_t{4} << 20;

// Loads `path` with `origin` (text, "example.org.") as the initial $ORIGIN. With
// `skipIfSerial`, stops as soon as the SOA shows that serial (CoreDNS's reload test).
ZoneLoad loadZoneFile(const std::string& path, const std::string& origin,
                      std::optional<uint32_t> skipIfSerial = std::nullopt,
                      const RecordObserver* observer = nullptr);

// The same from text in memory (tests and the fuzz target); `name` is used in errors and
// `$INCLUDE` paths are relative to its directory. Tests lower `splitFrom` to load small texts
// with two threads.
ZoneLoad loadZoneText(const std::string& text, const std::string& name, const std::string& origin,
                      std::optional<uint32_t> skipIfSerial = std::nullopt,
                      size_t splitFrom = kParallelLoadFrom);

// Whether records of `type` get their RDATA names lowercased when stored (NS, CNAME, DNAME, MX,
// SRV, SOA): the lookup follows those names by comparing bytes, so every loader (a zone file,
// a transfer in) stores them so.
bool rdataNamesLowercased(uint16_t type);

// A record's type as the number it is. ldns keeps it in an enum field that holds whatever
// number the text or the wire gave (more than 16 bits from text); reading that field as the
// enum is undefined behaviour for numbers outside the enumerators' range (UBSan's enum check
// found it), so its bytes are copied instead.
uint32_t rrTypeNumber(const ldns_rr* rr);

}  // namespace moat::plugins::file
