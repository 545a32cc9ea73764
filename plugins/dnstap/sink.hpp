// One tap's output: libfstrm's I/O thread (fstrm_iothr) writing Frame Streams to a unix or TCP
// socket through a connection of our own (so Moat knows when it is connected, resolves host
// names and sizes the TCP send buffer), fed by one input queue per worker.
//
// Per query nothing is allocated: each worker encodes into its own preallocated arena, and
// fstrm's free callback marks the frame's bytes reusable once the I/O thread wrote or dropped
// it. A frame is dropped, and counted, when the reader is not connected, when the worker's
// fstrm queue is full, or when its arena has no room: a slow or absent reader never makes a
// query wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "plugins/dnstap/config.hpp"

struct fstrm_iothr;
struct fstrm_iothr_queue;

namespace moat::plugins::dnstap {

// A per-worker ring of frame buffers. Only its worker allocates; fstrm's I/O thread only marks
// a frame done (in any order), and the worker reclaims done frames from the oldest on.
class Arena {
 public:
  explicit Arena(size_t capacity);
  // Room for `len` bytes, or an empty span when the ring has none.
  std::span<uint8_t> allocate(size_t len);
  // Marks a frame's bytes reusable: fstrm's free callback, or the worker when submit failed.
  static void release(void* data, void* header);
  // The header to hand fstrm with the frame allocate() returned last.
  void* lastHeader() const { return last_; }
  size_t used() const { return used_; }

 private:
  void reclaim();

  std::unique_ptr<uint8_t[]> bytes_;
  size_t capacity_;
  size_t head_ = 0;
  size_t tail_ = 0;
  size_t used_ = 0;
  void* last_ = nullptr;
};

class Sink {
 public:
  Sink(const TapConfig& config, size_t workers);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // A buffer of `len` bytes for worker `w` to encode one frame into, or empty (dropped and
  // counted: not connected, or no room).
  std::span<uint8_t> reserve(unsigned w, size_t len);
  // Hands the buffer reserve() returned to the I/O thread; a full queue drops it (counted).
  void submit(unsigned w, std::span<uint8_t> frame);

  bool connected() const;
  uint64_t dropped() const;
  uint64_t submitted() const;
  const std::string& endpoint() const { return endpoint_; }

  struct Connection;  // the socket fstrm writes through (sink.cpp)

 private:
  struct alignas(64) Worker {
    explicit Worker(size_t arenaBytes) : arena(arenaBytes) {}
    Arena arena;
    fstrm_iothr_queue* queue = nullptr;
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint64_t> submitted{0};
  };

  std::string endpoint_;
  std::unique_ptr<Connection> connection_;
  std::vector<std::unique_ptr<Worker>> workers_;
  fstrm_iothr* iothr_ = nullptr;
};

}  // namespace moat::plugins::dnstap
