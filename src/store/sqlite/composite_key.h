// Several strings as one hash-map key, for the SQLite writer's caches: each
// field is prefixed with its length, so ("ab", "c") and ("a", "bc") stay
// apart whatever bytes the fields hold. The key is built in a buffer the
// caller keeps (no allocation once it has grown), and TransparentStringHash
// lets a std::unordered_* container look it up as a string_view, without
// building a std::string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tally {

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// Writes `fields` into `scratch` (replacing what it held) and returns a view
// of it, valid until `scratch` changes.
inline std::string_view EncodeCompositeKey(std::string& scratch,
                                           std::initializer_list<std::string_view> fields) {
  scratch.clear();
  for (std::string_view field : fields) {
    // Fields are short (keys <= 256 bytes); 32 bits of length is plenty.
    const auto size = static_cast<uint32_t>(field.size());
    scratch.append(reinterpret_cast<const char*>(&size), sizeof size);
    scratch.append(field);
  }
  return scratch;
}

}  // namespace tally
