#include "dns/record_walker.hpp"

namespace moat::dns {

RecordWalker::RecordWalker(std::span<const uint8_t> msg) : msg_(msg) {
  if (msg.size() < kHeaderSize) {
    error_ = WireError::Overrun;
    return;
  }
  header_ = Header::read(msg.data());
  left_ = {header_.qdcount, header_.ancount, header_.nscount, header_.arcount};
  while (section_ < kSections && left_[section_] == 0) ++section_;
}

bool RecordWalker::nextQuestion(Record& out) {
  return section_ == static_cast<uint8_t>(Section::Question) && step(out);
}

bool RecordWalker::next(Record& out) {
  while (step(out)) {
    if (out.section != Section::Question) return true;
  }
  return false;
}

bool RecordWalker::step(Record& out) {
  if (error_ != WireError::None || section_ == kSections) return false;
  const NameEnd owner = followName(msg_, off_, [](size_t) {});
  if (owner.error != WireError::None) {
    error_ = owner.error;
    return false;
  }
  const bool question = section_ == static_cast<uint8_t>(Section::Question);
  const size_t fixed = question ? 4 : 10;
  if (owner.end + fixed > msg_.size()) {
    error_ = WireError::Overrun;
    return false;
  }
  const uint8_t* p = msg_.data() + owner.end;
  Record r;
  r.section = static_cast<Section>(section_);
  r.start = static_cast<uint32_t>(off_);
  r.ownerEnd = static_cast<uint32_t>(owner.end);
  r.type = get16(p);
  r.klass = get16(p + 2);
  if (!question) {
    r.ttl = get32(p + 4);
    r.rdlength = get16(p + 8);
  }
  if (r.end() > msg_.size()) {
    error_ = WireError::Overrun;
    return false;
  }
  out = r;
  off_ = r.end();
  if (--left_[section_] == 0) {
    do ++section_;
    while (section_ < kSections && left_[section_] == 0);
  }
  return true;
}

}  // namespace moat::dns
