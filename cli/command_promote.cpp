// kforge promote CANDIDATE | --best [--task T] [--min-speedup X] [--library DIR]
//   [--variant NAME] [--json]
// Ships verified candidates into the kernel library when every promotion rule holds
// (harness/library/promotion.hpp); otherwise says which rule failed. Each decision is recorded.
// Exit status: 0 when everything asked for was promoted, 1 when something was refused.
#include <cstdio>

#include "cli/commands.hpp"
#include "harness/library/promotion.hpp"
#include "harness/util/error.hpp"

namespace kforge::cli {
namespace {

struct PromoteOptions {
  int64_t candidate = -1;  // -1: not given
  bool best = false;
  std::string task;
  double min_speedup = -1;  // < 0: config promote.min_speedup
  std::string library;
  std::string variant;
  bool json = false;
};

}  // namespace

void add_promote_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "promote", "ship a verified candidate into the kernel library, or refuse naming the rule");
  auto options = std::make_shared<PromoteOptions>();
  command->add_option("candidate", options->candidate, "candidate id (see `kforge show`)");
  command->add_flag("--best", options->best,
                    "promote the fastest correct candidate of each task (or of --task)");
  command->add_option("--task", options->task, "with --best: only this task");
  command->add_option("--min-speedup", options->min_speedup,
                      "speedup over eager needed (default: config promote.min_speedup)");
  command->add_option("--library", options->library,
                      "library folder (default: config library.dir, under the workspace)");
  command->add_option("--variant", options->variant,
                      "variant folder name (default: candidate_<id>)");
  command->add_flag("--json", options->json, "print one JSON object");
  command->callback([options, &context] {
    if (options->best == (options->candidate >= 0))
      throw CLI::ValidationError("promote", "give either a CANDIDATE id or --best");
    if (!options->task.empty() && !options->best)
      throw CLI::ValidationError("--task", "--task goes with --best");
    if (options->best && !options->variant.empty())
      throw CLI::ValidationError("--variant", "--variant names one candidate's folder, not --best");
    Workspace& workspace = context.workspace();
    PromotionOptions promotion{
        .library_root = library_root(workspace, options->library),
        .min_speedup_eager = options->min_speedup >= 0
                                 ? options->min_speedup
                                 : workspace.config().real("promote.min_speedup"),
        .variant = options->variant};
    Promoter promoter(workspace.store(), promotion);

    std::vector<int64_t> ids;
    if (options->best) {
      ids = promoter.best_candidates(options->task.empty() ? std::nullopt
                                                           : std::optional(options->task));
      if (ids.empty())
        throw Error("no candidate has a correct evaluation under the current harness version",
                    options->task.empty() ? "the store" : options->task);
    } else {
      ids = {options->candidate};
    }
    nlohmann::json decisions = nlohmann::json::array();
    bool all_promoted = true;
    for (int64_t id : ids) {
      const PromotionDecision decision = promoter.promote(id);
      all_promoted = all_promoted && decision.promoted;
      decisions.push_back(decision.to_json());
      if (options->json)
        continue;
      if (decision.promoted)
        print("promoted candidate %lld (%s, %s) to %s: %s\n", static_cast<long long>(id),
              decision.task.c_str(), decision.arch.c_str(), decision.library_path.string().c_str(),
              decision.reason.c_str());
      else
        print("refused candidate %lld (%s): rule %s: %s\n", static_cast<long long>(id),
              decision.task.c_str(), decision.rule.c_str(), decision.reason.c_str());
    }
    if (options->json)
      Context::print_json({{"decisions", decisions}});
    if (!all_promoted)
      throw CLI::RuntimeError(kExitError);
  });
}

}  // namespace kforge::cli
