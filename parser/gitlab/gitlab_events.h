// One normalizer per GitLab object_kind, called by normalize_gitlab once it
// has parsed the body and started the envelope (authentication happened
// before, in the Source). Internal to the gitlab source.
//
// Each function requires `env` to be started for the delivery: id,
// source_event, received_at, signature, service/repository set, and `raw`
// holding the body as a JSON object. Each reads the body from env.raw, fills
// kind, occurred_at and the kind's sub-struct, and returns publish, or
// ignored / dead_letter with a reason naming the field that decided it.
// None throws on sender input.
#pragma once

#include "parser/envelope.h"
#include "parser/source.h"

namespace fourkeys::parser::gitlab {

// Push Hook: a change with the pushed commits. Branch deletion is ignored.
Outcome push(Envelope env);
// Tag Push Hook: a change for the tagged commit. Tag deletion is ignored.
Outcome tag_push(Envelope env);
// Merge Request Hook: a change when merged; every other action is ignored.
Outcome merge_request(Envelope env);

// Deployment Hook: a deployment in a final state (success, failed, canceled).
Outcome deployment(Envelope env);
// Job Hook (object_kind "build"): a deployment when the job deploys to an
// environment and has finished.
Outcome job(Envelope env);
// Pipeline Hook: a finished pipeline, kept as kind "other" (a pipeline is not
// a deployment by itself; Deployment and Job hooks carry that signal).
Outcome pipeline(Envelope env);

// Issue Hook / Work Item Hook: an incident when the issue is one.
Outcome issue(Envelope env, const NormalizeOptions& options);
// Release Hook: kind "other".
Outcome release(Envelope env);

}  // namespace fourkeys::parser::gitlab
