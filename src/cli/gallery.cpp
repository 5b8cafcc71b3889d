// `gallery add|list|show|remove`, `identify` and `verify --subject`: the face gallery from the command
// line (include/facematch/gallery.hpp; README "Gallery").
#include "facematch/gallery.hpp"

#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/operating_point.hpp"
#include "report/json_report.hpp"

namespace facematch::cli {
namespace {

struct GalleryArgs {
  CommonOptions common;
  std::string gallery = kDefaultGalleryLocation;
};

// The gallery, its store and the verifier it borrows, for one command.
struct OpenGallery {
  Verifier verifier;
  Gallery gallery;
  explicit OpenGallery(const GalleryArgs& a)
      : verifier(load_models(a.common), 1),
        gallery(open_gallery_store(a.gallery), verifier, options(a.common)) {}
  static GalleryOptions options(const CommonOptions& common) {
    GalleryOptions g;
    g.pipeline = common.pipeline();
    // Enrolment and search read one face per photo; verify's best_match default means largest here.
    if (g.pipeline.face_policy == FacePolicy::best_match) g.pipeline.face_policy = FacePolicy::largest;
    return g;
  }
};

std::string time_text(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

int run_add(GalleryArgs& a, const std::string& subject, const std::vector<std::string>& images,
            const std::optional<std::string>& label) {
  check_subject_name(subject);  // before the models load
  if (label) check_label(*label);
  OpenGallery g(a);
  for (const auto& image : images) {
    const auto e = g.gallery.enrol_file(subject, image, label);
    if (a.common.json) {
      auto j = report::gallery_face_json(e.face);
      j["subject"] = subject;
      j["image"] = image;
      std::cout << j.dump() << '\n';
    } else {
      std::printf("%s: enrolled face %lld of %s (quality %s)\n", image.c_str(),
                  static_cast<long long>(e.face.id), subject.c_str(),
                  e.face.quality.acceptable() ? "ok" : e.face.quality.reasons_text().c_str());
    }
  }
  return 0;
}

// Listing and removing need no models: they go to the store directly.
int run_list(GalleryArgs& a) {
  const auto store = open_gallery_store(a.gallery);
  std::string after;
  for (;;) {
    const auto page = store->list_subjects(after, 1000);
    for (const auto& s : page.subjects) {
      if (a.common.json)
        std::cout << report::subject_summary_json(s).dump() << '\n';
      else
        std::printf("%s  %zu face(s)  since %s\n", s.name.c_str(), s.faces,
                    time_text(s.created_at_ms).c_str());
    }
    if (!page.next_after) break;
    after = *page.next_after;
  }
  return 0;
}

int run_show(GalleryArgs& a, const std::string& subject) {
  check_subject_name(subject);
  const auto s = open_gallery_store(a.gallery)->get_subject(subject);
  if (!s) throw Error(ErrorCode::not_found, "subject '" + subject + "' is not enrolled in " + a.gallery);
  if (a.common.json) {
    std::cout << report::subject_json(*s).dump(2) << '\n';
    return 0;
  }
  std::printf("%s: %zu face(s)\n", subject.c_str(), s->faces.size());
  for (const auto& f : s->faces)
    std::printf("  face %lld  enrolled %s  box %.0fx%.0f  quality %s%s%s\n", static_cast<long long>(f.id),
                time_text(f.enrolled_at_ms).c_str(), f.box.width, f.box.height,
                f.quality.acceptable() ? "ok" : f.quality.reasons_text().c_str(), f.label ? "  label " : "",
                f.label ? f.label->c_str() : "");
  return 0;
}

int run_remove(GalleryArgs& a, const std::string& subject, std::optional<FaceId> face) {
  check_subject_name(subject);
  const auto store = open_gallery_store(a.gallery);
  if (face) {
    if (!store->delete_face(subject, *face))
      throw Error(ErrorCode::not_found, "subject '" + subject + "' has no face " + std::to_string(*face));
    std::printf("removed face %lld of %s\n", static_cast<long long>(*face), subject.c_str());
    return 0;
  }
  const auto n = store->delete_subject(subject);
  if (n == 0) throw Error(ErrorCode::not_found, "subject '" + subject + "' is not enrolled in " + a.gallery);
  std::printf("removed %s (%zu face(s))\n", subject.c_str(), n);
  return 0;
}

int run_identify(GalleryArgs& a, const std::string& image, const IdentifyOptions& options) {
  OpenGallery g(a);
  const auto id = g.gallery.identify_file(image, options);
  if (a.common.json) {
    auto j = report::identification_json(id);
    j["image"] = image;
    std::cout << j.dump(2) << '\n';
  } else {
    std::printf("%s  (threshold %.4f, operating point %s, %zu subjects, %zu faces)\n",
                id.identified ? id.identified->c_str() : "nobody", id.threshold, id.operating_point.c_str(),
                id.gallery_size, id.gallery_faces);
    for (const auto& c : id.candidates)
      std::printf("  %-32s distance %.4f  similarity %.3f  face %lld\n", c.subject.c_str(), c.distance,
                  c.similarity, static_cast<long long>(c.face_id));
  }
  return id.identified ? kExitSame : kExitDifferent;
}

}  // namespace

void add_gallery_option(CLI::App& cmd, std::string& location) {
  cmd.add_option("--gallery", location,
                 "Gallery: an SQLite file (created by the first enrolment) or a postgresql:// URI")
      ->envname("FACEMATCH_GALLERY")
      ->capture_default_str();
}

int run_verify_subject(const CommonOptions& o, const std::string& gallery, const std::string& photo,
                       const std::string& subject, std::optional<double> threshold,
                       const std::optional<std::string>& operating_point) {
  check_subject_name(subject);
  GalleryArgs a{o, gallery};
  const auto op =
      operating_point ? std::optional(resolve_operating_point(*operating_point, o.pipeline())) : std::nullopt;
  if (op) threshold = op->point.threshold;
  OpenGallery g(a);
  const auto v = g.gallery.verify_subject_file(photo, subject, threshold);
  if (o.json) {
    auto j = report::subject_verification_json(v);
    j["img1"]["path"] = photo;
    if (op) j["operating_point"] = report::operating_point_json(*op);
    std::cout << j.dump(2) << '\n';
  } else {
    std::printf("%s  distance %.4f %s threshold %.4g  (closest of %zu enrolled face(s) of %s)\n",
                v.verified ? "Yes" : "No", v.distance, v.verified ? "<" : ">=", v.threshold, v.faces_compared,
                subject.c_str());
  }
  return v.verified ? kExitSame : kExitDifferent;
}

void add_gallery_commands(CLI::App& app, CommandTable& commands) {
  auto* gallery =
      app.add_subcommand("gallery", "Enrolled subjects: add, list, show, remove (README: Gallery)");
  gallery->require_subcommand(1);

  struct AddArgs {
    GalleryArgs g;
    std::string subject;
    std::vector<std::string> images;
    std::optional<std::string> label;
  };
  auto add_args = std::make_shared<AddArgs>();
  auto* add =
      gallery->add_subcommand("add", "Enrol the largest face of each photo as SUBJECT (created if new)");
  add->add_option("subject", add_args->subject, "Subject name: 1-128 of A-Z a-z 0-9 _ - . @")->required();
  add->add_option("images", add_args->images, "Photos")->required();
  add->add_option("--label", add_args->label, "A note stored with each face (e.g. where the photo is from)");
  add_gallery_option(*add, add_args->g.gallery);
  add_args->g.common.defaults.face_policy = FacePolicy::largest;
  add_common(*add, add_args->g.common, true);
  commands.push_back({add, [add_args] {
                        return run_add(add_args->g, add_args->subject, add_args->images, add_args->label);
                      }});

  auto list_args = std::make_shared<GalleryArgs>();
  auto* list = gallery->add_subcommand("list", "List the enrolled subjects");
  add_gallery_option(*list, list_args->gallery);
  list->add_flag("--json", list_args->common.json, "Print JSON lines");
  commands.push_back({list, [list_args] { return run_list(*list_args); }});

  struct ShowArgs {
    GalleryArgs g;
    std::string subject;
  };
  auto show_args = std::make_shared<ShowArgs>();
  auto* show = gallery->add_subcommand("show", "Show a subject's enrolled faces");
  show->add_option("subject", show_args->subject, "Subject")->required();
  add_gallery_option(*show, show_args->g.gallery);
  show->add_flag("--json", show_args->g.common.json, "Print JSON");
  commands.push_back({show, [show_args] { return run_show(show_args->g, show_args->subject); }});

  struct RemoveArgs {
    GalleryArgs g;
    std::string subject;
    std::optional<FaceId> face;
  };
  auto remove_args = std::make_shared<RemoveArgs>();
  auto* remove =
      gallery->add_subcommand("remove", "Erase a subject and all its faces (or one face: --face ID)");
  remove->add_option("subject", remove_args->subject, "Subject")->required();
  remove->add_option("--face", remove_args->face, "Erase only this face id");
  add_gallery_option(*remove, remove_args->g.gallery);
  commands.push_back({remove, [remove_args] {
                        return run_remove(remove_args->g, remove_args->subject, remove_args->face);
                      }});

  struct IdentifyArgs {
    GalleryArgs g;
    std::string image;
    IdentifyOptions options;
    std::optional<double> threshold;
    std::optional<std::string> operating_point;
  };
  auto identify_args = std::make_shared<IdentifyArgs>();
  auto* identify = app.add_subcommand(
      "identify", "Who, of the enrolled subjects, is in the photo? (exit 0 identified, 1 nobody, 2 error)");
  identify->add_option("image", identify_args->image, "Photo")->required();
  identify->add_option("--top-k", identify_args->options.top_k, "Candidates to list")->capture_default_str();
  auto* threshold = identify->add_option("--threshold", identify_args->threshold,
                                         "Identified when the closest distance < threshold");
  identify
      ->add_option("--operating-point", identify_args->operating_point,
                   std::string("1:N operating point: NAME, FILE or FILE:NAME (default ") +
                       kDefaultIdentifyOperatingPoint + ")")
      ->excludes(threshold);
  add_gallery_option(*identify, identify_args->g.gallery);
  identify_args->g.common.defaults.face_policy = FacePolicy::largest;
  add_common(*identify, identify_args->g.common, true);
  commands.push_back({identify, [identify_args] {
                        auto& a = *identify_args;
                        a.options.threshold = a.threshold;
                        a.options.operating_point = a.operating_point;
                        return run_identify(a.g, a.image, a.options);
                      }});
}

}  // namespace facematch::cli
