// moat_k8s_load PATH...: loads Kubernetes objects as the kubernetes plugin does and prints the
// load time, the peak RSS (VmHWM) and what was loaded. See bench/kubernetes/README.md.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "plugins/kubernetes/objects.hpp"

namespace {

// A /proc/self/status field in kB ("VmHWM:   123456 kB"), or -1.
long statusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PATH...  (files or directories of Kubernetes objects)\n",
                 argv[0]);
    return 2;
  }
  std::vector<std::string> paths(argv + 1, argv + argc);
  const long rssBefore = statusKb("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  auto cluster = moat::plugins::kubernetes::loadObjects(paths, 1);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (!cluster) {
    std::fprintf(stderr, "error: %s\n", cluster.error().str().c_str());
    return 1;
  }
  const long hwm = statusKb("VmHWM");
  const long rss = statusKb("VmRSS");
  const auto& s = (*cluster)->stats();
  std::printf("%s\n", moat::plugins::kubernetes::describeLoad(s).c_str());
  std::printf("load_ms %.1f\n", std::chrono::duration<double, std::milli>(elapsed).count());
  std::printf("peak_rss_mb %.1f\n", hwm / 1024.0);
  std::printf("rss_after_mb %.1f (before load %.1f)\n", rss / 1024.0, rssBefore / 1024.0);
  if (s.services > 0)
    std::printf("bytes_per_service %.0f (resident after load, minus before, / services)\n",
                (rss - rssBefore) * 1024.0 / double(s.services));
  return 0;
}
