// A line plot as inline SVG, drawn without scripts or fonts from the network: the report's
// speedup-across-nights charts. Built for the data nights give: one point (a marker in the
// middle), missing values (the line breaks there; the other points keep their markers), long
// histories (x labels thinned to what fits) and values far apart (the y axis starts at zero and
// ends on a round number above the largest value and the reference line).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kforge::nightly {

// One line: a value per x label, nullopt where there is none.
struct PlotSeries {
  std::string name;
  std::vector<std::optional<double>> values;
};

struct LinePlot {
  std::string title;
  std::vector<std::string> x_labels;  // one per x position, in order
  std::vector<PlotSeries> series;     // drawn in order, each in its own colour and marker
  std::string y_suffix;               // after each y tick's number: "x" for speedups
  std::optional<double> reference_y;  // a dashed horizontal line (1x: as fast as the baseline)
  std::string reference_label;
  int width = 360;
  int height = 230;
};

// The plot as one <svg> element (class "plot"), every text in it escaped. A series' values
// beyond the x labels are ignored; a non-finite value counts as missing.
std::string svg_line_plot(const LinePlot& plot);

}  // namespace kforge::nightly
