// Exceptions thrown by the core; the bindings translate them into Python
// exceptions (ValueError / TypeError / RuntimeError) with the same message.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tf {

// Invalid argument value or shape -> Python ValueError.
struct ValueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Wrong type / dtype / layout -> Python TypeError.
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... R>
void append(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Concatenate the arguments with operator<< into one message.
template <class... A>
std::string msg(const A&... a) {
  std::ostringstream os;
  detail::append(os, a...);
  return os.str();
}

#define TF_CHECK(cond, ...)                              \
  do {                                                   \
    if (!(cond)) throw ::tf::ValueError(::tf::msg(__VA_ARGS__)); \
  } while (0)

}  // namespace tf
