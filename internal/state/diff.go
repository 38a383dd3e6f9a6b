package state

import "strconv"

// FieldDiff is one field that differs between this node's register and a
// peer's, rendered for humans (resync -v): "yes"/"no" for flags, "-" for a
// value that does not apply (no register, a tombstone, the reason of an
// unpaused member, an unknown ringinuse).
type FieldDiff struct {
	Field  string // present, name, state-interface, membership, penalty, paused, reason, ringinuse, wrap-up
	Local  string
	Peer   string
	Winner string
}

// fieldOrder lists the fields DiffFields compares, in output order.
var fieldOrder = []struct {
	name   string
	render func(*Register) string
}{
	{"present", renderPresent},
	{"name", func(r *Register) string { return r.MemberName }},
	{"state-interface", func(r *Register) string { return r.StateInterface }},
	{"membership", func(r *Register) string { return string(r.Membership) }},
	{"penalty", func(r *Register) string { return strconv.Itoa(r.Penalty) }},
	{"paused", func(r *Register) string { return yesNo(r.Paused) }},
	{"reason", renderReason},
	{"ringinuse", renderRinginuse},
	{"wrap-up", renderWrapuptime},
}

// DiffFields returns one row per field in which local and peer differ (nil:
// no register on that side), with the winner's value. The reason counts only
// while paused and ringinuse only when both sides know it, as in
// Register.SameState; member name and state interface are compared as
// written (an empty one is shown as "").
func DiffFields(local, peer, winner *Register) []FieldDiff {
	var rows []FieldDiff
	for _, f := range fieldOrder {
		l, p := render(local, f.name, f.render), render(peer, f.name, f.render)
		if l == p || ((f.name == "ringinuse" || f.name == "wrap-up") && (l == "-" || p == "-")) {
			continue
		}
		rows = append(rows, FieldDiff{Field: f.name, Local: l, Peer: p, Winner: render(winner, f.name, f.render)})
	}
	return rows
}

// render renders one field of r: "-" when there is no register, or when r
// is a tombstone and the field is not presence itself.
func render(r *Register, field string, fn func(*Register) string) string {
	if r == nil || (!r.Present && field != "present") {
		return "-"
	}
	v := fn(r)
	if v == "" {
		return `""`
	}
	return v
}

func renderPresent(r *Register) string { return yesNo(r.Present) }

func renderReason(r *Register) string {
	if !r.Paused {
		return "-"
	}
	return r.PausedReason
}

func renderRinginuse(r *Register) string {
	if r.Ringinuse == nil {
		return "-"
	}
	return yesNo(*r.Ringinuse)
}

func renderWrapuptime(r *Register) string {
	if r.Wrapuptime == nil {
		return "-"
	}
	return strconv.Itoa(*r.Wrapuptime) + "s"
}
