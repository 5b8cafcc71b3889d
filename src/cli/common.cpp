#include "cli/common.hpp"

#include <iostream>

#include "facematch/error.hpp"
#include "facematch/pipeline.hpp"
#include "report/json_report.hpp"

namespace facematch::cli {

PipelineOptions CommonOptions::pipeline() const {
  PipelineOptions o = defaults;
  // In table order, as a pipeline file is read; each value is checked by the rule HTTP fields meet too.
  for (const auto& setting : pipeline_settings())
    if (const auto it = given.find(setting.name); it != given.end())
      set_pipeline_setting_text(o, setting, it->second);
  return o;
}

void add_common(CLI::App& cmd, CommonOptions& o, bool with_align, bool with_env) {
  cmd.add_option("--models", o.models_dir,
                 "Models folder (default: $FACEMATCH_MODELS, then the built-in path)");
  for (const auto& setting : pipeline_settings()) {
    if (!setting.cli || (setting.compare_only && !with_align)) continue;
    const std::string name(setting.name);
    const auto current = setting.get(o.defaults);
    if (setting.kind == PipelineSetting::Kind::boolean) {
      add_switch(cmd, setting.flag().substr(2), std::string(setting.help), current.get<bool>(),
                 [&o, name](bool on) { o.given[name] = on ? "true" : "false"; });
      continue;
    }
    auto* option = cmd.add_option_function<std::string>(
        setting.flag(), [&o, name](const std::string& text) { o.given[name] = text; },
        std::string(setting.help));
    option->type_name(setting.kind == PipelineSetting::Kind::number    ? "FLOAT"
                      : setting.kind == PipelineSetting::Kind::integer ? "INT"
                                                                       : "TEXT");
    option->default_str(current.is_string() ? current.get<std::string>() : current.dump());
    if (with_env && !setting.env.empty()) option->envname(std::string(setting.env));
  }
  cmd.add_flag("--json", o.json, "Print JSON");
}

// CLI11 shows a negated flag as `--x,--no-x{false}`; two flags read plainly in --help.
void add_switch(CLI::App& cmd, const std::string& name, const std::string& what, bool default_on,
                const std::function<void(bool)>& set) {
  cmd.add_flag_callback(
      "--" + name, [set] { set(true); }, what + (default_on ? " (default on)" : " (default off)"));
  cmd.add_flag_callback(
      "--no-" + name, [set] { set(false); }, "Turn --" + name + " off");
}

int with_json_errors(bool json, const std::function<int()>& run) {
  try {
    return run();
  } catch (const Error& e) {
    if (json) std::cout << report::error_json(e).dump(2) << '\n' << std::flush;
    throw;
  }
}

std::shared_ptr<const Models> load_models(const CommonOptions& o) {
  return Models::load(
      locate_models(o.models_dir ? std::optional<std::filesystem::path>(*o.models_dir) : std::nullopt));
}

}  // namespace facematch::cli
