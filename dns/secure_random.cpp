#include "dns/secure_random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace moat::dns {

namespace {

void fillFromKernel(uint8_t* out, size_t n) {
  while (n > 0) {
    const ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // Without the kernel's generator every outgoing ID would be guessable: refuse to run.
      std::fprintf(stderr, "moat: getrandom failed: %s\n", std::strerror(errno));
      std::abort();
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
}

}  // namespace

void SecureRandom::refill() {
  fillFromKernel(buf_.data(), buf_.size());
  pos_ = 0;
}

uint64_t SecureRandom::take(size_t bytes) {
  if (pos_ + bytes > buf_.size()) refill();
  uint64_t v = 0;
  std::memcpy(&v, buf_.data() + pos_, bytes);
  pos_ += bytes;
  return v;
}

void SecureRandom::fill(std::span<uint8_t> out) {
  for (auto& b : out) b = static_cast<uint8_t>(take(1));
}

SecureRandom& threadRandom() {
  thread_local SecureRandom random;
  return random;
}

}  // namespace moat::dns
