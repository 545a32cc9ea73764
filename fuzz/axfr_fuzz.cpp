// Fuzz target: a TCP stream of AXFR reply messages (each behind its 2-byte length, as on the
// wire) fed to the secondary plugin's AxfrReader, as a primary would send them. The first byte
// picks the origin. A reader that says Done must hand over a zone whose serial is the opening
// SOA's and whose apex is the origin; one that failed or is unfinished hands over nothing. Each
// message also goes through the SOA-reply reader of the refresh check.
#include <string>

#include "dns/name.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/secondary/axfr.hpp"

namespace {

using namespace moat;
using plugins::secondary::AxfrReader;

const dns::WireName& originFor(uint8_t pick) {
  static const dns::WireName kOrigins[] = {*dns::nameFromText("example.org."), *dns::nameFromText("."),
                                           *dns::nameFromText("10.in-addr.arpa.")};
  return kOrigins[pick % std::size(kOrigins)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const dns::WireName& origin = originFor(in.byte());
  constexpr uint16_t kId = 0;  // the seeds carry ID 0, so the fuzzer starts past the ID check
  AxfrReader reader(origin, kId);
  std::span<const uint8_t> stream = in.bytes();
  AxfrReader::Step step = AxfrReader::Step::More;
  while (stream.size() >= 2 && step == AxfrReader::Step::More) {
    const size_t length = static_cast<size_t>(stream[0]) << 8 | stream[1];
    const auto message = stream.subspan(2, std::min(length, stream.size() - 2));
    stream = stream.subspan(2 + message.size());
    std::string error;
    (void)plugins::secondary::soaSerialFromReply(message, origin, kId, error);
    step = reader.add(message);
    FUZZ_CHECK(step != AxfrReader::Step::Failed || !reader.error().empty());
  }
  const auto zone = reader.take();
  FUZZ_CHECK((step == AxfrReader::Step::Done) == (zone != nullptr));
  if (zone) {
    FUZZ_CHECK(zone->recordCount() >= 1);
    const auto apex = zone->name(zone->apex());
    FUZZ_CHECK(std::equal(apex.begin(), apex.end(), origin.begin(), origin.end()));
  }
  return 0;
}
