// Fuzz target: the message codec decoding a header frame and a payload frame (first line, rest).
#include <cstdlib>

#include "stages/runtime/codec.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vnawire::runtime;
  const auto [header_frame, payload_frame] = vnawire::fuzz::split_first_line(vnawire::fuzz::as_text(data, size));
  auto decoded = decode(header_frame, payload_frame);
  if (!decoded) return 0;
  // What a stage decodes it forwards: encoding it must give frames that decode to the same frames again.
  const Frames once = encode(decoded.value());
  auto again = decode(once.header, once.payload);
  if (!again) std::abort();
  const Frames twice = encode(again.value());
  if (twice.header != once.header || twice.payload != once.payload) std::abort();
  return 0;
}
