#include "report/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facematch/error.hpp"

namespace facematch::report {

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrey(200, 200, 200), kBlue(200, 90, 20), kGreen(40, 150, 40),
    kRed(40, 40, 210), kMarkColours[] = {cv::Scalar(0, 0, 0),     cv::Scalar(160, 0, 160),
                                         cv::Scalar(0, 130, 200), cv::Scalar(120, 120, 0),
                                         cv::Scalar(0, 90, 160),  cv::Scalar(130, 130, 130)};
constexpr int kWidth = 1200, kHeight = 520, kPanel = 600;
constexpr int kLeft = 70, kRight = 25, kTop = 70, kBottom = 60;

// Maps data coordinates to pixels inside one panel's plot area.
struct Axes {
  int x0;  // panel's left edge
  double xmin, xmax, ymin, ymax;
  cv::Point at(double x, double y) const {
    const double w = kPanel - kLeft - kRight, h = kHeight - kTop - kBottom;
    const double px = x0 + kLeft + (std::clamp(x, xmin, xmax) - xmin) / (xmax - xmin) * w;
    const double py = kTop + h - (std::clamp(y, ymin, ymax) - ymin) / (ymax - ymin) * h;
    return {static_cast<int>(std::lround(px)), static_cast<int>(std::lround(py))};
  }
};

void text(cv::Mat& img, const std::string& s, cv::Point p, double scale = 0.45,
          const cv::Scalar& colour = kBlack) {
  cv::putText(img, s, p, cv::FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv::LINE_AA);
}

std::string format(const char* fmt, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, fmt, value);
  return buffer;
}

void frame(cv::Mat& img, const Axes& a, const std::string& title, const std::string& xlabel,
           const std::string& ylabel) {
  cv::rectangle(img, a.at(a.xmin, a.ymax), a.at(a.xmax, a.ymin), kBlack, 1);
  text(img, title, {a.x0 + kLeft, kTop - 14}, 0.55);
  text(img, xlabel, {a.x0 + kPanel - kRight - 170, kHeight - 15});
  text(img, ylabel, {a.x0 + 5, kTop - 14});
}

// Where the pipeline accepts pairs at `threshold`.
std::pair<double, double> rates_at(std::span<const ScoredPair> pairs, double threshold) {
  const auto acc = accuracy_at(pairs, threshold);
  std::size_t genuine = 0;
  for (const auto& p : pairs) genuine += p.same;
  const std::size_t impostors = pairs.size() - genuine;
  const double far = impostors ? static_cast<double>(acc.false_accepts) / static_cast<double>(impostors) : 0;
  const double tar =
      genuine ? static_cast<double>(genuine - acc.false_rejects) / static_cast<double>(genuine) : 0;
  return {far, tar};
}

void draw_roc(cv::Mat& img, std::span<const ScoredPair> pairs, const std::vector<PlotMark>& marks) {
  std::size_t impostors = 0;
  for (const auto& p : pairs) impostors += !p.same;
  // The axis starts at the decade below the smallest non-zero FAR the data can show.
  const double lowest =
      std::floor(std::log10(1.0 / static_cast<double>(std::max<std::size_t>(impostors, 1))));
  const Axes a{0, std::min(lowest, -1.0), 0, 0, 1};
  for (double e = a.xmin; e <= 0; ++e) {
    cv::line(img, a.at(e, 0), a.at(e, 1), kGrey);
    text(img, format("1e%.0f", e), a.at(e, 0) + cv::Point(-14, 18));
  }
  for (int i = 0; i <= 10; i += 2) {
    cv::line(img, a.at(a.xmin, i / 10.0), a.at(0, i / 10.0), kGrey);
    text(img, format("%.1f", i / 10.0), a.at(a.xmin, i / 10.0) + cv::Point(-30, 5));
  }
  frame(img, a,
        "ROC (" + std::to_string(pairs.size() - impostors) + " genuine, " + std::to_string(impostors) +
            " impostor pairs)",
        "false accept rate (log)", "TAR");
  std::vector<cv::Point> curve;
  const auto roc = roc_curve(pairs);
  for (const auto& p : roc) {
    const auto point = a.at(p.far > 0 ? std::log10(p.far) : a.xmin, p.tar);
    if (curve.empty() || curve.back() != point) curve.push_back(point);  // millions of pairs, few pixels
  }
  cv::polylines(img, curve, false, kBlue, 2, cv::LINE_AA);
  for (std::size_t i = 0; i < marks.size(); ++i) {
    const auto [far, tar] = rates_at(pairs, marks[i].threshold);
    const auto colour = kMarkColours[i % std::size(kMarkColours)];
    const auto p = a.at(far > 0 ? std::log10(far) : a.xmin, tar);
    cv::circle(img, p, 5, colour, 2, cv::LINE_AA);
    text(img, marks[i].label + format(" FAR %.2g", far) + format(" TAR %.3f", tar),
         {a.x0 + kPanel / 2 - 50, kHeight - kBottom - 15 - 18 * static_cast<int>(i)}, 0.45, colour);
  }
}

void draw_histograms(cv::Mat& img, std::span<const ScoredPair> pairs, const std::vector<PlotMark>& marks) {
  double top = 1.2;
  for (const auto& p : pairs) top = std::max(top, p.distance);
  constexpr double kBin = 0.02;
  const auto bins = static_cast<std::size_t>(std::ceil(top / kBin));
  std::vector<double> genuine(bins, 0), impostor(bins, 0);
  std::size_t n_genuine = 0, n_impostor = 0;
  for (const auto& p : pairs) {
    const auto bin = std::min(bins - 1, static_cast<std::size_t>(std::max(0.0, p.distance) / kBin));
    ++(p.same ? genuine[bin] : impostor[bin]);
    ++(p.same ? n_genuine : n_impostor);
  }
  // Each class as a fraction of its own pairs, so unequal class sizes stay comparable.
  double peak = 0.01;
  for (std::size_t b = 0; b < bins; ++b) {
    genuine[b] /= std::max<std::size_t>(n_genuine, 1);
    impostor[b] /= std::max<std::size_t>(n_impostor, 1);
    peak = std::max({peak, genuine[b], impostor[b]});
  }
  const Axes a{kPanel, 0, static_cast<double>(bins) * kBin, 0, peak * 1.1};
  for (double x = 0; x <= a.xmax + 1e-9; x += 0.2) {
    cv::line(img, a.at(x, 0), a.at(x, a.ymax), kGrey);
    text(img, format("%.1f", x), a.at(x, 0) + cv::Point(-10, 18));
  }
  frame(img, a, "distance histograms (fraction of each class per 0.02)", "distance", "");
  const auto steps = [&](const std::vector<double>& h, const cv::Scalar& colour) {
    std::vector<cv::Point> line;
    for (std::size_t b = 0; b < bins; ++b) {
      line.push_back(a.at(static_cast<double>(b) * kBin, h[b]));
      line.push_back(a.at(static_cast<double>(b + 1) * kBin, h[b]));
    }
    cv::polylines(img, line, false, colour, 2, cv::LINE_AA);
  };
  steps(genuine, kGreen);
  steps(impostor, kRed);
  text(img, "genuine (" + std::to_string(n_genuine) + ")", {kPanel + kLeft, kHeight - 15}, 0.5, kGreen);
  text(img, "impostor (" + std::to_string(n_impostor) + ")", {kPanel + kLeft + 150, kHeight - 15}, 0.5, kRed);
  for (std::size_t i = 0; i < marks.size(); ++i) {
    const auto colour = kMarkColours[i % std::size(kMarkColours)];
    cv::line(img, a.at(marks[i].threshold, 0), a.at(marks[i].threshold, a.ymax), colour, 1, cv::LINE_AA);
    text(img, marks[i].label, a.at(marks[i].threshold, a.ymax) + cv::Point(4, 15 + 16 * static_cast<int>(i)),
         0.45, colour);
  }
}

}  // namespace

cv::Mat draw_evaluation_plot(std::span<const ScoredPair> pairs, const std::vector<PlotMark>& marks,
                             const std::string& title) {
  cv::Mat img(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  text(img, title, {kLeft, 24}, 0.6);
  draw_roc(img, pairs, marks);
  draw_histograms(img, pairs, marks);
  return img;
}

void write_evaluation_plot(const std::filesystem::path& path, std::span<const ScoredPair> pairs,
                           const std::vector<PlotMark>& marks, const std::string& title) {
  const auto img = draw_evaluation_plot(pairs, marks, title);
  bool written = false;
  try {
    written = cv::imwrite(path.string(), img);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::io_error, "cannot write plot " + path.string() + ": " + e.what());
  }
  if (!written) throw Error(ErrorCode::io_error, "cannot write plot " + path.string() + " (use a .png name)");
}

}  // namespace facematch::report
