#include "harness/nightly/svg_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "harness/nightly/markup_escape.hpp"
#include "harness/util/formatted.hpp"

namespace kforge::nightly {
namespace {

// Okabe and Ito's palette, told apart with colour blindness too; each series also has its own
// marker shape, so a grey print still separates them.
constexpr std::array<const char*, 7> kColours{"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                              "#E69F00", "#56B4E9", "#000000"};
constexpr double kCharacterWidth = 6.2;  // of the 11 px sans-serif text, roughly, for layout
constexpr size_t kLongestXLabel = 16;    // longer x labels are cut, the whole label in a tooltip
// The right margin holds the reference line's label ("1x").
constexpr double kMarginLeft = 46, kMarginRight = 18, kMarginTop = 28, kXLabelRoom = 20;
constexpr double kLegendRow = 16;
constexpr double kLeastPlotHeight = 120;  // the plot grows below a legend of many rows

std::string number(double value) {
  return formatted("%.1f", value);
}

// A step of 1, 2, 2.5 or 5 times a power of ten near `raw`.
double round_step(double raw) {
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 2.5, 5.0})
    if (factor * power >= raw)
      return factor * power;
  return 10 * power;
}

// A y tick's text: "0", "1.5", "2x".
std::string tick_text(double value, const std::string& suffix) {
  std::string text = formatted("%g", std::fabs(value) < 1e-9 ? 0.0 : value);
  return text + suffix;
}

// The opening tag of series `series_index`'s marker at (x, y); marker_end closes it, so that a
// tooltip (<title>) can go inside.
std::string marker(size_t series_index, double x, double y, const char* colour,
                   const char* css_class) {
  std::string attributes = formatted("class=\"%s\" fill=\"%s\"", css_class, colour);
  switch (series_index % 4) {
    case 0:
      return formatted("<circle %s cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\">", attributes.c_str(), x, y);
    case 1:
      return formatted("<rect %s x=\"%.1f\" y=\"%.1f\" width=\"6.5\" height=\"6.5\">",
                       attributes.c_str(), x - 3.25, y - 3.25);
    case 2:
      return formatted("<path %s d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\">", attributes.c_str(), x,
                       y - 4.2, x + 4, y + 3, x - 4, y + 3);
    default:
      return formatted("<path %s d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\">",
                       attributes.c_str(), x, y - 4.5, x + 4.5, y, x, y + 4.5, x - 4.5, y);
  }
}
std::string marker_end(size_t series_index) {
  switch (series_index % 4) {
    case 0:
      return "</circle>";
    case 1:
      return "</rect>";
    default:
      return "</path>";
  }
}

std::string dash_of(size_t series_index) {
  return series_index >= kColours.size() ? " stroke-dasharray=\"6 3\"" : "";
}

// The x labels that fit side by side: all when they fit, else the first, the last and evenly
// spaced ones between.
std::vector<bool> shown_x_labels(size_t count, double plot_width, size_t longest) {
  std::vector<bool> shown(count, false);
  if (count == 0)
    return shown;
  double label_width = static_cast<double>(std::min(longest, kLongestXLabel)) * kCharacterWidth;
  auto fitting = static_cast<size_t>(std::max(1.0, plot_width / (label_width + 10)));
  if (count <= fitting) {
    std::fill(shown.begin(), shown.end(), true);
    return shown;
  }
  size_t step = fitting <= 1 ? count : (count - 1 + fitting - 2) / (fitting - 1);
  size_t last_shown = 0;
  for (size_t i = 0; i < count; i += step) {
    shown[i] = true;
    last_shown = i;
  }
  // The last night always; the one shown before it gives way when they would touch.
  if (last_shown != count - 1 && count - 1 - last_shown < (step + 1) / 2 && last_shown != 0)
    shown[last_shown] = false;
  shown[count - 1] = true;
  return shown;
}

std::string cut_label(const std::string& label) {
  if (label.size() <= kLongestXLabel)
    return label;
  size_t cut = kLongestXLabel - 1;
  while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80)
    --cut;  // never inside a UTF-8 character
  return label.substr(0, cut) + "\u2026";
}

struct LegendEntry {
  std::string name;
  double x = 0;
  double row = 0;
};

// Legend entries laid out in rows across `width`; returns the number of rows.
size_t lay_out_legend(std::vector<LegendEntry>& entries, double width) {
  double x = kMarginLeft;
  size_t row = 0;
  for (LegendEntry& entry : entries) {
    double entry_width = 22 + static_cast<double>(entry.name.size()) * kCharacterWidth + 12;
    if (x + entry_width > width && x > kMarginLeft) {
      ++row;
      x = kMarginLeft;
    }
    entry.x = x;
    entry.row = static_cast<double>(row);
    x += entry_width;
  }
  return entries.empty() ? 0 : row + 1;
}

}  // namespace

std::string svg_line_plot(const LinePlot& plot) {
  const double width = plot.width, height_given = plot.height;
  const size_t count = plot.x_labels.size();

  std::vector<LegendEntry> legend;
  for (const PlotSeries& series : plot.series)
    legend.push_back({series.name});
  size_t legend_rows = lay_out_legend(legend, width);
  const double bottom_room = kXLabelRoom + 8 + kLegendRow * static_cast<double>(legend_rows);
  const double height = std::max(height_given, kMarginTop + kLeastPlotHeight + bottom_room);
  const double left = kMarginLeft, right = width - kMarginRight, top = kMarginTop;
  const double bottom = height - bottom_room;

  // The values' range, with zero and the reference line in it.
  double low = 0, high = plot.reference_y.value_or(0);
  bool any_value = false;
  for (const PlotSeries& series : plot.series)
    for (size_t i = 0; i < std::min(count, series.values.size()); ++i)
      if (series.values[i] && std::isfinite(*series.values[i])) {
        any_value = true;
        low = std::min(low, *series.values[i]);
        high = std::max(high, *series.values[i]);
      }
  if (!(high > low))
    high = low + 1;
  const double step = round_step((high - low) / 4);
  const double y_low = std::floor(low / step) * step;
  const double y_high = std::ceil(high / step) * step;
  auto y_of = [&](double value) {
    return bottom - (value - y_low) / (y_high - y_low) * (bottom - top);
  };
  const double padding = 10;
  auto x_of = [&](size_t index) {
    if (count <= 1)
      return (left + right) / 2;
    return left + padding +
           static_cast<double>(index) * (right - left - 2 * padding) /
               static_cast<double>(count - 1);
  };

  const std::string title = html_escaped(plot.title);
  std::string svg = formatted(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\" font-family=\"system-ui, sans-serif\" "
      "font-size=\"11\">\n",
      plot.width, static_cast<int>(height), plot.width, static_cast<int>(height), title.c_str());
  svg += "<title>" + title + "</title>\n";
  svg += formatted(
      "<text class=\"plot-title\" x=\"%s\" y=\"16\" font-size=\"12\" "
      "font-weight=\"600\">%s</text>\n",
      number(left).c_str(), title.c_str());

  // Grid, y ticks and axes.
  for (double tick = y_low; tick <= y_high + step / 2; tick += step) {
    double y = y_of(tick);
    svg += formatted(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
        left, y, right, y, left - 6, y + 4, html_escaped(tick_text(tick, plot.y_suffix)).c_str());
  }
  svg +=
      formatted("<path class=\"axes\" d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#777\"/>\n",
                left, top, bottom, right);

  if (plot.reference_y) {
    double y = y_of(*plot.reference_y);
    svg += formatted(
        "<line class=\"reference\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#888\" stroke-dasharray=\"4 3\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" fill=\"#777\" font-size=\"9\">%s</text>\n",
        left, y, right, y, right + 2, y + 3, html_escaped(plot.reference_label).c_str());
  }

  // X labels.
  size_t longest = 0;
  for (const std::string& label : plot.x_labels)
    longest = std::max(longest, label.size());
  std::vector<bool> shown = shown_x_labels(count, right - left, longest);
  for (size_t i = 0; i < count; ++i) {
    if (!shown[i])
      continue;
    const char* anchor = count == 1       ? "middle"
                         : i == 0         ? "start"
                         : i + 1 == count ? "end"
                                          : "middle";
    double x = count == 1 ? x_of(i) : i == 0 ? left : i + 1 == count ? right : x_of(i);
    svg += formatted(
        "<text class=\"x-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#555\">%s"
        "<title>%s</title></text>\n",
        x, bottom + 15, anchor, html_escaped(cut_label(plot.x_labels[i])).c_str(),
        html_escaped(plot.x_labels[i]).c_str());
  }

  // The series: a polyline through each run of consecutive values, a marker on every value.
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const PlotSeries& series = plot.series[s];
    const char* colour = kColours[s % kColours.size()];
    const std::string name = html_escaped(series.name);
    svg += formatted("<g class=\"series\" aria-label=\"%s\">\n", name.c_str());
    std::string run;
    size_t run_length = 0;
    auto close_run = [&] {
      if (run_length >= 2)
        svg += formatted(
            "<polyline class=\"line\" points=\"%s\" fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"2\"%s/>\n",
            run.c_str(), colour, dash_of(s).c_str());
      run.clear();
      run_length = 0;
    };
    std::string markers;
    for (size_t i = 0; i < count; ++i) {
      std::optional<double> value = i < series.values.size() ? series.values[i] : std::nullopt;
      if (!value || !std::isfinite(*value)) {
        close_run();
        continue;
      }
      double x = x_of(i), y = y_of(*value);
      run += (run.empty() ? "" : " ") + number(x) + "," + number(y);
      ++run_length;
      markers += marker(s, x, y, colour, "marker") + "<title>" + name + ", " +
                 html_escaped(plot.x_labels[i]) + ": " +
                 html_escaped(formatted("%.3g", *value) + plot.y_suffix) + "</title>" +
                 marker_end(s) + "\n";
    }
    close_run();
    svg += markers + "</g>\n";
  }
  if (!any_value)
    svg += formatted(
        "<text class=\"no-data\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#999\">"
        "no data</text>\n",
        (left + right) / 2, (top + bottom) / 2);

  // The legend, below the x labels.
  for (size_t s = 0; s < legend.size(); ++s) {
    const char* colour = kColours[s % kColours.size()];
    double y = bottom + kXLabelRoom + 8 + legend[s].row * kLegendRow;
    svg += formatted(
        "<g class=\"legend-entry\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"%s\" stroke-width=\"2\"%s/>",
        legend[s].x, y, legend[s].x + 18, y, colour, dash_of(s).c_str());
    svg += marker(s, legend[s].x + 9, y, colour, "legend-marker") + marker_end(s);
    svg += formatted("<text x=\"%.1f\" y=\"%.1f\">%s</text></g>\n", legend[s].x + 24, y + 4,
                     html_escaped(legend[s].name).c_str());
  }
  svg += "</svg>";
  return svg;
}

}  // namespace kforge::nightly
