// Train/validation/test assignment by task, never by row: every candidate of a task lands in
// the same split, so a model is never tested on a task it trained on.
//
// The key is the task's name alone (not its source hash): a task whose program is revised
// (same name, new version) stays in its split, so a re-export of a grown store never moves a
// task from train to test. Adding tasks never moves existing ones either: each task's split
// depends only on its own name.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "datasets/export/export_options.hpp"

namespace kforge::dataset {

enum class Split { kTrain = 0, kValidation = 1, kTest = 2 };
inline constexpr std::array<Split, 3> kSplits = {Split::kTrain, Split::kValidation, Split::kTest};

std::string_view split_name(Split split);  // "train", "validation", "test"

// The task's bucket in [0, 100): the first 8 bytes of SHA-256("kforge-split:" + name), mod 100.
int split_bucket(std::string_view task_name);
Split split_of(std::string_view task_name, const SplitRatios& ratios);

}  // namespace kforge::dataset
