// Random numbers an attacker must not predict: outgoing query IDs, the choice of outgoing socket,
// health probe IDs. They come straight from the kernel's CSPRNG (getrandom(2), ChaCha20 inside),
// fetched in batches so one system call serves a few hundred draws: the hot path stays a copy
// out of a buffer. One instance per thread; nothing here is shared.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace moat::dns {

class SecureRandom {
 public:
  SecureRandom() = default;
  SecureRandom(const SecureRandom&) = delete;
  SecureRandom& operator=(const SecureRandom&) = delete;

  uint16_t u16() { return static_cast<uint16_t>(take(2)); }
  uint32_t u32() { return static_cast<uint32_t>(take(4)); }
  uint64_t u64() { return take(8); }
  // Uniform in [0, n) for 0 < n <= 2^16 (Lemire's multiply-shift on 48 bits: the bias is below
  // 2^-32, far under anything an attacker could measure). n = 0 gives 0.
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((take(6) * n) >> 48); }
  void fill(std::span<uint8_t> out);

 private:
  static constexpr size_t kBatch = 512;
  uint64_t take(size_t bytes);
  void refill();

  std::array<uint8_t, kBatch> buf_{};
  size_t pos_ = kBatch;  // empty until first use: no system call for instances never drawn from
};

// The calling thread's own instance (health probes, TCP IDs: paths without a worker object).
SecureRandom& threadRandom();

}  // namespace moat::dns
