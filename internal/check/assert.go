package check

import (
	"bytes"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// The types of assertion.
const (
	assertStatus          = "status"
	assertResponseTime    = "response_time"
	assertBodyContains    = "body_contains"
	assertBodyNotContains = "body_not_contains"
	assertBodyRegex       = "body_regex"
	assertJSONPath        = "json_path"
	assertHeader          = "header"
	assertCertExpiry      = "cert_expiry"
)

// Limits of assertions, which users write.
const (
	// maxValueBytes bounds an assertion's Value, a regular expression's
	// source included.
	maxValueBytes = 1 << 10
	// maxPathBytes bounds a JSON path or a header name.
	maxPathBytes = 256
	// maxResponseTime bounds a response_time assertion, in milliseconds:
	// no check runs for an hour.
	maxResponseTime = 3_600_000
	// maxCertDays bounds a cert_expiry assertion: no certificate is valid
	// for ten years.
	maxCertDays = 3650
	// maxJSONDepth bounds how deeply a body's JSON may nest before a
	// json_path assertion gives up on it: gjson recurses once per level.
	maxJSONDepth = 1000
	// maxActualBytes is how much of what was found a Failure quotes.
	maxActualBytes = 100
)

// Assertion is a condition on a check's answer, as a user writes it. Compile
// validates it.
type Assertion struct {
	// Type is one of status, response_time, body_contains,
	// body_not_contains, body_regex, json_path, header and cert_expiry.
	Type string
	// Path is, for json_path, the gjson path of the value (a leading "$."
	// is dropped, so "$.status" and "status" are the same path, and "$" is
	// the whole body) and, for header, the header's name. The other types
	// take none. JSON paths may not use gjson's multipaths, nor its
	// modifiers other than @this, @reverse, @flatten, @join, @keys,
	// @values, @valid and @ugly (see jsonPathProblem).
	Path string
	// Op is, for json_path, one of ==, !=, <, >, contains and exists and,
	// for header, one of equals and contains. The other types take none.
	Op string
	// Value is what is compared with: for status, ranges of codes such as
	// "200-299,301"; for response_time, the most milliseconds the check may
	// take; for cert_expiry, the fewest days the certificate must still be
	// valid for; for body_regex, an RE2 regular expression (see regexp).
	Value string
}

// FieldError is why Compile refused an assertion: which of its fields is
// wrong, and how.
type FieldError struct {
	Field   string // "type", "path", "op" or "value"
	Message string // "not a valid JSON path"
}

// Error says which field is wrong and how: "path: not a valid JSON path".
func (e *FieldError) Error() string {
	return e.Field + ": " + e.Message
}

// Compiled is a validated assertion, ready to be evaluated many times, by
// many goroutines at once: its regular expression, ranges and numbers are
// parsed once.
type Compiled struct {
	typ   string
	op    string
	path  string // the gjson path, or the header's canonical name
	value string
	text  string // the assertion as users read it: `$.status == "ok"`

	valueBytes []byte               // body_contains, body_not_contains
	re         *regexp.Regexp       // body_regex
	ranges     monitor.StatusRanges // status
	limit      time.Duration        // response_time: the answer must come sooner
	minValid   time.Duration        // cert_expiry
}

// Compile validates a and prepares it for Evaluate. Its errors are
// *FieldError, worded for the API: "op: must be one of equals, contains".
func Compile(a Assertion) (*Compiled, error) {
	c := &Compiled{typ: a.Type, op: a.Op, value: a.Value}
	switch a.Type {
	case assertJSONPath, assertHeader:
		if len(a.Path) > maxPathBytes {
			return nil, fieldError("path", "must be at most "+strconv.Itoa(maxPathBytes)+" bytes")
		}
	case assertStatus, assertResponseTime, assertBodyContains, assertBodyNotContains, assertBodyRegex, assertCertExpiry:
		if a.Path != "" {
			return nil, fieldError("path", "only json_path and header assertions take a path")
		}
		if a.Op != "" {
			return nil, fieldError("op", "only json_path and header assertions take an op")
		}
	default:
		return nil, fieldError("type", "must be one of status, response_time, body_contains, body_not_contains, "+
			"body_regex, json_path, header, cert_expiry")
	}
	if len(a.Value) > maxValueBytes {
		return nil, fieldError("value", "must be at most "+strconv.Itoa(maxValueBytes)+" bytes")
	}

	var err *FieldError
	switch a.Type {
	case assertStatus:
		err = c.compileStatus()
	case assertResponseTime:
		err = c.compileResponseTime()
	case assertBodyContains, assertBodyNotContains:
		err = c.compileBodyContains()
	case assertBodyRegex:
		err = c.compileBodyRegex()
	case assertJSONPath:
		err = c.compileJSONPath(a.Path)
	case assertHeader:
		err = c.compileHeader(a.Path)
	case assertCertExpiry:
		err = c.compileCertExpiry()
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func fieldError(field, msg string) *FieldError {
	return &FieldError{Field: field, Message: msg}
}

func (c *Compiled) compileStatus() *FieldError {
	ranges, err := monitor.ParseStatusRanges(c.value)
	if err != nil {
		return fieldError("value", err.Error())
	}
	c.ranges = ranges
	c.text = "status " + formatRanges(ranges)
	return nil
}

func (c *Compiled) compileResponseTime() *FieldError {
	ms, err := strconv.Atoi(c.value)
	if err != nil || ms < 1 {
		return fieldError("value", "must be a whole number of milliseconds")
	}
	if ms > maxResponseTime {
		return fieldError("value", "must be at most "+strconv.Itoa(maxResponseTime)+" milliseconds")
	}
	c.limit = time.Duration(ms) * time.Millisecond
	c.text = "response time below " + strconv.Itoa(ms) + " ms"
	return nil
}

func (c *Compiled) compileBodyContains() *FieldError {
	if c.value == "" {
		return fieldError("value", "must not be empty")
	}
	c.valueBytes = []byte(c.value)
	if c.typ == assertBodyContains {
		c.text = "body contains " + strconv.Quote(c.value)
	} else {
		c.text = "body does not contain " + strconv.Quote(c.value)
	}
	return nil
}

func (c *Compiled) compileBodyRegex() *FieldError {
	if c.value == "" {
		return fieldError("value", "must not be empty")
	}
	re, err := regexp.Compile(c.value)
	if err != nil {
		// regexp's errors start with "error parsing regexp: ".
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return fieldError("value", "not a valid regular expression: "+msg)
	}
	c.re = re
	c.text = "body matches /" + c.value + "/"
	return nil
}

func (c *Compiled) compileJSONPath(path string) *FieldError {
	c.path = path
	if rest, ok := strings.CutPrefix(path, "$."); ok {
		c.path = rest
	} else if path == "$" {
		c.path = "@this"
	}
	if problem := jsonPathProblem(c.path); problem != "" {
		return fieldError("path", problem)
	}
	switch c.op {
	case "==", "!=":
	case "<", ">":
		if _, ok := parseNumber(c.value); !ok {
			return fieldError("value", "must be a number")
		}
	case "contains":
		if c.value == "" {
			return fieldError("value", "must not be empty")
		}
	case "exists":
		if c.value != "" {
			return fieldError("value", "must be empty with exists")
		}
		c.text = path + " exists"
		return nil
	default:
		return fieldError("op", "must be one of ==, !=, <, >, contains, exists")
	}
	c.text = path + " " + c.op + " " + jsonLiteral(c.value)
	return nil
}

func (c *Compiled) compileHeader(name string) *FieldError {
	if !validHeaderName(name) {
		return fieldError("path", "not a valid header name")
	}
	c.path = textproto.CanonicalMIMEHeaderKey(name)
	switch c.op {
	case "equals":
	case "contains":
		if c.value == "" {
			return fieldError("value", "must not be empty")
		}
	default:
		return fieldError("op", "must be one of equals, contains")
	}
	c.text = "header " + c.path + " " + c.op + " " + strconv.Quote(c.value)
	return nil
}

func (c *Compiled) compileCertExpiry() *FieldError {
	days, err := strconv.Atoi(c.value)
	if err != nil || days < 0 {
		return fieldError("value", "must be a whole number of days")
	}
	if days > maxCertDays {
		return fieldError("value", "must be at most "+strconv.Itoa(maxCertDays)+" days")
	}
	c.minValid = time.Duration(days) * 24 * time.Hour
	c.text = "certificate valid for at least " + countOf(days, "day")
	return nil
}

// String returns the assertion as users read it: `$.status == "ok"`,
// `response time below 500 ms`.
func (c *Compiled) String() string {
	return c.text
}

// needsBody reports whether evaluating c looks at the body.
func (c *Compiled) needsBody() bool {
	switch c.typ {
	case assertBodyContains, assertBodyNotContains, assertBodyRegex, assertJSONPath:
		return true
	}
	return false
}

// Answer is what assertions look at: what one check found.
type Answer struct {
	Status  int
	Latency time.Duration
	Header  http.Header
	// Body is the body as far as it was read: at most MaxBodyBytes.
	Body []byte
	// CertExpiry is the NotAfter of the peer's leaf certificate; zero when
	// the answer did not come over TLS.
	CertExpiry time.Time
	// Now is when the answer is judged, for cert_expiry.
	Now time.Time
}

// Failure says that an assertion did not hold and what was found instead.
type Failure struct {
	// Assertion is the assertion as users read it: `$.status == "ok"`.
	Assertion string
	// Actual is what was found, quoted when it is a value and cut after
	// about 100 bytes: `"degraded"`, `812 ms`, `not JSON`, `missing`.
	Actual string
	// Degraded marks a failure that leaves the check up but degraded: a
	// response_time assertion's.
	Degraded bool
}

// Error says what was expected and what was found:
// `expected $.status == "ok", got "degraded"`.
func (f *Failure) Error() string {
	return "expected " + f.Assertion + ", got " + f.Actual
}

// Evaluate returns nil when the assertion holds for ans, and a *Failure
// saying what was found otherwise. A json_path assertion whose path finds
// nothing fails, whatever its op: "!=" too, since there is nothing to
// compare.
func (c *Compiled) Evaluate(ans Answer) *Failure {
	switch c.typ {
	case assertStatus:
		if c.ranges.Contains(ans.Status) {
			return nil
		}
		if ans.Status == 0 {
			return c.fail("no response")
		}
		return c.fail(strconv.Itoa(ans.Status))
	case assertResponseTime:
		if ans.Latency < c.limit {
			return nil
		}
		f := c.fail(strconv.FormatInt(ans.Latency.Milliseconds(), 10) + " ms")
		f.Degraded = true
		return f
	case assertBodyContains:
		if bytes.Contains(ans.Body, c.valueBytes) {
			return nil
		}
		return c.fail(bodyExcerpt(ans.Body, 0))
	case assertBodyNotContains:
		i := bytes.Index(ans.Body, c.valueBytes)
		if i < 0 {
			return nil
		}
		return c.fail(bodyExcerpt(ans.Body, max(i-maxActualBytes/2, 0)))
	case assertBodyRegex:
		if c.re.Match(ans.Body) {
			return nil
		}
		return c.fail(bodyExcerpt(ans.Body, 0))
	case assertJSONPath:
		return c.evaluateJSONPath(ans.Body)
	case assertHeader:
		return c.evaluateHeader(ans.Header)
	case assertCertExpiry:
		return c.evaluateCertExpiry(ans.CertExpiry, ans.Now)
	}
	return nil // Compile accepts no other type
}

func (c *Compiled) fail(actual string) *Failure {
	return &Failure{Assertion: c.text, Actual: actual}
}

func (c *Compiled) evaluateJSONPath(body []byte) *Failure {
	if problem := jsonProblem(body); problem != "" {
		return c.fail(problem)
	}
	r := gjson.GetBytes(body, c.path)
	if !r.Exists() {
		return c.fail("missing")
	}
	s := valueString(r)
	var holds bool
	switch c.op {
	case "exists":
		return nil
	case "==":
		holds = jsonEqual(s, c.value)
	case "!=":
		holds = !jsonEqual(s, c.value)
	case "<", ">":
		n, ok := parseNumber(s)
		if !ok {
			return c.fail(jsonExcerpt(r.Raw) + " (not a number)")
		}
		want, _ := parseNumber(c.value) // checked by Compile
		holds = (c.op == "<" && n < want) || (c.op == ">" && n > want)
	case "contains":
		if r.IsArray() {
			r.ForEach(func(_, v gjson.Result) bool {
				holds = jsonEqual(valueString(v), c.value)
				return !holds
			})
		} else {
			holds = strings.Contains(s, c.value)
		}
	}
	if holds {
		return nil
	}
	return c.fail(jsonExcerpt(r.Raw))
}

func (c *Compiled) evaluateHeader(h http.Header) *Failure {
	values := h[c.path]
	if len(values) == 0 { // a header not built by net/http
		for name, v := range h {
			if len(v) > 0 && strings.EqualFold(name, c.path) {
				values = v
				break
			}
		}
	}
	if len(values) == 0 {
		return c.fail("missing")
	}
	v := values[0]
	if (c.op == "equals" && v == c.value) || (c.op == "contains" && strings.Contains(v, c.value)) {
		return nil
	}
	return c.fail(quoteExcerpt(v))
}

func (c *Compiled) evaluateCertExpiry(expiry, now time.Time) *Failure {
	if expiry.IsZero() {
		return c.fail("no TLS certificate")
	}
	left := expiry.Sub(now)
	if left >= c.minValid {
		return nil
	}
	if left <= 0 {
		return c.fail("expired")
	}
	if left < 24*time.Hour {
		return c.fail("less than a day")
	}
	return c.fail(countOf(int(left/(24*time.Hour)), "day"))
}

// jsonPathProblem says why path is not one a json_path assertion may
// follow, and returns "" when it is. gjson itself accepts any string, and
// finds nothing where a path makes no sense; but some of its syntax costs
// more than its length suggests. Each multipath ([a,b], {a,b}) copies what
// it selects, so that a pipe of a few can grow a body a thousandfold, and
// some modifiers produce more than they are given (@pretty, @dig, @tostr)
// or parse JSON held in a string, with no limit of nesting (@fromstr). So
// paths have no multipath and only the modifiers whose result is no larger
// than their input (see safeModifier). Otherwise a path is valid when it
// has no empty component or dangling escape, and its query parentheses
// and strings are closed.
func jsonPathProblem(path string) string {
	const invalid = "not a valid JSON path"
	if path == "" || !utf8.ValidString(path) {
		return invalid
	}
	var (
		queries  int    // queries open: #(
		inString bool   // in a quoted string of a query
		empty    = true // the current component is empty so far
	)
	for i := 0; i < len(path); i++ {
		ch := path[i]
		if ch < 0x20 || ch == 0x7f {
			return invalid
		}
		if inString {
			switch ch {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch ch {
		case '\\':
			if i+1 == len(path) {
				return invalid
			}
			i++
		case '"':
			inString = queries > 0
		case '(':
			queries++
		case ')':
			if queries == 0 {
				return invalid
			}
			queries--
		case '[', '{', ']', '}':
			return invalid + ": [ and { are not supported (an array's first element is items.0)"
		case '@':
			end, problem := modifierEnd(path, i)
			if problem != "" {
				return invalid + ": " + problem
			}
			i = end - 1
		case '.', '|':
			if queries == 0 {
				if empty {
					return invalid
				}
				empty = true
				continue
			}
		}
		empty = false
	}
	if inString || queries > 0 || empty {
		return invalid
	}
	return ""
}

// modifierEnd returns the index in path just after the modifier that starts
// at path[at], an @, and its argument; or why the modifier is refused.
func modifierEnd(path string, at int) (int, string) {
	i := at + 1
	for i < len(path) && 'a' <= path[i] && path[i] <= 'z' {
		i++
	}
	name := path[at+1 : i]
	switch {
	case name == "":
		return 0, `@ starts a modifier (write \@ for the character)`
	case !safeModifier(name):
		return 0, "modifier @" + name + " is not supported"
	case i == len(path) || path[i] != ':':
		return i, ""
	}
	// An argument: a JSON object such as {"deep":true}.
	if i++; i == len(path) || path[i] != '{' {
		return 0, "the argument of @" + name + " must be a JSON object"
	}
	depth, inString := 0, false
	for ; i < len(path); i++ {
		ch := path[i]
		switch {
		case ch < 0x20:
			return 0, "the argument of @" + name + " must be a JSON object"
		case inString:
			switch ch {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == '{' || ch == '[':
			depth++
		case ch == '}' || ch == ']':
			if depth--; depth == 0 {
				return i + 1, ""
			}
		}
	}
	return 0, "the argument of @" + name + " must be a JSON object"
}

// safeModifier reports whether a path may use the gjson modifier @name:
// whether its result is no larger than its input.
func safeModifier(name string) bool {
	switch name {
	case "this", "reverse", "flatten", "join", "keys", "values", "valid", "ugly":
		return true
	}
	return false
}

// validHeaderName reports whether name is a header field name (an RFC 9110
// token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0:
		default:
			return false
		}
	}
	return true
}

// jsonProblem says why body is no JSON a path can be followed in, and returns
// "" when it is.
func jsonProblem(body []byte) string {
	// Nesting first: gjson's validation recurses once per level.
	if JSONDepth(body) > maxJSONDepth {
		return "JSON nested deeper than " + strconv.Itoa(maxJSONDepth) + " levels"
	}
	if !gjson.ValidBytes(body) {
		return "not JSON"
	}
	return ""
}

// JSONDepth returns how deeply b nests arrays and objects, counting only
// brackets outside strings; b need not be valid JSON. It is cheap and
// iterative, so it can vet untrusted input before a recursive parser sees it.
func JSONDepth(b []byte) int {
	deepest, depth, inString, escaped := 0, 0, false, false
	for _, ch := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == '[' || ch == '{':
			depth++
			deepest = max(deepest, depth)
		case ch == ']' || ch == '}':
			depth--
		}
	}
	return deepest
}

// valueString is a JSON value as a json_path assertion compares it: a
// string's contents, the JSON text of anything else.
func valueString(r gjson.Result) string {
	if r.Type == gjson.Null {
		return "null"
	}
	return r.String()
}

// jsonEqual reports whether a and b are the same string, or the same number
// written two ways ("1" and "1.0").
func jsonEqual(a, b string) bool {
	if a == b {
		return true
	}
	x, ok := parseNumber(a)
	if !ok {
		return false
	}
	y, ok := parseNumber(b)
	if !ok {
		return false
	}
	// Integers exactly, where float64 would round them.
	if i, err := strconv.ParseInt(a, 10, 64); err == nil {
		if j, err := strconv.ParseInt(b, 10, 64); err == nil {
			return i == j
		}
	}
	return x == y
}

// parseNumber parses s when it is written as a JSON number is ("-1.5e3"),
// not as Go alone would read it ("0x10", "Inf", "1_000").
func parseNumber(s string) (float64, bool) {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; (ch < '0' || ch > '9') && ch != '.' && ch != '-' && ch != '+' && ch != 'e' && ch != 'E' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// jsonLiteral writes v as it would appear in JSON: numbers, true, false and
// null bare, anything else quoted.
func jsonLiteral(v string) string {
	if _, ok := parseNumber(v); ok || v == "true" || v == "false" || v == "null" {
		return v
	}
	return strconv.Quote(v)
}

// jsonExcerpt returns the start of a JSON value's text, without the
// whitespace between its tokens, as valid UTF-8.
func jsonExcerpt(raw string) string {
	b := make([]byte, 0, min(len(raw), maxActualBytes+1))
	inString, escaped := false, false
	for i := 0; i < len(raw) && len(b) <= maxActualBytes; i++ {
		ch := raw[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			continue
		}
		b = append(b, ch)
	}
	s := string(b)
	if len(b) > maxActualBytes {
		s = cutUTF8(s, maxActualBytes) + "…"
	}
	// gjson does not validate the UTF-8 of strings; messages must be text.
	return strings.ToValidUTF8(s, "\uFFFD")
}

// bodyExcerpt quotes about maxActualBytes of body from byte from on.
func bodyExcerpt(body []byte, from int) string {
	if len(body) == 0 {
		return "empty body"
	}
	s := string(body[from:min(len(body), from+maxActualBytes+1)])
	if from > 0 {
		// Start on a character, not within one.
		for i := 0; i < utf8.UTFMax && s != "" && !utf8.RuneStart(s[0]); i++ {
			s = s[1:]
		}
		s = "…" + s
	}
	return quoteExcerpt(s)
}

// quoteExcerpt quotes s, cut after maxActualBytes.
func quoteExcerpt(s string) string {
	if len(s) > maxActualBytes {
		s = cutUTF8(s, maxActualBytes) + "…"
	}
	return strconv.Quote(s)
}

// cutUTF8 returns at most n bytes of s, not splitting a UTF-8 character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// countOf writes n and noun, with an s unless n is 1: "1 day", "14 days".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
