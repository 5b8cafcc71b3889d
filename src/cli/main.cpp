// `facematch`: the command-line edge. Maps facematch::Error to exit codes: verify answers 0 (same
// person) or 1 (different); every error is 2 with one line on stderr.
#include <exception>
#include <iostream>

#include "cli/common.hpp"
#include "facematch/error.hpp"

int main(int argc, char** argv) {
  using namespace facematch;
  CLI::App app{"facematch: do two photos show the same person?"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "facematch 0.1.0");

  cli::CommandTable commands;
  cli::add_inspect_commands(app, commands);
  cli::add_eval_commands(app, commands);
  cli::add_serve_commands(app, commands);
  cli::add_gallery_commands(app, commands);
  cli::add_info_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : cli::kExitError;
  }

  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const Error& e) {
    std::cerr << "facematch: " << to_string(e.code()) << ": " << e.what() << '\n';
    return cli::kExitError;
  } catch (const std::exception& e) {
    std::cerr << "facematch: internal: " << e.what() << '\n';
    return cli::kExitError;
  }
  return cli::kExitError;
}
