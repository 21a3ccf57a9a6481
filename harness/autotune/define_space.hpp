// A candidate's tuning space: its plan's defines (each with its `values`) and its constraints,
// evaluated at every shape the task is checked at (the benchmark shape and each check shape),
// as a lazy tuning::ConstrainedSpace. A point that breaks a constraint at any shape is not in
// the space, so it is never compiled.
#pragma once

#include "harness/candidate/candidate_file.hpp"
#include "harness/task.hpp"
#include "harness/tuning/constrained_space.hpp"

namespace kforge::autotune {

// The space of `candidate` on `task` (analysed). A plan without defines, or a constraint that
// reads a tensor the task's signature does not have, is an Error naming the file and the
// constraint.
tuning::ConstrainedSpace define_space(const CandidateFile& candidate, const Task& task);

// The define values of a point of `space` (built by define_space), by name.
std::map<std::string, int64_t> define_values(const tuning::TuningSpace& space,
                                             tuning::PointId point);

}  // namespace kforge::autotune
