#include "profiler/ncu_csv.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

struct Record {
  size_t line = 0;  // where it starts, 1-based
  std::vector<std::string> fields;
};

// Reads one CSV record starting at `position` (the start of a line) up to its unquoted end of
// line, moving `position` and `line` past it. Quoted fields may hold commas, doubled quotes and
// line breaks; a quote left open at the end of the text is an Error.
Record read_record(std::string_view text, size_t& position, size_t& line,
                   const std::string& where) {
  Record record;
  record.line = line;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  while (position < text.size()) {
    char c = text[position++];
    if (quoted) {
      if (c == '"') {
        if (position < text.size() && text[position] == '"') {
          field += '"';
          ++position;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n')
          ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !was_quoted && field.empty()) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n') {
      ++line;
      break;
    } else if (c != '\r') {
      field += c;
    }
  }
  if (quoted)
    throw Error("an unterminated quoted field in the Nsight Compute CSV",
                where + ":" + std::to_string(record.line));
  record.fields.push_back(std::move(field));
  return record;
}

std::string_view line_at(std::string_view text, size_t position) {
  size_t end = text.find('\n', position);
  return text.substr(position, end == std::string_view::npos ? text.npos : end - position);
}

void skip_line(std::string_view text, size_t& position, size_t& line) {
  size_t end = text.find('\n', position);
  position = end == std::string_view::npos ? text.size() : end + 1;
  ++line;
}

bool is_blank(std::string_view text) {
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c)))
      return false;
  }
  return true;
}

// ncu's own lines (==PROF==, ==WARNING==, ==ERROR==), skipped wherever they are.
bool is_profiler_line(std::string_view line) {
  return line.substr(0, 2) == "==";
}

bool is_header_start(std::string_view line) {
  return line.substr(0, 5) == "\"ID\"," || line.substr(0, 3) == "ID,";
}

}  // namespace

std::optional<double> parse_ncu_number(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.empty())
    return std::nullopt;
  // Thousands separators: a comma only between groups of three digits in the integer part.
  std::string cleaned;
  size_t point = text.find_first_of(".eE");
  std::string_view integer = text.substr(0, point);
  size_t digits_since_comma = 0;
  bool saw_comma = false;
  for (size_t i = 0; i < integer.size(); ++i) {
    char c = integer[i];
    if (c == ',') {
      bool leading_group_ok =
          saw_comma ? digits_since_comma == 3 : digits_since_comma >= 1 && digits_since_comma <= 3;
      if (!leading_group_ok)
        return std::nullopt;
      saw_comma = true;
      digits_since_comma = 0;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)))
      ++digits_since_comma;
    cleaned += c;
  }
  if (saw_comma && digits_since_comma != 3)
    return std::nullopt;
  if (point != std::string_view::npos)
    cleaned.append(text.substr(point));
  double value = 0;
  const char* begin = cleaned.data();
  const char* end = cleaned.data() + cleaned.size();
  if (!cleaned.empty() && cleaned.front() == '+')
    ++begin;
  auto [stop, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || stop != end || !std::isfinite(value))
    return std::nullopt;
  return value;
}

double ncu_unit_scale(std::string_view unit) {
  // Durations to nanoseconds, Nsight Compute's base unit for gpu__time_duration.
  static constexpr std::array<std::pair<std::string_view, double>, 8> kTimes = {{
      {"nsecond", 1},
      {"ns", 1},
      {"usecond", 1e3},
      {"us", 1e3},
      {"msecond", 1e6},
      {"ms", 1e6},
      {"second", 1e9},
      {"s", 1e9},
  }};
  // A rate's time below the line, to per second.
  static constexpr std::array<std::pair<std::string_view, double>, 4> kPerTimes = {{
      {"nsecond", 1e9},
      {"usecond", 1e6},
      {"msecond", 1e3},
      {"second", 1},
  }};
  for (const auto& [name, scale] : kTimes) {
    if (unit == name)
      return scale;
  }
  double scale = 1;
  std::string_view numerator = unit;
  if (size_t slash = unit.find('/'); slash != std::string_view::npos) {
    numerator = unit.substr(0, slash);
    std::string_view denominator = unit.substr(slash + 1);
    for (const auto& [name, per] : kPerTimes) {
      if (denominator == name)
        scale = per;
    }
  }
  // SI prefixes on a lower-case unit word: Kbyte, Mbyte, Gbyte, Tbyte, Kinst, Mhz, ...
  if (numerator.size() >= 2 && std::islower(static_cast<unsigned char>(numerator[1]))) {
    switch (numerator[0]) {
      case 'K':
      case 'k':
        return scale * 1e3;
      case 'M':
        return scale * 1e6;
      case 'G':
        return scale * 1e9;
      case 'T':
        return scale * 1e12;
      default:
        break;
    }
  }
  return scale;
}

std::vector<CounterSet> parse_ncu_raw_csv(std::string_view text, const std::string& where) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);
  size_t position = 0;
  size_t line = 1;
  // Up to the header: ncu's and the application's lines.
  while (position < text.size() && !is_header_start(line_at(text, position)))
    skip_line(text, position, line);
  if (position >= text.size())
    throw Error(
        "not an Nsight Compute raw-page CSV: no header row starting with \"ID\" (export with "
        "ncu --csv --page raw)",
        where);
  Record header = read_record(text, position, line, where);
  std::string header_where = where + ":" + std::to_string(header.line);
  auto column_of = [&](std::string_view name) -> std::optional<size_t> {
    for (size_t i = 0; i < header.fields.size(); ++i) {
      if (header.fields[i] == name)
        return i;
    }
    return std::nullopt;
  };
  if (column_of("Metric Name") && column_of("Metric Value"))
    throw Error(
        "this is Nsight Compute's details-page CSV (one row per metric); export the raw page "
        "instead: ncu --csv --page raw",
        header_where);
  std::optional<size_t> kernel_column = column_of("Kernel Name");
  if (!kernel_column)
    throw Error("the Nsight Compute CSV header has no \"Kernel Name\" column", header_where);
  std::vector<size_t> metric_columns;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    if (header.fields[i].find("__") != std::string::npos)
      metric_columns.push_back(i);
  }
  std::vector<double> scales(header.fields.size(), 1.0);
  std::vector<CounterSet> launches;
  bool first_row = true;
  while (position < text.size()) {
    std::string_view current = line_at(text, position);
    if (is_profiler_line(current) || is_blank(current)) {
      skip_line(text, position, line);
      continue;
    }
    Record record = read_record(text, position, line, where);
    std::string record_where = where + ":" + std::to_string(record.line);
    if (record.fields.size() != header.fields.size())
      throw Error("a row of " + std::to_string(record.fields.size()) +
                      " fields where the header has " + std::to_string(header.fields.size()),
                  record_where);
    // The units row: right after the header, no launch ID.
    if (first_row && record.fields[0].empty()) {
      first_row = false;
      for (size_t column : metric_columns)
        scales[column] = ncu_unit_scale(record.fields[column]);
      continue;
    }
    first_row = false;
    CounterSet launch;
    launch.kernel = record.fields[*kernel_column];
    launch.id = record.fields[0];
    if (launch.kernel.empty())
      throw Error("a row without a kernel name", record_where);
    for (size_t column : metric_columns) {
      if (std::optional<double> value = parse_ncu_number(record.fields[column]))
        launch.metrics[header.fields[column]] = *value * scales[column];
    }
    launches.push_back(std::move(launch));
  }
  if (launches.empty())
    throw Error("the Nsight Compute CSV has a header but no profiled launch", header_where);
  return launches;
}

}  // namespace kforge
