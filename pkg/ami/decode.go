package ami

// QueueMember is one queue member as reported by a QueueStatus list item
// (Event: QueueMember) or by an unsolicited member event (QueueMemberAdded,
// QueueMemberPause, ...). Every field is optional; absent fields are zero.
type QueueMember struct {
	Queue          string
	Interface      string // "Interface", or "Location" in lists and Asterisk 11
	Name           string // "MemberName", or "Name" in lists
	StateInterface string
	Membership     string // "dynamic", "static" or "realtime" as reported; may be ""
	Penalty        int
	Paused         bool
	PausedReason   string // "PausedReason", or "Reason" in Asterisk 11
	Ringinuse      *bool  // nil when not reported (QueueStatus lists never report it)
	CallsTaken     int
	LastCall       int64 // Unix seconds, 0 = never
	LastPause      int64 // Unix seconds, 0 = never
	LoginTime      int64 // Unix seconds
	InCall         bool
	Status         int  // device state: 0 unknown, 1 not in use, 2 in use, ... 5 unavailable, 6 ringing
	Wrapuptime     *int // seconds; nil when not reported (before Asterisk 13)
}

// QueueParams is a QueueParams list item of QueueStatus.
type QueueParams struct {
	Queue, Strategy string
	Max, Calls      int
	Holdtime        int
	TalkTime        int
	Completed       int
	Abandoned       int
	ServiceLevel    int
	Weight          int
}

// DecodeQueueMember reads a QueueMember from a list item or a member event.
// It accepts both field spellings (Name/MemberName, Location/Interface,
// PausedReason/Reason), treats every field as optional, and never fails:
// unparsable numbers are 0, Paused and InCall accept Asterisk's true
// spellings ("1", "yes", "true", "on").
func DecodeQueueMember(m Message) QueueMember {
	var q QueueMember
	var name, location, reason string
	for _, h := range m.Headers {
		var buf [16]byte
		k, ok := lowerKey(&buf, h.Key)
		if !ok {
			continue
		}
		v := h.Value
		switch string(k) {
		case "queue":
			q.Queue = v
		case "interface":
			q.Interface = v
		case "location":
			location = v
		case "membername":
			q.Name = v
		case "name":
			name = v
		case "stateinterface":
			q.StateInterface = v
		case "membership":
			q.Membership = v
		case "penalty":
			q.Penalty = atoi(v)
		case "paused":
			q.Paused = isTrue(v)
		case "pausedreason":
			q.PausedReason = v
		case "reason":
			reason = v
		case "ringinuse":
			b := isTrue(v)
			q.Ringinuse = &b
		case "callstaken":
			q.CallsTaken = atoi(v)
		case "lastcall":
			q.LastCall = atoi64(v)
		case "lastpause":
			q.LastPause = atoi64(v)
		case "logintime":
			q.LoginTime = atoi64(v)
		case "incall":
			q.InCall = isTrue(v)
		case "status":
			q.Status = atoi(v)
		case "wrapuptime":
			w := atoi(v)
			q.Wrapuptime = &w
		}
	}
	if q.Interface == "" {
		q.Interface = location
	}
	if q.Name == "" {
		q.Name = name
	}
	if _, ok := m.Lookup("PausedReason"); !ok {
		q.PausedReason = reason
	}
	return q
}

// DecodeQueueParams reads a QueueParams list item. Every field is optional.
func DecodeQueueParams(m Message) QueueParams {
	var p QueueParams
	ints := map[string]*int{
		"max": &p.Max, "calls": &p.Calls, "holdtime": &p.Holdtime, "talktime": &p.TalkTime,
		"completed": &p.Completed, "abandoned": &p.Abandoned, "servicelevel": &p.ServiceLevel, "weight": &p.Weight,
	}
	for _, h := range m.Headers {
		var buf [16]byte
		k, ok := lowerKey(&buf, h.Key)
		if !ok {
			continue
		}
		switch key := string(k); key {
		case "queue":
			p.Queue = h.Value
		case "strategy":
			p.Strategy = h.Value
		default:
			if n, ok := ints[key]; ok {
				*n = atoi(h.Value)
			}
		}
	}
	return p
}

// lowerKey lower-cases an ASCII header key into buf without allocating. It
// reports false for keys longer than buf, which no decoded field has.
func lowerKey(buf *[16]byte, key string) ([]byte, bool) {
	if len(key) > len(buf) {
		return nil, false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(key)], true
}
