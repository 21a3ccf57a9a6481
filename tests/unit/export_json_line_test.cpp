#include "datasets/export/json_line.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace kforge::dataset {
namespace {

TEST(ExportJsonLine, WritesOneValidLineWhateverTheText) {
  JsonLine line;
  line.begin();
  line.string("source", std::string("a\"b\\c\nd\t\x01 \xc3\xa9 \xff"
                                    " end"));
  line.integer("id", 7);
  line.integer("none", std::nullopt);
  line.number("x", 2.5);
  line.number("nan", std::numeric_limits<double>::quiet_NaN());
  line.raw("plan", std::string(R"({"kernels":[]})"));
  line.raw("missing", std::nullopt);
  const std::string& text = line.finish();
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);  // one line
  auto parsed = nlohmann::json::parse(text);
  // Valid UTF-8 (é) is kept; the stray byte 0xff becomes U+FFFD.
  EXPECT_EQ(parsed["source"],
            "a\"b\\c\nd\t\x01 \xc3\xa9 \xef\xbf\xbd"
            " end");
  EXPECT_EQ(parsed["id"], 7);
  EXPECT_TRUE(parsed["none"].is_null());
  EXPECT_EQ(parsed["x"], 2.5);
  EXPECT_TRUE(parsed["nan"].is_null());
  EXPECT_EQ(parsed["plan"]["kernels"], nlohmann::json::array());
  EXPECT_TRUE(parsed["missing"].is_null());
}

TEST(ExportJsonLine, RejectsOverlongAndSurrogateSequences) {
  std::string out;
  JsonLine::append_escaped(out, "\xc0\xaf|\xed\xa0\x80|\xf0\x9f\x98\x80");
  EXPECT_EQ(nlohmann::json::parse(out),
            "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80");
}

// The fast path skips plain text eight bytes at a time: every byte that needs care must be
// caught wherever it falls in a block, and next to any other byte.
TEST(ExportJsonLine, EscapesEveryByteAtEveryPositionOfABlock) {
  for (int byte = 0; byte < 256; ++byte) {
    for (size_t position = 0; position < 19; ++position) {
      std::string text(24, 'k');
      text[position] = static_cast<char>(byte);
      std::string out;
      JsonLine::append_escaped(out, text);
      std::string expected = text;
      if (byte >= 0x80)
        expected.replace(position, 1, "\xef\xbf\xbd");
      ASSERT_EQ(nlohmann::json::parse(out), expected) << "byte " << byte << " at " << position;
    }
  }
}

}  // namespace
}  // namespace kforge::dataset
