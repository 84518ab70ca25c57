// The envelope schema's rules (schemas/event.v1.schema.json) written out as
// code, for the decode stage's common case: an envelope that is valid.
//
// Why: valijson, which decides what the schema means, took about a quarter
// of the worker's CPU under a backlog (it copies its path of context strings
// for every value it visits); these checks take a few percent of that.
//
// The schema stays the authority. The decode stage hands every envelope this
// check refuses to valijson, so a refusal here costs time, never a wrong
// answer; an envelope this check accepts must be one valijson accepts.
// worker/envelope_shape_test.cc holds the two to the same answer on every
// single change of a set of envelopes (each member removed, retyped, given
// odd text, an unknown member added), and the decode fuzz target on every
// input it makes. A change to the schema must change this file too; those
// tests fail until it does.
#pragma once

#include <boost/json/value.hpp>

namespace fourkeys::worker {

// True when `envelope` satisfies the schema, with valijson's strong types
// (an integer is a JSON number parsed as int64; 1.0 is not one). `raw` may
// hold anything, as the schema allows. Strings are compared whole; valijson
// reads them only up to a NUL, so the two can differ on strings holding
// U+0000, which the decode stage refuses before either sees them. Never
// throws.
bool has_envelope_shape(const boost::json::value& envelope);

}  // namespace fourkeys::worker
