#include "plugins/file/zone_file.hpp"

#include <stdio_ext.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dns/ldns.hpp"
#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "plugins/file/zone_split.hpp"

namespace moat::plugins::file {

namespace {

// miekg/dns's limit, so a file CoreDNS loads loads here too, and an include loop ends.
constexpr int kMaxIncludeDepth = 7;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// Types whose RDATA names are lowercased when loaded, as CoreDNS stores them: the lookup
// follows these names, and comparing lowercased wire bytes is all it then has to do.
bool followsNames(uint32_t type) {
  switch (type) {
    case LDNS_RR_TYPE_NS: case LDNS_RR_TYPE_CNAME: case LDNS_RR_TYPE_DNAME:
    case LDNS_RR_TYPE_MX: case LDNS_RR_TYPE_SRV: case LDNS_RR_TYPE_SOA:
      return true;
    default:
      return false;
  }
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return false;
  const std::streamoff size = in.tellg();
  if (size < 0) {  // not a regular file: read it as a stream
    in.clear();
    in.seekg(0);
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return !in.bad();
  }
  // One read into a buffer of the right size: growing a string through a stream copied a
  // large file twice.
  out.resize(static_cast<size_t>(size));
  in.seekg(0);
  in.read(out.data(), size);
  out.resize(static_cast<size_t>(in.gcount()));
  return !in.bad();
}

class Loader {
 public:
  Loader(Zone::Builder& builder, const dns::WireName& origin, std::optional<uint32_t> skip)
      : builder_(builder), origin_(origin), skip_(skip) {}

  // One file (the zone file or an included one), or the part of one that starts at line
  // `firstLine`. False with error_ set on failure.
  bool load(std::string_view text, const std::string& name, ldns_rdf* origin, int depth,
            int firstLine = 1);

  std::string error_;
  std::string errorFile_;  // where error_ is, for lint's position
  int errorLine_ = 0;
  bool unchanged_ = false;
  const RecordObserver* observer_ = nullptr;
  size_t outOfZone_ = 0;
  std::string foreignSoa_;  // the owner of a SOA met outside the origin, for the error
  const std::atomic<bool>* stop_ = nullptr;  // set when another part's result makes this one moot

 private:
  // `line` as ldns counts it: the line after the one it stopped on (0: no line).
  bool fail(const std::string& file, int line, const std::string& message) {
    errorFile_ = file;
    errorLine_ = line > 1 ? line - 1 : line;
    error_ = file + (errorLine_ > 0 ? ":" + std::to_string(errorLine_) : std::string()) + ": " + message;
    return false;
  }
  bool add(ldns_rr* rr, const std::string& name, int line);
  bool include(std::string_view text, long position, const std::string& name, int line,
               ldns_rdf* origin, int depth);

  Zone::Builder& builder_;
  const dns::WireName& origin_;
  std::optional<uint32_t> skip_;
  bool soaSeen_ = false;
  uint32_t defaultTtl_ = 3600;  // without $TTL, as miekg/dns and NSD default
  dns::LdnsBuffer wire_{ldns_buffer_new(512)};
};

bool Loader::load(std::string_view text, const std::string& name, ldns_rdf* origin, int depth,
                  int firstLine) {
  // fmemopen over our own copy: after a $INCLUDE line the stream position tells which line it
  // was, and ldns does not hand the line's text back.
  std::unique_ptr<FILE, FileCloser> fp(
      fmemopen(const_cast<char*>(text.data()), text.size(), "r"));
  if (text.empty()) return true;
  if (!fp) return fail(name, 0, "cannot read");
  // Only this thread reads it: ldns calls getc per character, and the stream's lock was a
  // tenth of a million-record load.
  __fsetlocking(fp.get(), FSETLOCKING_BYCALLER);
  dns::LdnsRdf current(ldns_rdf_clone(origin));
  ldns_rdf* currentRaw = current.release();
  ldns_rdf* prev = nullptr;
  int line = firstLine;
  bool ok = true;
  while (ok && !std::feof(fp.get())) {
    if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) break;
    ldns_rr* rr = nullptr;
    const ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp.get(), &defaultTtl_, &currentRaw, &prev, &line);
    switch (s) {
      case LDNS_STATUS_OK:
        ok = add(rr, name, line);
        ldns_rr_free(rr);
        if (unchanged_) ok = false;
        break;
      case LDNS_STATUS_SYNTAX_EMPTY:
      case LDNS_STATUS_SYNTAX_TTL:
      case LDNS_STATUS_SYNTAX_ORIGIN:
        break;
      case LDNS_STATUS_SYNTAX_INCLUDE:
        ok = include(text, std::ftell(fp.get()), name, line, currentRaw, depth);
        break;
      default:
        // A record spread over lines with ( ) is named by its last line.
        ok = fail(name, line, ldns_get_errorstr_by_id(s));
        break;
    }
  }
  if (currentRaw != nullptr) ldns_rdf_deep_free(currentRaw);
  if (prev != nullptr) ldns_rdf_deep_free(prev);
  return ok && error_.empty();
}

bool Loader::add(ldns_rr* rr, const std::string& name, int line) {
  ldns_rdf* owner = ldns_rr_owner(rr);
  const std::span<const uint8_t> ownerWire(ldns_rdf_data(owner), ldns_rdf_size(owner));
  if (ownerWire.size() > dns::kMaxNameLen) return true;  // ldns never makes one; nothing to serve
  // Lowercased once, on the stack: a million-record file must not pay an allocation per record.
  std::array<uint8_t, dns::kMaxNameLen> lowerBuffer;
  std::copy(ownerWire.begin(), ownerWire.end(), lowerBuffer.begin());
  const std::span<uint8_t> lower(lowerBuffer.data(), ownerWire.size());
  dns::lowercaseInPlace(lower);
  const uint32_t type = rrTypeNumber(rr);
  if (type > 0xFFFF) return fail(name, line, "record type " + std::to_string(type) + " does not fit 16 bits");
  const bool outside = !dns::isSubdomain(lower, origin_) ||
                       (type == LDNS_RR_TYPE_SOA && !std::ranges::equal(lower, origin_));
  if (observer_ != nullptr) {
    (*observer_)(SeenRecord{name, line > 1 ? line - 1 : line, lower, static_cast<uint16_t>(type), outside});
  }
  if (outside) {
    if (type == LDNS_RR_TYPE_SOA && foreignSoa_.empty()) foreignSoa_ = dns::nameToText(ownerWire);
    ++outOfZone_;  // NSD leaves them out too; CoreDNS would store what it can never serve
    return true;
  }
  if (type == LDNS_RR_TYPE_NSEC3 || type == LDNS_RR_TYPE_NSEC3PARAM) {
    return fail(name, line, "NSEC3 zones are not supported (as in CoreDNS); sign with NSEC");
  }
  if (followsNames(type)) {
    for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
      ldns_rdf* field = ldns_rr_rdf(rr, i);
      if (ldns_rdf_get_type(field) == LDNS_RDF_TYPE_DNAME) ldns_dname2canonical(field);
    }
  }
  ldns_buffer_clear(wire_.get());
  if (ldns_rr_rdata2buffer_wire(wire_.get(), rr) != LDNS_STATUS_OK) {
    return fail(name, line, "record does not fit in wire form");
  }
  const std::span<const uint8_t> rdata(ldns_buffer_begin(wire_.get()), ldns_buffer_position(wire_.get()));
  if (type == LDNS_RR_TYPE_SOA && !soaSeen_) {
    soaSeen_ = true;
    // Serial: after MNAME and RNAME.
    size_t off = dns::skipName(rdata, 0);
    if (off != 0) off = dns::skipName(rdata, off);
    if (skip_ && off != 0 && off + 4 <= rdata.size() && dns::get32(rdata.data() + off) == *skip_) {
      unchanged_ = true;
      return true;
    }
  }
  builder_.add(lower, static_cast<uint16_t>(type), ldns_rr_ttl(rr), rdata);
  return true;
}

bool Loader::include(std::string_view text, long position, const std::string& name, int line,
                     ldns_rdf* origin, int depth) {
  // The $INCLUDE line is the last one read: find it back before the stream position.
  const size_t end = position < 0 ? text.size() : static_cast<size_t>(position);
  const size_t start = text.rfind("$INCLUDE", end);
  if (start == std::string_view::npos) {
    return fail(name, line, "cannot find the $INCLUDE line");
  }
  std::istringstream words(std::string(text.substr(start + 8, text.find('\n', start) - start - 8)));
  std::string file, newOrigin;
  words >> file >> newOrigin;
  if (file.empty()) {
    return fail(name, line, "$INCLUDE without a file name");
  }
  if (depth >= kMaxIncludeDepth) {
    return fail(name, line, "too deeply nested $INCLUDE");
  }
  // Relative to the including file, as miekg/dns reads it.
  std::filesystem::path path(file);
  if (path.is_relative()) path = std::filesystem::path(name).parent_path() / path;
  std::string included;
  if (!readFile(path.string(), included)) {
    return fail(name, line, "cannot read $INCLUDE file " + path.string());
  }
  // Its own origin when given; either way the including file's origin is back afterwards
  // (RFC 1035 §5.1).
  dns::LdnsRdf originRdf;
  if (!newOrigin.empty()) {
    originRdf.reset(ldns_dname_new_frm_str(newOrigin.c_str()));
    if (!originRdf) {
      return fail(name, line, "bad $INCLUDE origin '" + newOrigin + "'");
    }
    if (!ldns_dname_str_absolute(newOrigin.c_str())) {
      dns::LdnsRdf absolute(ldns_dname_cat_clone(originRdf.get(), origin));
      originRdf = std::move(absolute);
    }
  }
  return load(included, path.string(), originRdf ? originRdf.get() : origin, depth + 1);
}

// About one record per line (at most, without $INCLUDE): what the builder reserves for.
size_t lineCount(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

ZoneLoad finish(Loader& loader, Zone::Builder& builder, const std::string& name,
                const std::string& origin) {
  ZoneLoad out;
  out.outOfZone = loader.outOfZone_;
  if (loader.unchanged_) {
    out.unchanged = true;
    return out;
  }
  if (!loader.error_.empty()) {
    out.error = loader.error_;
    out.errorFile = loader.errorFile_;
    out.errorLine = loader.errorLine_;
    return out;
  }
  out.zone = builder.build();
  if (!out.zone) {
    out.error = name + ": no SOA record for origin " + origin;
    if (!loader.foreignSoa_.empty()) {
      out.error += " (its SOA is " + loader.foreignSoa_ + "'s: name that zone, as in `file " + name +
                   " " + loader.foreignSoa_ + "`)";
    }
  }
  return out;
}

ZoneLoad loadText(const std::string& text, const std::string& name, const std::string& origin,
                  std::optional<uint32_t> skipIfSerial, const RecordObserver* observer,
                  size_t splitFrom) {
  auto wire = dns::nameFromText(origin);
  dns::LdnsRdf originRdf(ldns_dname_new_frm_str(origin.c_str()));
  if (!wire || !originRdf) {
    ZoneLoad out;
    out.error = name + ": bad origin '" + origin + "'";
    return out;
  }
  const dns::WireName lower = dns::lowercased(*wire);
  Zone::Builder builder(lower);
  builder.reserve(lineCount(text), 2 * text.size());
  Loader loader(builder, lower, skipIfSerial);
  loader.observer_ = observer;
  std::optional<ZoneSplit> split;
  if (observer == nullptr && text.size() >= splitFrom) {
    split = findZoneSplit(text, text.size() / 2);
  }
  if (!split) {
    loader.load(text, name, originRdf.get(), 0);
    return finish(loader, builder, name, origin);
  }

  // The second part on its own thread, into its own builder, then appended to the first's,
  // so records keep the file's order. The serial shortcut is the first part's: a zone file
  // starts with its SOA.
  const std::string_view rest = std::string_view(text).substr(split->offset);
  Zone::Builder laterBuilder(lower);
  laterBuilder.reserve(lineCount(rest), 2 * rest.size());
  Loader later(laterBuilder, lower, std::nullopt);
  std::string laterText = split->preamble;
  laterText.append(rest);
  std::atomic<bool> stop{false};
  later.stop_ = &stop;
  std::exception_ptr laterFailure;
  std::thread second([&] {
    try {
      later.load(laterText, name, originRdf.get(), 0, split->line - split->preambleLines);
    } catch (...) {
      laterFailure = std::current_exception();
    }
  });
  try {
    loader.load(std::string_view(text).substr(0, split->offset), name, originRdf.get(), 0);
  } catch (...) {
    stop = true;
    second.join();
    throw;
  }
  const bool headStopped = loader.unchanged_ || !loader.error_.empty();
  if (headStopped) stop = true;
  second.join();
  if (laterFailure) std::rethrow_exception(laterFailure);

  // The first error in the file is the one reported, as when one thread reads it all.
  if (!headStopped && !later.error_.empty()) {
    loader.error_ = later.error_;
    loader.errorFile_ = later.errorFile_;
    loader.errorLine_ = later.errorLine_;
  }
  // What the second part saw counts only when one reader would have got that far.
  if (!headStopped) {
    loader.outOfZone_ += later.outOfZone_;
    if (loader.foreignSoa_.empty()) loader.foreignSoa_ = later.foreignSoa_;
    if (loader.error_.empty()) builder.absorb(std::move(laterBuilder));
  }
  return finish(loader, builder, name, origin);
}

}  // namespace

bool rdataNamesLowercased(uint16_t type) { return followsNames(type); }

uint32_t rrTypeNumber(const ldns_rr* rr) {
  uint32_t value = 0;
  static_assert(sizeof(rr->_rr_type) == sizeof(value));
  std::memcpy(&value, &rr->_rr_type, sizeof value);
  return value;
}

ZoneLoad loadZoneText(const std::string& text, const std::string& name, const std::string& origin,
                      std::optional<uint32_t> skipIfSerial, size_t splitFrom) {
  return loadText(text, name, origin, skipIfSerial, nullptr, splitFrom);
}

ZoneLoad loadZoneFile(const std::string& path, const std::string& origin,
                      std::optional<uint32_t> skipIfSerial, const RecordObserver* observer) {
  std::string text;
  if (!readFile(path, text)) {
    ZoneLoad out;
    out.error = path + ": cannot read the zone file";
    out.errorFile = path;
    return out;
  }
  // A second thread only where there is a second CPU to run it.
  const size_t splitFrom = std::thread::hardware_concurrency() > 1 ? kParallelLoadFrom : SIZE_MAX;
  return loadText(text, path, origin, skipIfSerial, observer, splitFrom);
}

}  // namespace moat::plugins::file
