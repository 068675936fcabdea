package sqlite

import (
	"strings"
)

// The schema pragmas give columns, keys, foreign keys and indexes, but not
// check constraints, generated-column expressions or constraint names;
// those come from the CREATE TABLE text SQLite keeps in sqlite_master.
// This is a small tokenizer for that text, not a full SQL parser: it finds
// the top-level items of the column list and, in each, the clauses bacport
// needs.

type token struct {
	text       string // identifiers unquoted; keywords as written
	start, end int    // byte offsets in the source
	quoted     bool
}

func (t token) is(kw string) bool { return !t.quoted && strings.EqualFold(t.text, kw) }

// tokenize splits SQL into identifiers, keywords, literals and
// punctuation, dropping comments and white space.
func tokenize(src string) []token {
	var out []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "--"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				i = len(src)
			} else {
				i += j + 4
			}
		case c == '"' || c == '`' || c == '[' || c == '\'':
			closer := c
			if c == '[' {
				closer = ']'
			}
			j := i + 1
			var b strings.Builder
			for j < len(src) {
				if src[j] == closer {
					if closer != ']' && j+1 < len(src) && src[j+1] == closer {
						b.WriteByte(closer)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(src[j])
				j++
			}
			end := min(j+1, len(src))
			tok := token{text: b.String(), start: i, end: end, quoted: c != '\''}
			if c == '\'' {
				tok.text = src[i:end] // keep string literals as written
			}
			out = append(out, tok)
			i = end
		case isWord(c):
			j := i
			for j < len(src) && isWord(src[j]) {
				j++
			}
			out = append(out, token{text: src[i:j], start: i, end: j})
			i = j
		default:
			out = append(out, token{text: src[i : i+1], start: i, end: i + 1})
			i++
		}
	}
	return out
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' ||
		c >= 'A' && c <= 'Z' || c >= 0x80
}

// group returns the index just past the parenthesized group starting at
// toks[i] (which must be "(").
func group(toks []token, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		switch toks[i].text {
		case "(":
			if !toks[i].quoted {
				depth++
			}
		case ")":
			if !toks[i].quoted {
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	}
	return len(toks)
}

// createInfo is what the CREATE TABLE text adds to the pragmas.
type createInfo struct {
	columns map[string]*columnInfo // by lower-case name
	pkName  string
	checks  []namedExpr
	uniques []namedCols
	fks     []namedCols
	autoinc bool
	strict  bool
	without bool // WITHOUT ROWID
}

type columnInfo struct {
	checks    []namedExpr
	generated string
	stored    bool
	pkName    string
	unique    string // name of an inline UNIQUE, or "" when unnamed
	hasUnique bool
	fkName    string
}

type namedExpr struct{ name, expr string }

type namedCols struct {
	name string
	cols []string // lower case
}

// parseCreate reads the CREATE TABLE statement of one table.
func parseCreate(sql string) *createInfo {
	info := &createInfo{columns: map[string]*columnInfo{}}
	toks := tokenize(sql)
	open := -1
	for i, t := range toks {
		if t.text == "(" && !t.quoted {
			open = i
			break
		}
	}
	if open < 0 {
		return info
	}
	end := group(toks, open)
	for _, t := range toks[min(end, len(toks)):] {
		switch {
		case t.is("STRICT"):
			info.strict = true
		case t.is("ROWID"):
			info.without = true
		}
	}
	// Split the column list at top-level commas.
	depth, from := 0, open+1
	for i := open + 1; i < end; i++ {
		t := toks[i]
		if t.quoted {
			continue
		}
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
			if depth < 0 {
				info.item(sql, toks[from:i])
			}
		case ",":
			if depth == 0 {
				info.item(sql, toks[from:i])
				from = i + 1
			}
		}
	}
	return info
}

func (info *createInfo) item(sql string, toks []token) {
	if len(toks) == 0 {
		return
	}
	name := ""
	i := 0
	if toks[0].is("CONSTRAINT") && len(toks) > 1 {
		name, i = toks[1].text, 2
	}
	if i >= len(toks) {
		return
	}
	switch {
	case toks[i].is("PRIMARY"):
		info.pkName = name
	case toks[i].is("UNIQUE"):
		info.uniques = append(info.uniques, namedCols{name, parenNames(toks[i+1:])})
	case toks[i].is("CHECK"):
		info.checks = append(info.checks, namedExpr{name, parenText(sql, toks[i+1:])})
	case toks[i].is("FOREIGN"):
		info.fks = append(info.fks, namedCols{name, parenNames(toks[i+1:])})
	default:
		if i == 0 {
			info.column(sql, toks)
		}
	}
}

// column reads the constraints of one column definition.
func (info *createInfo) column(sql string, toks []token) {
	col := &columnInfo{}
	info.columns[strings.ToLower(toks[0].text)] = col
	name := ""
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.is("CONSTRAINT") && i+1 < len(toks):
			name = toks[i+1].text
			i++
			continue
		case t.is("PRIMARY"):
			col.pkName = name
		case t.is("UNIQUE"):
			col.hasUnique, col.unique = true, name
		case t.is("REFERENCES"):
			col.fkName = name
		case t.is("CHECK"):
			col.checks = append(col.checks, namedExpr{name, parenText(sql, toks[i+1:])})
			i = group(toks, i+1) - 1
		case t.is("AS") && i+1 < len(toks) && toks[i+1].text == "(":
			col.generated = parenText(sql, toks[i+1:])
			i = group(toks, i+1) - 1
		case t.is("STORED"):
			col.stored = true
		case t.is("AUTOINCREMENT"):
			info.autoinc = true
		case t.text == "(" && !t.quoted:
			i = group(toks, i) - 1
		}
		name = ""
	}
}

// parenText returns the source text inside the parenthesized group that
// starts at toks[0].
func parenText(sql string, toks []token) string {
	if len(toks) == 0 || toks[0].text != "(" {
		return ""
	}
	end := group(toks, 0)
	if end-1 <= 0 || end-1 >= len(toks)+1 {
		return ""
	}
	last := toks[end-1]
	return strings.TrimSpace(sql[toks[0].end:last.start])
}

// parenNames returns the lower-case identifiers in the parenthesized list
// that starts at toks[0], ignoring COLLATE and ASC/DESC.
func parenNames(toks []token) []string {
	if len(toks) == 0 || toks[0].text != "(" {
		return nil
	}
	var names []string
	expect := true
	for _, t := range toks[1 : group(toks, 0)-1] {
		switch {
		case t.text == "," && !t.quoted:
			expect = true
		case expect:
			names = append(names, strings.ToLower(t.text))
			expect = false
		}
	}
	return names
}

// indexWhere returns the WHERE predicate of a CREATE INDEX statement.
func indexWhere(sql string) string {
	toks := tokenize(sql)
	depth := 0
	for i, t := range toks {
		if t.quoted {
			continue
		}
		switch {
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
		case depth == 0 && t.is("WHERE") && i+1 < len(toks):
			return strings.TrimSpace(sql[toks[i+1].start:])
		}
	}
	return ""
}
