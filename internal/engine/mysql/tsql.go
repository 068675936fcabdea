package mysql

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bacport/bacport/internal/bacpac"
)

var numberLit = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$`)

// defaultToTSQL describes a MySQL column default (as information_schema
// writes it) in T-SQL, for packages other tools read. It reports false for
// expressions it does not translate; the exact MySQL text is kept anyway.
func defaultToTSQL(def string, t bacpac.Type) (string, bool) {
	low := strings.ToLower(def)
	switch {
	case numberLit.MatchString(def):
		return "((" + def + "))", true
	case strings.HasPrefix(def, "'"):
		s, ok := unquoteMySQL(def)
		if !ok {
			return "", false
		}
		return "(" + quoteTSQL(s) + ")", true
	case low == "b'1'" || low == "b'0'":
		return "((" + def[2:3] + "))", true
	case strings.HasPrefix(low, "current_timestamp"):
		if t.Name == "datetimeoffset" {
			return "(sysdatetimeoffset())", true
		}
		return "(sysdatetime())", true
	case low == "curdate()":
		return "(CONVERT([date],getdate()))", true
	case low == "uuid()":
		return "(newid())", true
	}
	return "", false
}

// unquoteMySQL decodes a single-quoted MySQL string literal.
func unquoteMySQL(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\'' && i+1 < len(body) && body[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\\' && i+1 < len(body):
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 'Z':
				b.WriteByte(26)
			default:
				b.WriteByte(body[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func quoteTSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// checkToTSQL returns the T-SQL form of a MySQL check clause when the
// clause only uses what T-SQL reads the same way: column names, numbers,
// plain strings, comparisons, arithmetic, AND/OR/NOT, IS [NOT] NULL, IN,
// LIKE and BETWEEN. ok is false for anything else (functions, REGEXP,
// MySQL's || and && and backslash escapes), which T-SQL would read
// differently or not at all.
func checkToTSQL(clause string) (string, bool) {
	var out []string
	for i := 0; i < len(clause); {
		c := clause[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '`':
			end := strings.IndexByte(clause[i+1:], '`')
			if end < 0 {
				return "", false
			}
			out = append(out, "["+strings.ReplaceAll(clause[i+1:i+1+end], "]", "]]")+"]")
			i += end + 2
		case c == '\'':
			j := i + 1
			for ; j < len(clause); j++ {
				if clause[j] == '\\' {
					return "", false
				}
				if clause[j] == '\'' {
					if j+1 < len(clause) && clause[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(clause) {
				return "", false
			}
			out = append(out, "N"+clause[i:j+1])
			i = j + 1
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(clause) && (clause[j] >= '0' && clause[j] <= '9' || clause[j] == '.') {
				j++
			}
			out = append(out, clause[i:j])
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(clause) && (clause[j] == '_' || clause[j] >= 'a' && clause[j] <= 'z' ||
				clause[j] >= 'A' && clause[j] <= 'Z' || clause[j] >= '0' && clause[j] <= '9') {
				j++
			}
			word := strings.ToLower(clause[i:j])
			if j < len(clause) && clause[j] == '\'' && strings.HasPrefix(word, "_") {
				i = j // a character set introducer: _utf8mb4'text'
				continue
			}
			if !checkKeywords[word] {
				return "", false
			}
			out = append(out, strings.ToUpper(word))
			i = j
		default:
			op := ""
			for _, o := range []string{"<>", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ")", ","} {
				if strings.HasPrefix(clause[i:], o) {
					op = o
					break
				}
			}
			if op == "" || strings.HasPrefix(clause[i:], "<=>") {
				return "", false
			}
			if op == "!=" {
				op = "<>"
			}
			out = append(out, op)
			i += len(op)
		}
	}
	if len(out) == 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, w := range out {
		if i > 0 && out[i-1] != "(" && w != ")" && w != "," {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteByte(')')
	return b.String(), true
}

// checkKeywords are the words checkToTSQL passes through.
var checkKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "is": true, "null": true, "in": true,
	"like": true, "between": true,
}

// stripParens removes the redundant outer parentheses SQL Server wraps
// expressions in: "((0))" → "0".
func stripParens(s string) string {
	s = strings.TrimSpace(s)
	for len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' && balanced(s[1:len(s)-1]) {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// balanced reports whether the parentheses in s (outside string
// literals) pair up without the depth going negative.
func balanced(s string) bool {
	depth := 0
	inStr := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0 && !inStr
}

// tsqlDefault translates a T-SQL default expression for a MySQL column of
// type t. It returns an error naming what it cannot translate.
func tsqlDefault(expr string, t mtype) (string, error) {
	e := stripParens(expr)
	low := strings.ToLower(e)
	isTime := t.base == "datetime" || t.base == "timestamp"
	switch {
	case numberLit.MatchString(e):
		if t.base == "bit" {
			return "b'" + map[bool]string{true: "1", false: "0"}[e != "0"] + "'", nil
		}
		return e, nil
	case strings.HasPrefix(e, "'") || strings.HasPrefix(low, "n'"):
		if low[0] == 'n' {
			e = e[1:]
		}
		if len(e) < 2 || e[len(e)-1] != '\'' {
			return "", fmt.Errorf("string default %s", expr)
		}
		s := strings.ReplaceAll(e[1:len(e)-1], "''", "'")
		if t.base == "bit" && (s == "0" || s == "1") {
			return "b'" + s + "'", nil
		}
		return quoteString(s), nil
	case low == "null":
		return "NULL", nil
	case isTime && (low == "getdate()" || low == "sysdatetime()" ||
		low == "current_timestamp" || low == "sysdatetimeoffset()"):
		return fmt.Sprintf("current_timestamp(%d)", t.fraction()), nil
	case isTime && (low == "getutcdate()" || low == "sysutcdatetime()"):
		return fmt.Sprintf("(utc_timestamp(%d))", t.fraction()), nil
	case t.base == "date" && (low == "getdate()" || low == "sysdatetime()" ||
		low == "convert([date],getdate())" || low == "current_timestamp"):
		return "(curdate())", nil
	case (t.base == "uuid" || t.base == "char") && (low == "newid()" ||
		low == "newsequentialid()"):
		return "(uuid())", nil
	}
	return "", fmt.Errorf("default %s has no MySQL translation", expr)
}

// tsqlFuncs maps the T-SQL functions a check may call to MySQL.
var tsqlFuncs = map[string]string{
	"len": "char_length", "datalength": "length", "isnull": "ifnull",
	"getdate": "now", "sysdatetime": "now", "upper": "upper", "lower": "lower",
	"ltrim": "ltrim", "rtrim": "rtrim", "abs": "abs", "round": "round",
	"coalesce": "coalesce", "year": "year", "month": "month", "day": "day",
	"charindex": "locate", "substring": "substring", "floor": "floor",
	"ceiling": "ceiling",
}

// tsqlCheck translates a T-SQL check expression: bracketed names become
// backquoted, N'…' literals plain ones, and known functions their MySQL
// names. Anything else is left for the server to accept or refuse.
func tsqlCheck(expr string) (string, error) {
	var b strings.Builder
	s := expr
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '[':
			end := strings.IndexByte(s[i+1:], ']')
			if end < 0 {
				return "", fmt.Errorf("unterminated name in %s", expr)
			}
			b.WriteString(quoteIdent(s[i+1 : i+1+end]))
			i += end + 1
		case c == '\'' || ((c == 'N' || c == 'n') && i+1 < len(s) && s[i+1] == '\'' &&
			(i == 0 || !isWord(s[i-1]))):
			if c != '\'' {
				i++
			}
			end := i + 1
			for end < len(s) {
				if s[end] == '\'' {
					if end+1 < len(s) && s[end+1] == '\'' {
						end += 2
						continue
					}
					break
				}
				end++
			}
			if end >= len(s) {
				return "", fmt.Errorf("unterminated string in %s", expr)
			}
			lit := strings.ReplaceAll(s[i+1:end], "''", "'")
			b.WriteString(quoteString(lit))
			i = end
		case isWord(c) && (i == 0 || !isWord(s[i-1])):
			end := i
			for end < len(s) && isWord(s[end]) {
				end++
			}
			word := s[i:end]
			j := end
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j < len(s) && s[j] == '(' {
				f, ok := tsqlFuncs[strings.ToLower(word)]
				if !ok {
					return "", fmt.Errorf("function %s has no MySQL translation", word)
				}
				word = f
			}
			b.WriteString(word)
			i = end - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c == '@' || c == '#' || c >= 0x80
}

// notNullFilter reports whether a filtered index's predicate only
// excludes NULLs of its key columns ("[a] IS NOT NULL AND [b] IS NOT
// NULL"). A MySQL unique index already ignores rows with a NULL key, so
// such a filtered unique index carries over as a plain one.
func notNullFilter(filter string, cols []bacpac.IndexColumn) bool {
	f := stripParens(filter)
	for _, part := range strings.Split(f, " AND ") {
		p := strings.ToLower(stripParens(part))
		name, ok := strings.CutSuffix(p, " is not null")
		if !ok {
			return false
		}
		name = strings.Trim(strings.TrimSpace(name), "[]")
		found := false
		for _, c := range cols {
			if strings.EqualFold(c.Name, name) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
