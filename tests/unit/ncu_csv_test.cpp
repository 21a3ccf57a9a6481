// The reader of Nsight Compute's raw-page CSV export and of kforge's JSON counters
// (profiler/ncu_csv.hpp, profiler/counter_file.hpp): quoting, the units row, several launches,
// thousands separators, n/a values, ncu's own lines, and one-line errors with the position.
#include "profiler/ncu_csv.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "profiler/counter_file.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

// The shape `ncu --csv --page raw` writes: its own lines first, a header, a units row, launches.
constexpr std::string_view kExport =
    "==PROF== Connected to process 4242 (/usr/bin/python3)\n"
    "==PROF== Profiling \"scale\" - 0: 0%....50%....100% - 9 passes\n"
    "\"ID\",\"Process ID\",\"Process Name\",\"Host Name\",\"Kernel Name\",\"Block Size\","
    "\"Grid Size\",\"Device\",\"CC\",\"dram__bytes_read.sum\",\"gpu__time_duration.sum\","
    "\"launch__grid_size\",\"sm__throughput.avg.pct_of_peak_sustained_elapsed\","
    "\"device__attribute_display_name\",\"dram__throughput.avg.pct_of_peak_sustained_elapsed\"\n"
    "\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"Mbyte\",\"usecond\",\"\",\"%\",\"\",\"%\"\n"
    "\"0\",\"4242\",\"python3\",\"host\",\"void scale<float>(float*, \"\"const\"\" float*, int)\","
    "\"(256, 1, 1)\",\"(4096, 1, 1)\",\"0\",\"9.0\",\"4.19\",\"12.45\",\"4,096\",\"23.5\","
    "\"NVIDIA H100 80GB HBM3\",\"n/a\"\n"
    "==PROF== Profiling \"reduce\" - 1: 0%....50%....100% - 9 passes\n"
    "\"1\",\"4242\",\"python3\",\"host\",\"reduce_rows\",\"(128, 1, 1)\",\"(16, 1, 1)\",\"0\","
    "\"9.0\",\"1,234.5\",\"1,002.25\",\"16\",\"\",\"NVIDIA H100 80GB HBM3\",\"8.9\"\n"
    "==PROF== Disconnected from process 4242\n";

TEST(NcuCsv, ReadsEveryLaunchScaledToBaseUnits) {
  std::vector<CounterSet> launches = parse_ncu_raw_csv(kExport, "export.csv");
  ASSERT_EQ(launches.size(), 2u);
  const CounterSet& scale = launches[0];
  EXPECT_EQ(scale.kernel, "void scale<float>(float*, \"const\" float*, int)");
  EXPECT_EQ(scale.id, "0");
  EXPECT_DOUBLE_EQ(*scale.metric("dram__bytes_read.sum"), 4.19e6);   // Mbyte -> bytes
  EXPECT_DOUBLE_EQ(*scale.metric("gpu__time_duration.sum"), 12450);  // usecond -> ns
  EXPECT_DOUBLE_EQ(*scale.metric("launch__grid_size"), 4096);        // thousands separator
  EXPECT_DOUBLE_EQ(*scale.metric("sm__throughput.avg.pct_of_peak_sustained_elapsed"), 23.5);
  EXPECT_FALSE(scale.metric("dram__throughput.avg.pct_of_peak_sustained_elapsed"));  // n/a
  EXPECT_FALSE(scale.metric("device__attribute_display_name"));  // text, not a number
  EXPECT_FALSE(scale.metric("Block Size"));                      // launch details, not metrics
  EXPECT_FALSE(scale.flops);
  const CounterSet& reduce = launches[1];
  EXPECT_EQ(reduce.kernel, "reduce_rows");
  EXPECT_DOUBLE_EQ(*reduce.metric("dram__bytes_read.sum"), 1234.5e6);
  EXPECT_DOUBLE_EQ(*reduce.metric("gpu__time_duration.sum"), 1002250);
  EXPECT_FALSE(reduce.metric("sm__throughput.avg.pct_of_peak_sustained_elapsed"));  // empty
}

TEST(NcuCsv, WithoutAUnitsRowValuesAreTakenAsTheyAre) {
  std::string text =
      "\"ID\",\"Kernel Name\",\"gpu__time_duration.sum\"\n"
      "\"0\",\"k\",\"2,500\"\r\n"
      "\n"
      "\"1\",\"k\",\"3e3\"\n";
  std::vector<CounterSet> launches = parse_ncu_raw_csv(text, "x.csv");
  ASSERT_EQ(launches.size(), 2u);
  EXPECT_DOUBLE_EQ(*launches[0].metric("gpu__time_duration.sum"), 2500);
  EXPECT_DOUBLE_EQ(*launches[1].metric("gpu__time_duration.sum"), 3000);
}

TEST(NcuCsv, QuotedFieldsMayHoldCommasAndLineBreaks) {
  std::string text =
      "\"ID\",\"Kernel Name\",\"launch__grid_size\"\n"
      "\"0\",\"kernel<1,\n2>\",\"7\"\n"
      "\"1\",\"b\",\"8\"\n";
  std::vector<CounterSet> launches = parse_ncu_raw_csv(text, "x.csv");
  ASSERT_EQ(launches.size(), 2u);
  EXPECT_EQ(launches[0].kernel, "kernel<1,\n2>");
  EXPECT_DOUBLE_EQ(*launches[1].metric("launch__grid_size"), 8);
}

TEST(NcuCsv, NumbersAndUnits) {
  EXPECT_DOUBLE_EQ(*parse_ncu_number("1,234,567"), 1234567);
  EXPECT_DOUBLE_EQ(*parse_ncu_number(" -1,234.5 "), -1234.5);
  EXPECT_DOUBLE_EQ(*parse_ncu_number("4.0e-05"), 4e-5);
  EXPECT_DOUBLE_EQ(*parse_ncu_number("+7"), 7);
  EXPECT_FALSE(parse_ncu_number("n/a"));
  EXPECT_FALSE(parse_ncu_number(""));
  EXPECT_FALSE(parse_ncu_number("1,23"));     // a decimal comma, not a thousands separator
  EXPECT_FALSE(parse_ncu_number("12,3456"));  // groups of three only
  EXPECT_FALSE(parse_ncu_number("(256, 1, 1)"));
  EXPECT_FALSE(parse_ncu_number("nan"));
  EXPECT_FALSE(parse_ncu_number("1.5x"));
  EXPECT_DOUBLE_EQ(ncu_unit_scale("byte"), 1);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("Kbyte"), 1e3);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("Gbyte"), 1e9);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("nsecond"), 1);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("msecond"), 1e6);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("second"), 1e9);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("Tbyte/second"), 1e12);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("byte/usecond"), 1e6);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("%"), 1);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("register/thread"), 1);
  EXPECT_DOUBLE_EQ(ncu_unit_scale("Minst"), 1e6);
}

std::string error_of(std::string_view text) {
  try {
    parse_ncu_raw_csv(text, "bad.csv");
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(NcuCsv, MalformedExportsAreOneErrorWithTheLine) {
  EXPECT_EQ(error_of("==PROF== nothing profiled\n"),
            "not an Nsight Compute raw-page CSV: no header row starting with \"ID\" (export with "
            "ncu --csv --page raw) (bad.csv)");
  EXPECT_EQ(error_of("\"ID\",\"Kernel Name\",\"a__b\"\n\"0\",\"k\",\"1\"\n\"1\",\"k\n"),
            "an unterminated quoted field in the Nsight Compute CSV (bad.csv:3)");
  EXPECT_EQ(error_of("x\n\"ID\",\"Kernel Name\",\"a__b\"\n\"0\",\"k\"\n"),
            "a row of 2 fields where the header has 3 (bad.csv:3)");
  EXPECT_EQ(error_of("\"ID\",\"Name\",\"a__b\"\n\"0\",\"k\",\"1\"\n"),
            "the Nsight Compute CSV header has no \"Kernel Name\" column (bad.csv:1)");
  EXPECT_EQ(error_of("\"ID\",\"Kernel Name\",\"a__b\"\n\"\",\"\",\"byte\"\n"),
            "the Nsight Compute CSV has a header but no profiled launch (bad.csv:1)");
  std::string details = error_of(
      "\"ID\",\"Kernel Name\",\"Section Name\",\"Metric Name\",\"Metric Unit\","
      "\"Metric Value\"\n\"0\",\"k\",\"SOL\",\"a__b\",\"%\",\"1\"\n");
  EXPECT_NE(details.find("details-page CSV"), std::string::npos) << details;
}

TEST(CounterFile, JsonObjectOrArray) {
  std::vector<CounterSet> one = parse_counter_json(
      R"({"kernel": "k", "metrics": {"gpu__time_duration.sum": 1500, "x__y": null},
          "flops": 1e9, "bytes": 4e6})",
      "c.json");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].kernel, "k");
  EXPECT_DOUBLE_EQ(*one[0].metric("gpu__time_duration.sum"), 1500);
  EXPECT_FALSE(one[0].metric("x__y"));
  EXPECT_DOUBLE_EQ(*one[0].flops, 1e9);
  EXPECT_DOUBLE_EQ(*one[0].bytes, 4e6);
  std::vector<CounterSet> two = parse_counter_json(
      R"([{"kernel": "a", "metrics": {}}, {"kernel": "b", "id": "7", "metrics": {}, "flops": 0}])",
      "c.json");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_FALSE(two[0].flops);
  EXPECT_EQ(two[1].id, "7");
  EXPECT_DOUBLE_EQ(*two[1].flops, 0);
}

std::string json_error_of(std::string_view text) {
  try {
    parse_counter_json(text, "c.json");
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(CounterFile, JsonMistakesNameTheFileAndWhere) {
  std::string malformed = json_error_of("{\n  \"kernel\": \"k\",\n  \"metrics\": {\"a\": 1,}\n}");
  EXPECT_NE(malformed.find("malformed JSON"), std::string::npos) << malformed;
  EXPECT_NE(malformed.find("(c.json:3:"), std::string::npos) << malformed;
  EXPECT_EQ(malformed.find('\n'), std::string::npos) << malformed;
  EXPECT_EQ(json_error_of(R"([{"kernel": "k", "metrics": {"a__b": "12"}}])"),
            "the value of metric 'a__b' is not a number (string) (c.json: /0/metrics/a__b)");
  EXPECT_NE(json_error_of(R"({"kernel": "k", "metrics": {}, "flop": 1})")
                .find("unknown field 'flop'; did you mean 'flops'?"),
            std::string::npos);
  EXPECT_EQ(json_error_of(R"({"metrics": {}})"), "missing field 'kernel' (c.json: /)");
  EXPECT_EQ(json_error_of(R"({"kernel": "k", "metrics": {}, "bytes": -1})"),
            "field 'bytes' must be a non-negative number (c.json: /)");
  EXPECT_EQ(json_error_of(R"({"kernel": "k", "metrics": [1]})"),
            "field 'metrics' must be an object of metric names and numbers (c.json: /)");
  EXPECT_EQ(json_error_of("[]"), "an empty array: no kernel's counters (c.json)");
  EXPECT_EQ(json_error_of("[3]"), "expected a JSON object, got number (c.json: /0)");
}

TEST(CounterFile, TellsJsonFromCsvByTheFirstCharacter) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "c.json", "\n  {\"kernel\": \"k\", \"metrics\": {}}\n");
  EXPECT_EQ(read_counter_file(dir / "c.json").at(0).kernel, "k");
  testing::write_text(dir / "c.csv", std::string(kExport));
  EXPECT_EQ(read_counter_file(dir / "c.csv").size(), 2u);
  testing::write_text(dir / "empty", "  \n");
  EXPECT_THROW(read_counter_file(dir / "empty"), Error);
  EXPECT_THROW(read_counter_file(dir / "missing.json"), Error);
}

}  // namespace
}  // namespace kforge
