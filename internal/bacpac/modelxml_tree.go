package bacpac

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// model.xml is read in two steps: a streaming pass with encoding/xml builds
// a small tree of the model's own vocabulary (Element, Property,
// Relationship, Entry, References, Annotation), and modelxml_read.go turns
// that tree into a Model. The tree holds the schema only, never data.

// xElem is one <Element> of model.xml.
type xElem struct {
	Type, Name, Disambiguator string
	props                     map[string]string
	rels                      map[string][]xEntry
	annots                    []xAnnot
}

// xEntry is one <Entry> of a relationship: a nested element or a reference.
type xEntry struct {
	elem     *xElem
	ref      string
	external string // ExternalSource, e.g. "BuiltIns"
}

// xAnnot is an <Annotation>.
type xAnnot struct {
	Type, Name string
	props      map[string]string
}

// xModel is the parsed model.xml.
type xModel struct {
	attrs    map[string]string // root attributes
	elements []*xElem
}

// maxElementDepth bounds how deeply elements may nest; real models nest a
// handful of levels (table, column, type specifier).
const maxElementDepth = 64

// skipBOM drops a leading UTF-8 byte order mark.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	return br
}

func xmlErr(err error) error {
	return fmt.Errorf("%w: parse model.xml: %v", ErrFormat, err)
}

// parseModelTree reads model.xml into a tree.
func parseModelTree(r io.Reader) (*xModel, error) {
	dec := xml.NewDecoder(skipBOM(r))
	root, err := nextStart(dec)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "DataSchemaModel" {
		return nil, xmlErr(fmt.Errorf("root element is <%s>, want <DataSchemaModel>",
			root.Name.Local))
	}
	m := &xModel{attrs: attrMap(root.Attr)}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "Model" {
				if err := dec.Skip(); err != nil {
					return nil, xmlErr(err)
				}
				continue
			}
			if err := m.readModel(dec); err != nil {
				return nil, err
			}
		case xml.EndElement:
			if err := expectEOF(dec); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
}

// nextStart returns the first start element, skipping the prolog.
func nextStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.StartElement{}, xmlErr(fmt.Errorf("no root element"))
		}
		if err != nil {
			return xml.StartElement{}, xmlErr(err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s, nil
		}
	}
}

// expectEOF makes sure nothing but whitespace and comments follows the root.
func expectEOF(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return xmlErr(fmt.Errorf("text after the root element"))
			}
		case xml.StartElement:
			return xmlErr(fmt.Errorf("second root element <%s>", t.Name.Local))
		}
	}
}

func (m *xModel) readModel(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "Element" {
				if err := dec.Skip(); err != nil {
					return xmlErr(err)
				}
				continue
			}
			e, err := readElement(dec, t, 0)
			if err != nil {
				return err
			}
			m.elements = append(m.elements, e)
		case xml.EndElement:
			return nil
		}
	}
}

func attrMap(attrs []xml.Attr) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Name.Local] = a.Value
	}
	return m
}

func readElement(dec *xml.Decoder, start xml.StartElement, depth int) (*xElem, error) {
	if depth > maxElementDepth {
		return nil, xmlErr(fmt.Errorf("elements nest deeper than %d levels", maxElementDepth))
	}
	a := attrMap(start.Attr)
	e := &xElem{Type: a["Type"], Name: a["Name"], Disambiguator: a["Disambiguator"]}
	if e.Type == "" {
		return nil, xmlErr(fmt.Errorf("<Element> without a Type (name %q)", e.Name))
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := e.readChild(dec, t, depth); err != nil {
				return nil, err
			}
		case xml.EndElement:
			return e, nil
		}
	}
}

func (e *xElem) readChild(dec *xml.Decoder, t xml.StartElement, depth int) error {
	switch t.Name.Local {
	case "Property":
		name, value, err := readProperty(dec, t)
		if err != nil {
			return err
		}
		if e.props == nil {
			e.props = map[string]string{}
		}
		e.props[name] = value
		return nil
	case "Relationship":
		entries, err := readRelationship(dec, depth)
		if err != nil {
			return err
		}
		if e.rels == nil {
			e.rels = map[string][]xEntry{}
		}
		name := attrMap(t.Attr)["Name"]
		e.rels[name] = append(e.rels[name], entries...)
		return nil
	case "Annotation":
		an, err := readAnnotation(dec, t)
		if err != nil {
			return err
		}
		e.annots = append(e.annots, an)
		return nil
	}
	if err := dec.Skip(); err != nil {
		return xmlErr(err)
	}
	return nil
}

// readProperty reads <Property Name Value/> or <Property Name><Value>…</Value>.
func readProperty(dec *xml.Decoder, start xml.StartElement) (name, value string, err error) {
	a := attrMap(start.Attr)
	name, value = a["Name"], a["Value"]
	var text strings.Builder
	inValue := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "Value" || inValue {
				if err := dec.Skip(); err != nil {
					return "", "", xmlErr(err)
				}
				continue
			}
			inValue = true
		case xml.CharData:
			if inValue {
				text.Write(t)
			}
		case xml.EndElement:
			if inValue && t.Name.Local == "Value" {
				inValue = false
				value = text.String()
				continue
			}
			return name, value, nil
		}
	}
}

func readRelationship(dec *xml.Decoder, depth int) ([]xEntry, error) {
	var entries []xEntry
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "Entry" {
				if err := dec.Skip(); err != nil {
					return nil, xmlErr(err)
				}
				continue
			}
			got, err := readEntry(dec, depth)
			if err != nil {
				return nil, err
			}
			entries = append(entries, got...)
		case xml.EndElement:
			return entries, nil
		}
	}
}

func readEntry(dec *xml.Decoder, depth int) ([]xEntry, error) {
	var entries []xEntry
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "Element":
				e, err := readElement(dec, t, depth+1)
				if err != nil {
					return nil, err
				}
				entries = append(entries, xEntry{elem: e})
			case "References":
				a := attrMap(t.Attr)
				entries = append(entries, xEntry{ref: a["Name"], external: a["ExternalSource"]})
				if err := dec.Skip(); err != nil {
					return nil, xmlErr(err)
				}
			default:
				if err := dec.Skip(); err != nil {
					return nil, xmlErr(err)
				}
			}
		case xml.EndElement:
			return entries, nil
		}
	}
}

func readAnnotation(dec *xml.Decoder, start xml.StartElement) (xAnnot, error) {
	a := attrMap(start.Attr)
	an := xAnnot{Type: a["Type"], Name: a["Name"], props: map[string]string{}}
	for {
		tok, err := dec.Token()
		if err != nil {
			return xAnnot{}, xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "Property" {
				if err := dec.Skip(); err != nil {
					return xAnnot{}, xmlErr(err)
				}
				continue
			}
			name, value, err := readProperty(dec, t)
			if err != nil {
				return xAnnot{}, err
			}
			an.props[name] = value
		case xml.EndElement:
			return an, nil
		}
	}
}

// ref returns the first reference of a relationship, or "".
func (e *xElem) ref(rel string) string {
	for _, en := range e.rels[rel] {
		if en.elem == nil {
			return en.ref
		}
	}
	return ""
}

// refs returns all references of a relationship, in order.
func (e *xElem) refs(rel string) []string {
	var out []string
	for _, en := range e.rels[rel] {
		if en.elem == nil {
			out = append(out, en.ref)
		}
	}
	return out
}

// children returns the nested elements of a relationship, in order.
func (e *xElem) children(rel string) []*xElem {
	var out []*xElem
	for _, en := range e.rels[rel] {
		if en.elem != nil {
			out = append(out, en.elem)
		}
	}
	return out
}

// annotation returns the first annotation of the given type, or nil.
func (e *xElem) annotation(typ string) *xAnnot {
	for i := range e.annots {
		if e.annots[i].Type == typ {
			return &e.annots[i]
		}
	}
	return nil
}

// splitName splits a bracketed model name "[a].[b]]c]" into its parts
// ("a", "b]c"). A part without brackets is taken as written.
func splitName(s string) []string {
	var parts []string
	for len(s) > 0 {
		if s[0] != '[' {
			part, rest, found := strings.Cut(s, ".")
			parts = append(parts, part)
			if !found {
				break
			}
			s = rest
			continue
		}
		var b strings.Builder
		i := 1
		for i < len(s) {
			if s[i] == ']' {
				if i+1 < len(s) && s[i+1] == ']' {
					b.WriteByte(']')
					i += 2
					continue
				}
				break
			}
			b.WriteByte(s[i])
			i++
		}
		parts = append(parts, b.String())
		s = s[min(i+1, len(s)):]
		if !strings.HasPrefix(s, ".") {
			break
		}
		s = s[1:]
	}
	return parts
}

// lastPart returns the last part of a bracketed name.
func lastPart(s string) string {
	p := splitName(s)
	if len(p) == 0 {
		return ""
	}
	return p[len(p)-1]
}
