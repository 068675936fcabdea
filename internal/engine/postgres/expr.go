package postgres

import (
	"strings"
	"unicode"

	"github.com/bacport/bacport/internal/bacpac"
)

// Expression translation between PostgreSQL and T-SQL covers the shapes
// real schemas use in defaults, check constraints and filtered indexes:
// column references, literals, comparisons, AND/OR/NOT, IS [NOT] NULL,
// LIKE, IN lists and a handful of functions. Anything else reports false
// and the caller keeps the original text (export) or reports the object as
// skipped (import).

type tokKind int

const (
	tokWord   tokKind = iota // bare word: keyword, function or column
	tokIdent                 // quoted identifier ("x" or [x]), unquoted text
	tokString                // string literal, unquoted text
	tokNumber
	tokOp // operator or punctuation
)

type token struct {
	kind tokKind
	text string
}

// tokenize splits an expression. tsql selects T-SQL quoting ([x], N'…').
func tokenize(s string, tsql bool) ([]token, bool) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || (tsql && (c == 'N' || c == 'n') && i+1 < len(s) && s[i+1] == '\''):
			if c != '\'' {
				i++
			}
			text, n, ok := quoted(s[i:], '\'', '\'')
			if !ok {
				return nil, false
			}
			out = append(out, token{tokString, text})
			i += n
		case c == '"' || (tsql && c == '['):
			closer := byte('"')
			if c == '[' {
				closer = ']'
			}
			text, n, ok := quoted(s[i:], c, closer)
			if !ok {
				return nil, false
			}
			out = append(out, token{tokIdent, text})
			i += n
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' ||
				s[j] == 'E' || (j > i && (s[j] == '+' || s[j] == '-') &&
				(s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			out = append(out, token{tokNumber, s[i:j]})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)) || c >= 0x80:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || s[j] >= 0x80 ||
				unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			out = append(out, token{tokWord, s[i:j]})
			i = j
		default:
			op := string(c)
			for _, two := range []string{"::", "<=", ">=", "<>", "!=", "||", "!~~", "~~"} {
				if strings.HasPrefix(s[i:], two) {
					op = two
					break
				}
			}
			if !strings.Contains("()[],=<>+-*/%!~:|", op[:1]) {
				return nil, false
			}
			out = append(out, token{tokOp, op})
			i += len(op)
		}
	}
	return out, true
}

// quoted reads a quoted run starting at s[0]; a doubled closer escapes it.
func quoted(s string, open, closer byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != closer {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == closer {
			b.WriteByte(closer)
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

var sqlKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "is": true, "null": true, "like": true,
	"in": true, "between": true, "escape": true,
}

// pgTypeWords are the words a PostgreSQL cast's type name may consist of.
var pgTypeWords = map[string]bool{
	"character": true, "varying": true, "varchar": true, "text": true, "integer": true,
	"bigint": true, "smallint": true, "numeric": true, "real": true, "double": true,
	"precision": true, "date": true, "timestamp": true, "time": true, "with": true,
	"without": true, "zone": true, "boolean": true, "bpchar": true, "uuid": true,
	"int": true, "int4": true, "int8": true, "int2": true, "float8": true, "float4": true,
}

var pgFuncToTSQL = map[string]string{
	"now": "getdate", "length": "len", "char_length": "len", "lower": "lower",
	"upper": "upper", "abs": "abs", "coalesce": "coalesce", "round": "round",
	"octet_length": "datalength", "gen_random_uuid": "newid", "uuid_generate_v4": "newid",
	"ltrim": "ltrim", "rtrim": "rtrim",
}

// pgToTSQL translates a PostgreSQL expression (as pg_get_expr prints it)
// to T-SQL.
func pgToTSQL(expr string) (string, bool) {
	toks, ok := tokenize(stripParens(expr), false)
	if !ok {
		return "", false
	}
	var out []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokIdent:
			out = append(out, "["+strings.ReplaceAll(t.text, "]", "]]")+"]")
		case tokString:
			out = append(out, "N'"+strings.ReplaceAll(t.text, "'", "''")+"'")
		case tokNumber:
			out = append(out, t.text)
		case tokOp:
			switch t.text {
			case "::":
				// Drop a cast to a simple type: 'x'::text, (0)::numeric.
				j := i + 1
				for j < len(toks) && toks[j].kind == tokWord &&
					pgTypeWords[strings.ToLower(toks[j].text)] {
					j++
				}
				if j == i+1 {
					return "", false
				}
				if j+2 < len(toks) && toks[j].text == "(" && toks[j+1].kind == tokNumber &&
					toks[j+2].text == ")" {
					j += 3
				}
				if j < len(toks) && toks[j].text == "[" {
					return "", false
				}
				i = j - 1
			case "~~":
				out = append(out, "LIKE")
			case "!~~":
				out = append(out, "NOT LIKE")
			case "!=":
				out = append(out, "<>")
			case "||", "[", "]", "~", ":", "|":
				return "", false
			case "=", "<>":
				// x = ANY (ARRAY[a, b]) is how PostgreSQL prints x IN (a, b).
				if i+4 < len(toks) && toks[i+2].text == "(" &&
					strings.EqualFold(toks[i+3].text, "ARRAY") && toks[i+4].text == "[" {
					quant := strings.ToLower(toks[i+1].text)
					switch {
					case t.text == "=" && quant == "any":
						out = append(out, "IN", "(")
					case t.text == "<>" && quant == "all":
						out = append(out, "NOT IN", "(")
					default:
						return "", false
					}
					end := i + 5
					depth := 1
					for ; end < len(toks) && depth > 0; end++ {
						switch toks[end].text {
						case "[":
							depth++
						case "]":
							depth--
						}
					}
					inner, ok := pgToTSQL(joinTokens(toks[i+5 : end-1]))
					if !ok || end >= len(toks) || toks[end].text != ")" {
						return "", false
					}
					out = append(out, strings.TrimSuffix(strings.TrimPrefix(inner, "("), ")"), ")")
					i = end
					continue
				}
				out = append(out, t.text)
			default:
				out = append(out, t.text)
			}
		case tokWord:
			w := strings.ToLower(t.text)
			next := ""
			if i+1 < len(toks) {
				next = toks[i+1].text
			}
			switch {
			case sqlKeywords[w]:
				// Before the call case: AND/OR/NOT/IN may precede "(".
				out = append(out, strings.ToUpper(w))
			case next == "(":
				f, ok := pgFuncToTSQL[w]
				if !ok {
					return "", false
				}
				out = append(out, f)
			case w == "true":
				out = append(out, "(1)")
			case w == "false":
				out = append(out, "(0)")
			case w == "current_timestamp" || w == "localtimestamp":
				out = append(out, "getdate()")
			case w == "current_date":
				out = append(out, "CONVERT([date],getdate())")
			default:
				out = append(out, "["+t.text+"]")
			}
		}
	}
	return "(" + joinWords(out) + ")", true
}

// joinTokens renders tokens back as PostgreSQL text.
func joinTokens(toks []token) string {
	words := make([]string, len(toks))
	for i, t := range toks {
		switch t.kind {
		case tokIdent:
			words[i] = quoteIdent(t.text)
		case tokString:
			words[i] = quoteLiteral(t.text)
		default:
			words[i] = t.text
		}
	}
	return joinWords(words)
}

// joinWords joins words with spaces, except inside parentheses and before
// commas.
func joinWords(words []string) string {
	var b strings.Builder
	for i, w := range words {
		unary := i > 0 && words[i-1] == "-" && (i == 1 || words[i-2] == "(" ||
			isOperatorWord(words[i-2]))
		if i > 0 && w != ")" && w != "," && w != "(" && words[i-1] != "(" && !unary {
			b.WriteByte(' ')
		}
		if w == "(" && i > 0 && isOperatorWord(words[i-1]) {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

func isOperatorWord(w string) bool {
	switch strings.ToUpper(w) {
	case "AND", "OR", "NOT", "IN", "NOT IN", "=", "<>", "<", ">", "<=", ">=", "+", "-",
		"*", "/", "%", ",", "LIKE", "IS", "BETWEEN":
		return true
	}
	return false
}

var tsqlFuncToPG = map[string]string{
	"getdate": "now", "sysdatetime": "now", "sysdatetimeoffset": "now",
	"current_timestamp": "now", "len": "length", "isnull": "coalesce",
	"upper": "upper", "lower": "lower", "abs": "abs", "coalesce": "coalesce",
	"round": "round", "datalength": "octet_length", "newid": "gen_random_uuid",
	"newsequentialid": "gen_random_uuid", "ltrim": "ltrim", "rtrim": "rtrim",
}

// tsqlToPG translates a T-SQL expression to PostgreSQL. isBool reports
// columns created as boolean (SQL Server bit), whose comparisons with 0 and
// 1 become comparisons with false and true.
func tsqlToPG(expr string, isBool func(string) bool) (string, bool) {
	toks, ok := tokenize(expr, true)
	if !ok {
		return "", false
	}
	var out []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokIdent:
			out = append(out, quoteIdent(t.text))
			if isBool != nil && isBool(t.text) {
				if v, n, ok := boolCompare(toks[i+1:]); ok {
					out = append(out, v...)
					i += n
				}
			}
		case tokString:
			out = append(out, quoteLiteral(t.text))
		case tokNumber:
			out = append(out, t.text)
		case tokOp:
			switch t.text {
			case "::", "~~", "!~~", "||", "[", "]", "~", ":", "|":
				return "", false
			}
			out = append(out, t.text)
		case tokWord:
			w := strings.ToLower(t.text)
			next := ""
			if i+1 < len(toks) {
				next = toks[i+1].text
			}
			switch {
			case w == "convert" && i+5 < len(toks) && toks[i+2].kind == tokIdent &&
				strings.EqualFold(toks[i+2].text, "date") && toks[i+3].text == "," &&
				strings.EqualFold(toks[i+4].text, "getdate"):
				// CONVERT([date],getdate()) is SQL Server's "today".
				j := i + 5
				if j+2 < len(toks) && toks[j].text == "(" && toks[j+1].text == ")" &&
					toks[j+2].text == ")" {
					out = append(out, "CURRENT_DATE")
					i = j + 2
					continue
				}
				return "", false
			case w == "getutcdate" || w == "sysutcdatetime":
				if next != "(" || i+2 >= len(toks) || toks[i+2].text != ")" {
					return "", false
				}
				out = append(out, "(now() AT TIME ZONE 'UTC')")
				i += 2
			case next == "(":
				f, ok := tsqlFuncToPG[w]
				if !ok {
					return "", false
				}
				out = append(out, f)
			case w == "current_timestamp":
				out = append(out, "now()")
			case sqlKeywords[w]:
				out = append(out, strings.ToUpper(w))
			default:
				out = append(out, quoteIdent(t.text))
				if isBool != nil && isBool(t.text) {
					if v, n, ok := boolCompare(toks[i+1:]); ok {
						out = append(out, v...)
						i += n
					}
				}
			}
		}
	}
	return joinWords(out), true
}

// boolCompare rewrites "= (1)" / "<> 0" after a boolean column.
func boolCompare(toks []token) ([]string, int, bool) {
	if len(toks) < 2 {
		return nil, 0, false
	}
	op := toks[0].text
	if op != "=" && op != "<>" && op != "!=" {
		return nil, 0, false
	}
	n := 1
	val := toks[1]
	if val.text == "(" && len(toks) >= 4 && toks[3].text == ")" {
		val = toks[2]
		n = 3
	}
	if val.kind != tokNumber || (val.text != "0" && val.text != "1") {
		return nil, 0, false
	}
	b := "true"
	if val.text == "0" {
		b = "false"
	}
	return []string{op, b}, n + 1, true
}

// stripParens removes enclosing parentheses that wrap the whole text.
func stripParens(s string) string {
	for {
		s = strings.TrimSpace(s)
		if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
			return s
		}
		depth := 0
		inStr := false
		for i := 0; i < len(s); i++ {
			switch {
			case s[i] == '\'':
				inStr = !inStr
			case inStr:
			case s[i] == '(':
				depth++
			case s[i] == ')':
				depth--
				if depth == 0 && i != len(s)-1 {
					return s
				}
			}
		}
		s = s[1 : len(s)-1]
	}
}

// defaultToTSQL translates a PostgreSQL column default to a T-SQL default
// expression with SQL Server's parentheses.
func defaultToTSQL(def string, typ bacpac.Type) (string, bool) {
	d := stripParens(def)
	lower := strings.ToLower(d)
	switch lower {
	case "now()", "current_timestamp", "transaction_timestamp()", "statement_timestamp()",
		"clock_timestamp()", "localtimestamp":
		switch typ.Name {
		case "datetimeoffset":
			return "(sysdatetimeoffset())", true
		case "date":
			return "(CONVERT([date],getdate()))", true
		}
		return "(sysdatetime())", true
	case "current_date":
		return "(CONVERT([date],getdate()))", true
	case "gen_random_uuid()", "uuid_generate_v4()":
		return "(newid())", true
	case "true":
		return "((1))", true
	case "false":
		return "((0))", true
	case "null":
		return "", false
	}
	e, ok := pgToTSQL(d)
	if !ok {
		return "", false
	}
	inner := stripParens(e)
	if _, num := tokenize(inner, true); num && isNumber(inner) {
		return "((" + inner + "))", true
	}
	return "(" + inner + ")", true
}

func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	toks, ok := tokenize(s, true)
	return ok && len(toks) == 1 && toks[0].kind == tokNumber
}

// defaultToPG translates a T-SQL default for a column created as pgType.
func defaultToPG(expr, pgType string) (string, bool) {
	d := stripParens(expr)
	lower := strings.ToLower(d)
	isTS := strings.HasPrefix(pgType, "timestamp(") || pgType == "timestamp" ||
		strings.HasPrefix(pgType, "timestamp without")
	switch lower {
	case "getdate()", "sysdatetime()", "current_timestamp":
		if isTS {
			return "LOCALTIMESTAMP", true
		}
		if pgType == "date" {
			return "CURRENT_DATE", true
		}
		return "now()", true
	case "getutcdate()", "sysutcdatetime()":
		if isTS {
			return "(now() AT TIME ZONE 'UTC')", true
		}
		return "now()", true
	case "null":
		return "", false
	}
	if pgType == "boolean" {
		switch strings.Trim(stripParens(strings.TrimPrefix(d, "N")), "'") {
		case "0", "false":
			return "false", true
		case "1", "true":
			return "true", true
		}
	}
	return tsqlToPG(d, nil)
}
