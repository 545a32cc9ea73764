#include "plugins/plugin.hpp"

namespace moat::plugins {
std::span<const PluginSpec> registry() { return {}; }
}  // namespace moat::plugins
