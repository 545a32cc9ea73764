#include "conf/token_stream.hpp"

#include <algorithm>

namespace moat::conf {

TokenStream::TokenStream(TokenList root, std::string rootPath) {
  expansions_.push_back(Expansion{Expansion::Kind::Root, std::move(rootPath), -1});
  frames_.push_back(Frame{std::move(root), 0, 0});
}

const LexToken* TokenStream::peek() {
  while (!frames_.empty() && frames_.back().index >= frames_.back().tokens->size()) {
    frames_.pop_back();
  }
  if (frames_.empty()) return nullptr;
  const Frame& f = frames_.back();
  return &(*f.tokens)[f.index];
}

const LexToken* TokenStream::next() {
  const LexToken* t = peek();
  if (t == nullptr) return nullptr;
  Frame& f = frames_.back();
  ++f.index;
  havePrev_ = true;
  prevFile_ = t->pos.file;
  prevEndLine_ = t->endLine;
  prevOrigin_ = f.origin;
  return t;
}

bool TokenStream::startsLine(const LexToken& t) const {
  if (!havePrev_) return true;
  return t.pos.file != prevFile_ || prevEndLine_ < t.pos.line;
}

void TokenStream::push(TokenList tokens, Expansion expansion) {
  expansions_.push_back(std::move(expansion));
  frames_.push_back(Frame{std::move(tokens), 0, int(expansions_.size() - 1)});
}

std::vector<const Expansion*> TokenStream::chain(int id) const {
  std::vector<const Expansion*> out;
  for (int i = id; i >= 0; i = expansions_[size_t(i)].parent) out.push_back(&expansions_[size_t(i)]);
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace moat::conf
