// The two object parsers. Both stream: they hand each object to the sink as it ends and keep
// no more of the document than that object. Errors are thrown as ObjectError (loader-internal).
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <string_view>

#include "plugins/kubernetes/objects_tree.hpp"

namespace moat::plugins::kubernetes::objects {

// A YAML stream of one or more documents; positions are yamlWhere(line, col).
void parseYaml(std::istream& in, ObjectSink& sink);

// One JSON document, given chunk by chunk by `next` (empty: the end; each chunk stays valid
// until the next call); positions are byte offsets. Parsed with Boost.JSON's SAX parser: no
// DOM, no copy of the whole text.
void parseJson(const std::function<std::string_view()>& next, ObjectSink& sink);

}  // namespace moat::plugins::kubernetes::objects
