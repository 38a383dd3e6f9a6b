package peer

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/queuesync/queuesync/internal/state"
)

// Snapshot is a node's registers (tombstones included), as served by GET
// /queue/v1/state and sent by POST /queue/v1/changes.
type Snapshot struct {
	Node      string      // the node that wrote the document
	Clock     state.Stamp // its hybrid clock when it wrote it
	Registers []state.Register
	// Skipped are the members left out of Registers: invalid, or of a
	// queue not shared with the peer. Report them; never act on them.
	Skipped []Skipped
	// Next, in one page of a GET /state answer, is the token that reads
	// the next page ("" on the last one). Client.State reads every page.
	Next string
}

// Gather adds a page of a state answer (StatePages) to the snapshot read
// so far; a fresh first page starts it anew.
func (s *Snapshot) Gather(page Snapshot, fresh bool) {
	if fresh {
		*s = Snapshot{}
	}
	s.Node, s.Clock = page.Node, page.Clock
	s.Registers = append(s.Registers, page.Registers...)
	s.Skipped = append(s.Skipped, page.Skipped...)
}

// Skipped is a member of a document that was left out, and why.
type Skipped struct {
	Queue, Interface string // as sent, possibly invalid: quote them to print them
	Err              error
}

// EncodeState writes regs as a <queuesync> document from node at clock.
// Registers are grouped by queue and sorted by queue, then interface, without
// case, so the output is deterministic. Every register must pass
// ValidateRegister; the first that does not fails the encoding, and nothing
// is written.
func EncodeState(w io.Writer, node string, clock state.Stamp, regs []state.Register) error {
	return encodeStatePage(w, node, clock, regs, "")
}

// encodeStatePage is EncodeState for one page of a GET /state answer, next
// naming the page after it ("" for the last).
func encodeStatePage(w io.Writer, node string, clock state.Stamp, regs []state.Register, next string) error {
	doc := stateDoc{rootAttrs: newRootAttrs(node, clock), Next: next}
	if err := ValidateNodeName(node); err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	sorted := slices.Clone(regs)
	slices.SortStableFunc(sorted, compareRegisters)
	for _, r := range sorted {
		if err := ValidateRegister(r); err != nil {
			return fmt.Errorf("encode state %s: %w", memberContext(r.Queue, r.Interface), err)
		}
		if n := len(doc.Queues); n == 0 || doc.Queues[n-1].Name != r.Queue {
			doc.Queues = append(doc.Queues, queueElem{Name: r.Queue})
		}
		q := &doc.Queues[len(doc.Queues)-1]
		q.Members = append(q.Members, toMember(r))
	}
	return writeDoc(w, doc)
}

// compareRegisters orders registers by queue and interface without case,
// then by exact spelling, so that one queue's registers are adjacent.
func compareRegisters(a, b state.Register) int {
	return cmp.Or(
		cmp.Compare(strings.ToLower(a.Queue), strings.ToLower(b.Queue)),
		cmp.Compare(a.Queue, b.Queue),
		cmp.Compare(strings.ToLower(a.Interface), strings.ToLower(b.Interface)),
		cmp.Compare(a.Interface, b.Interface),
	)
}

// DecodeState reads a <queuesync> document. Every register is validated:
// one that fails is left out of Registers and listed in Skipped (nothing a
// hostile peer could use to inject AMI is ever returned), so that one member
// never fails the rest of the document. A document that is not well formed
// fails as a whole.
func DecodeState(r io.Reader) (Snapshot, error) {
	hdr, items, err := decodeBatch(r)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Node: hdr.Node, Clock: hdr.Clock, Next: hdr.Next, Registers: make([]state.Register, 0, len(items))}
	for _, it := range items {
		if it.Err != nil {
			snap.Skipped = append(snap.Skipped, Skipped{Queue: it.Queue, Interface: it.Interface,
				Err: fmt.Errorf("%s: %w", memberContext(it.Queue, it.Interface), it.Err)})
			continue
		}
		snap.Registers = append(snap.Registers, it.Register)
	}
	return snap, nil
}

// batchItem is one member of a decoded <queuesync> document: its register,
// or why it is invalid.
type batchItem struct {
	Queue, Interface string // as sent, possibly invalid
	Register         state.Register
	Err              error
}

// docHeader is what the root element of every document says.
type docHeader struct {
	Node  string
	Clock state.Stamp
	Next  string // the next page's token (GET /state answers only)
}

// rootAttrs are the attributes every document's root element carries: the
// wire version and the sending node with its clock. Embedded in a document,
// they are read and written as the root's own attributes.
type rootAttrs struct {
	Version string `xml:"version,attr"`
	Node    string `xml:"node,attr"`
	Clock   string `xml:"clock,attr"`
}

// newRootAttrs returns the root attributes node sends at clock.
func newRootAttrs(node string, clock state.Stamp) rootAttrs {
	return rootAttrs{Version: WireVersion, Node: node, Clock: clock.String()}
}

// decodeBatch reads a <queuesync> document, keeping invalid members as
// items with an error so that the rest of a batch can still be applied.
func decodeBatch(r io.Reader) (docHeader, []batchItem, error) {
	var doc stateDoc
	hdr, err := decodeHeaded(r, stateRoot, &doc, &doc.rootAttrs)
	if err != nil {
		return docHeader{}, nil, fmt.Errorf("decode state: %w", err)
	}
	if hdr.Next = doc.Next; hdr.Next != "" && !validPageToken(hdr.Next) {
		return docHeader{}, nil, fmt.Errorf("decode state: %w", &FieldError{"next", doc.Next, "want a page token"})
	}
	var items []batchItem
	for _, q := range doc.Queues {
		for _, m := range q.Members {
			reg, err := fromMember(q.Name, m)
			items = append(items, batchItem{Queue: q.Name, Interface: m.Interface, Register: reg, Err: err})
		}
	}
	return hdr, items, nil
}

// decodeHeaded reads one document of root into v, then the node and clock
// its root element named (read into *attrs, v's rootAttrs, by the decoding).
func decodeHeaded(r io.Reader, root string, v any, attrs *rootAttrs) (docHeader, error) {
	if err := decodeDoc(r, root, v); err != nil {
		return docHeader{}, err
	}
	return attrs.parse()
}

// parse validates the node and clock a root element named.
func (a rootAttrs) parse() (docHeader, error) {
	if err := ValidateNodeName(a.Node); err != nil {
		return docHeader{}, err
	}
	st, err := parseStampField("clock", a.Clock)
	if err != nil {
		return docHeader{}, err
	}
	return docHeader{Node: a.Node, Clock: st}, nil
}

// writeDoc writes doc, indented, after the XML declaration. It encodes into
// a buffer first so that a failure writes nothing.
func writeDoc(w io.Writer, doc any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode document: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write document: %w", err)
	}
	return nil
}

// decodeDoc reads one document whose root element is root into v. It checks
// the version on the root element before anything else, so that a newer
// peer gets ErrVersion and not a confusing structural error, and refuses
// DTDs and anything but white space, comments and processing instructions
// around the root.
func decodeDoc(r io.Reader, root string, v any) error {
	d := xml.NewDecoder(r)
	start, err := rootElement(d)
	if err != nil {
		return err
	}
	if start.Name.Local != root {
		return fmt.Errorf("%w: root element <%s>, want <%s>", ErrMalformed, cleanText(start.Name.Local, 40), root)
	}
	if ver := attrValue(start, "version"); ver != WireVersion {
		return fmt.Errorf("%w %s: this node speaks version %s; run the same queuesync release on both nodes",
			ErrVersion, quoteValue(ver), WireVersion)
	}
	if err := d.DecodeElement(v, &start); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return expectEnd(d)
}

func rootElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, fmt.Errorf("%w: empty document", ErrMalformed)
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			return start, nil
		}
		if err := outsideRoot(tok); err != nil {
			return xml.StartElement{}, err
		}
	}
}

func expectEnd(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: after the root element: %w", ErrMalformed, err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			return fmt.Errorf("%w: a second root element", ErrMalformed)
		}
		if err := outsideRoot(tok); err != nil {
			return err
		}
	}
}

// outsideRoot accepts the tokens allowed outside the root element.
func outsideRoot(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.ProcInst, xml.Comment:
		return nil
	case xml.CharData:
		if len(bytes.TrimSpace(t)) == 0 {
			return nil
		}
		return fmt.Errorf("%w: text outside the root element", ErrMalformed)
	case xml.Directive:
		return fmt.Errorf("%w: DTDs and directives are not allowed", ErrMalformed)
	}
	return fmt.Errorf("%w: unexpected %T outside the root element", ErrMalformed, tok)
}

func attrValue(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
