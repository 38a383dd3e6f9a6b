// Package state is queuesync's pure member-state model: the key of a queue
// member, the journalled register that describes it, the hybrid logical clock
// that versions registers, the last-writer-wins conflict rule (Winner), the
// planner (Plan) that turns a winning register and a member's live state into
// the minimal AMI actions, the conversion of live state into registers
// (Observed, Live.Matches), and the field-by-field differences shown by
// resync -v (DiffFields).
//
// It does no I/O and imports nothing from the rest of the project: AMI, the
// journal and the peer API convert to and from these types.
//
// See docs/architecture.md §1 (the model) and §2 (the rules).
package state
