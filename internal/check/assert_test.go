package check

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// mustCompile compiles a, failing the test when it is refused.
func mustCompile(t testing.TB, a Assertion) *Compiled {
	t.Helper()
	c, err := Compile(a)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", a, err)
	}
	return c
}

// testNow is when the table tests judge their answers.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testBody is the body the table tests' assertions look at by default.
const testBody = `{
	"status": "degraded",
	"count": 3,
	"ratio": 1.0,
	"id": "42",
	"name": "pinguin",
	"tags": ["prod", "eu"],
	"nested": { "ok" : true, "list": [1, 2] },
	"nothing": null,
	"huge": 9007199254740993
}`

// testAnswer returns the answer the table tests judge, changed by change.
func testAnswer(change func(*Answer)) Answer {
	ans := Answer{
		Status:  200,
		Latency: 120 * time.Millisecond,
		Header: http.Header{
			"Content-Type": {"application/json; charset=utf-8"},
			"X-Request-Id": {"first", "second"},
		},
		Body:       []byte(testBody),
		CertExpiry: testNow.Add(10*24*time.Hour + time.Hour),
		Now:        testNow,
	}
	if change != nil {
		change(&ans)
	}
	return ans
}

func TestEvaluate(t *testing.T) {
	t.Parallel()

	longBody := strings.Repeat("a", 200) + "error" + strings.Repeat("b", 200)
	tests := []struct {
		name         string
		a            Assertion
		ans          func(*Answer) // changes the default answer
		want         string        // the failure's Error(), "" when the assertion holds
		wantDegraded bool
	}{
		// status
		{name: "status in range", a: Assertion{Type: "status", Value: "200-299"}},
		{name: "status in a list", a: Assertion{Type: "status", Value: "301, 200"}},
		{
			name: "status out of range",
			a:    Assertion{Type: "status", Value: "500-503,301"},
			want: "expected status 500-503,301, got 200",
		},
		{
			name: "status of no response",
			a:    Assertion{Type: "status", Value: "200"},
			ans:  func(a *Answer) { a.Status = 0 },
			want: "expected status 200, got no response",
		},

		// response_time
		{name: "fast enough", a: Assertion{Type: "response_time", Value: "500"}},
		{
			name:         "too slow",
			a:            Assertion{Type: "response_time", Value: "500"},
			ans:          func(a *Answer) { a.Latency = 812*time.Millisecond + 700*time.Microsecond },
			want:         "expected response time below 500 ms, got 812 ms",
			wantDegraded: true,
		},
		{
			name:         "exactly the limit is too slow",
			a:            Assertion{Type: "response_time", Value: "120"},
			want:         "expected response time below 120 ms, got 120 ms",
			wantDegraded: true,
		},

		// body_contains, body_not_contains, body_regex
		{name: "body contains", a: Assertion{Type: "body_contains", Value: `"name": "pinguin"`}},
		{
			name: "body does not contain the text",
			a:    Assertion{Type: "body_contains", Value: "penguin"},
			ans:  func(a *Answer) { a.Body = []byte("<h1>Down for maintenance</h1>") },
			want: `expected body contains "penguin", got "<h1>Down for maintenance</h1>"`,
		},
		{
			name: "body contains, empty body",
			a:    Assertion{Type: "body_contains", Value: "ok"},
			ans:  func(a *Answer) { a.Body = nil },
			want: `expected body contains "ok", got empty body`,
		},
		{
			name: "body contains, long body cut",
			a:    Assertion{Type: "body_contains", Value: "ok"},
			ans:  func(a *Answer) { a.Body = []byte(strings.Repeat("x", 150)) },
			want: `expected body contains "ok", got "` + strings.Repeat("x", 100) + `…"`,
		},
		{
			name: "body contains, cut between characters",
			a:    Assertion{Type: "body_contains", Value: "ok"},
			ans:  func(a *Answer) { a.Body = []byte("x" + strings.Repeat("é", 60)) },
			want: `expected body contains "ok", got "x` + strings.Repeat("é", 49) + `…"`,
		},
		{name: "body does not contain", a: Assertion{Type: "body_not_contains", Value: "error"}},
		{
			name: "body contains what it must not",
			a:    Assertion{Type: "body_not_contains", Value: "degraded"},
			ans:  func(a *Answer) { a.Body = []byte(`{"status":"degraded"}`) },
			want: `expected body does not contain "degraded", got "{\"status\":\"degraded\"}"`,
		},
		{
			name: "body contains what it must not, far in",
			a:    Assertion{Type: "body_not_contains", Value: "error"},
			ans:  func(a *Answer) { a.Body = []byte(longBody) },
			want: `expected body does not contain "error", got "…` +
				strings.Repeat("a", 50) + "error" + strings.Repeat("b", 42) + `…"`,
		},
		{
			name: "body of binary data",
			a:    Assertion{Type: "body_not_contains", Value: "\x00"},
			ans:  func(a *Answer) { a.Body = []byte("\x00\xff") },
			want: `expected body does not contain "\x00", got "\x00\xff"`,
		},
		{name: "body matches", a: Assertion{Type: "body_regex", Value: `"count":\s*\d+`}},
		{
			name: "body does not match",
			a:    Assertion{Type: "body_regex", Value: `^ok$`},
			ans:  func(a *Answer) { a.Body = []byte("not ok") },
			want: `expected body matches /^ok$/, got "not ok"`,
		},

		// json_path ==
		{name: "== string", a: Assertion{Type: "json_path", Path: "$.status", Op: "==", Value: "degraded"}},
		{name: "== without $.", a: Assertion{Type: "json_path", Path: "status", Op: "==", Value: "degraded"}},
		{
			name: "== other string",
			a:    Assertion{Type: "json_path", Path: "$.status", Op: "==", Value: "ok"},
			want: `expected $.status == "ok", got "degraded"`,
		},
		{name: "== number", a: Assertion{Type: "json_path", Path: "$.count", Op: "==", Value: "3"}},
		{name: "== number written otherwise", a: Assertion{Type: "json_path", Path: "$.count", Op: "==", Value: "3.0"}},
		{name: "== 1.0 is 1", a: Assertion{Type: "json_path", Path: "$.ratio", Op: "==", Value: "1"}},
		{name: "== number in a string", a: Assertion{Type: "json_path", Path: "$.id", Op: "==", Value: "42.0"}},
		{
			name: "== other number",
			a:    Assertion{Type: "json_path", Path: "$.count", Op: "==", Value: "4"},
			want: "expected $.count == 4, got 3",
		},
		{
			name: "== integers beyond float64 compared exactly",
			a:    Assertion{Type: "json_path", Path: "$.huge", Op: "==", Value: "9007199254740992"},
			want: "expected $.huge == 9007199254740992, got 9007199254740993",
		},
		{name: "== true", a: Assertion{Type: "json_path", Path: "$.nested.ok", Op: "==", Value: "true"}},
		{name: "== null", a: Assertion{Type: "json_path", Path: "$.nothing", Op: "==", Value: "null"}},
		{
			name: "== object",
			a:    Assertion{Type: "json_path", Path: "$.nested", Op: "==", Value: "x"},
			want: `expected $.nested == "x", got {"ok":true,"list":[1,2]}`,
		},
		{name: "== array length", a: Assertion{Type: "json_path", Path: "tags.#", Op: "==", Value: "2"}},
		{name: "== array element", a: Assertion{Type: "json_path", Path: "$.tags.1", Op: "==", Value: "eu"}},
		{
			name: "== query",
			a:    Assertion{Type: "json_path", Path: `$.nested.list.#(>1)`, Op: "==", Value: "2"},
		},
		{
			name: "== missing",
			a:    Assertion{Type: "json_path", Path: "$.state", Op: "==", Value: "ok"},
			want: `expected $.state == "ok", got missing`,
		},

		// json_path !=
		{name: "!= other string", a: Assertion{Type: "json_path", Path: "$.status", Op: "!=", Value: "down"}},
		{
			name: "!= same string",
			a:    Assertion{Type: "json_path", Path: "$.status", Op: "!=", Value: "degraded"},
			want: `expected $.status != "degraded", got "degraded"`,
		},
		{
			name: "!= same number written otherwise",
			a:    Assertion{Type: "json_path", Path: "$.ratio", Op: "!=", Value: "1"},
			want: "expected $.ratio != 1, got 1.0",
		},
		{
			name: "!= missing",
			a:    Assertion{Type: "json_path", Path: "$.state", Op: "!=", Value: "down"},
			want: `expected $.state != "down", got missing`,
		},

		// json_path < and >
		{name: "< holds", a: Assertion{Type: "json_path", Path: "$.count", Op: "<", Value: "3.5"}},
		{name: "> holds", a: Assertion{Type: "json_path", Path: "$.count", Op: ">", Value: "-1"}},
		{name: "> number in a string", a: Assertion{Type: "json_path", Path: "$.id", Op: ">", Value: "41"}},
		{
			name: "< fails",
			a:    Assertion{Type: "json_path", Path: "$.count", Op: "<", Value: "3"},
			want: "expected $.count < 3, got 3",
		},
		{
			name: "> fails",
			a:    Assertion{Type: "json_path", Path: "$.count", Op: ">", Value: "5"},
			want: "expected $.count > 5, got 3",
		},
		{
			name: "> of a string",
			a:    Assertion{Type: "json_path", Path: "$.name", Op: ">", Value: "1"},
			want: `expected $.name > 1, got "pinguin" (not a number)`,
		},
		{
			name: "< of an array",
			a:    Assertion{Type: "json_path", Path: "$.tags", Op: "<", Value: "1"},
			want: `expected $.tags < 1, got ["prod","eu"] (not a number)`,
		},

		// json_path contains
		{name: "contains substring", a: Assertion{Type: "json_path", Path: "$.name", Op: "contains", Value: "ngu"}},
		{name: "contains element", a: Assertion{Type: "json_path", Path: "$.tags", Op: "contains", Value: "prod"}},
		{
			name: "contains number element",
			a:    Assertion{Type: "json_path", Path: "$.nested.list", Op: "contains", Value: "2.0"},
		},
		{
			name: "contains no substring",
			a:    Assertion{Type: "json_path", Path: "$.name", Op: "contains", Value: "peng"},
			want: `expected $.name contains "peng", got "pinguin"`,
		},
		{
			name: "array contains no such element",
			a:    Assertion{Type: "json_path", Path: "$.tags", Op: "contains", Value: "pro"},
			want: `expected $.tags contains "pro", got ["prod","eu"]`,
		},

		// json_path exists
		{name: "exists", a: Assertion{Type: "json_path", Path: "$.nested.ok", Op: "exists"}},
		{name: "exists, null", a: Assertion{Type: "json_path", Path: "$.nothing", Op: "exists"}},
		{name: "exists, the root", a: Assertion{Type: "json_path", Path: "$", Op: "exists"}},
		{
			name: "does not exist",
			a:    Assertion{Type: "json_path", Path: "$.nested.gone", Op: "exists"},
			want: "expected $.nested.gone exists, got missing",
		},

		// json_path and bodies that are not JSON
		{
			name: "not JSON",
			a:    Assertion{Type: "json_path", Path: "$.status", Op: "==", Value: "ok"},
			ans:  func(a *Answer) { a.Body = []byte("<html>status: ok</html>") },
			want: `expected $.status == "ok", got not JSON`,
		},
		{
			name: "empty body",
			a:    Assertion{Type: "json_path", Path: "$.status", Op: "exists"},
			ans:  func(a *Answer) { a.Body = nil },
			want: "expected $.status exists, got not JSON",
		},
		{
			name: "JSON cut short",
			a:    Assertion{Type: "json_path", Path: "$.status", Op: "==", Value: "ok"},
			ans:  func(a *Answer) { a.Body = []byte(`{"status":"ok","items":[1,2`) },
			want: `expected $.status == "ok", got not JSON`,
		},
		{
			name: "JSON nested as deep as allowed",
			a:    Assertion{Type: "json_path", Path: "0.0", Op: "exists"},
			ans: func(a *Answer) {
				a.Body = []byte(strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth))
			},
		},
		{
			name: "JSON nested too deep",
			a:    Assertion{Type: "json_path", Path: "0", Op: "exists"},
			ans: func(a *Answer) {
				a.Body = []byte(strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1))
			},
			want: "expected 0 exists, got JSON nested deeper than 1000 levels",
		},
		{
			name: "brackets in strings do not nest",
			a:    Assertion{Type: "json_path", Path: "s", Op: "exists"},
			ans: func(a *Answer) {
				a.Body = []byte(`{"s":"` + strings.Repeat(`[{\"`, maxJSONDepth) + `"}`)
			},
		},
		{
			name: "long value cut",
			a:    Assertion{Type: "json_path", Path: "$.s", Op: "==", Value: "y"},
			ans:  func(a *Answer) { a.Body = []byte(`{"s":"` + strings.Repeat("x", 200) + `"}`) },
			want: `expected $.s == "y", got "` + strings.Repeat("x", 99) + "…",
		},

		// header
		{
			name: "header contains",
			a:    Assertion{Type: "header", Path: "content-type", Op: "contains", Value: "application/json"},
		},
		{name: "header equals the first value", a: Assertion{Type: "header", Path: "X-Request-ID", Op: "equals", Value: "first"}},
		{
			name: "header equals, name not canonical in the answer",
			a:    Assertion{Type: "header", Path: "X-Lower", Op: "equals", Value: "yes"},
			ans:  func(a *Answer) { a.Header["x-lower"] = []string{"yes"} },
		},
		{
			name: "header equals is exact",
			a:    Assertion{Type: "header", Path: "Content-Type", Op: "equals", Value: "application/json"},
			want: `expected header Content-Type equals "application/json", got "application/json; charset=utf-8"`,
		},
		{
			name: "header does not contain",
			a:    Assertion{Type: "header", Path: "content-type", Op: "contains", Value: "text/html"},
			want: `expected header Content-Type contains "text/html", got "application/json; charset=utf-8"`,
		},
		{
			name: "header missing",
			a:    Assertion{Type: "header", Path: "x-cache", Op: "equals", Value: "HIT"},
			want: `expected header X-Cache equals "HIT", got missing`,
		},
		{
			name: "header equals empty",
			a:    Assertion{Type: "header", Path: "X-Empty", Op: "equals", Value: ""},
			ans:  func(a *Answer) { a.Header.Set("X-Empty", "") },
		},

		// cert_expiry
		{name: "certificate valid long enough", a: Assertion{Type: "cert_expiry", Value: "10"}},
		{name: "certificate not expired", a: Assertion{Type: "cert_expiry", Value: "0"}},
		{
			name: "certificate expires too soon",
			a:    Assertion{Type: "cert_expiry", Value: "14"},
			want: "expected certificate valid for at least 14 days, got 10 days",
		},
		{
			name: "certificate expires within a day",
			a:    Assertion{Type: "cert_expiry", Value: "1"},
			ans:  func(a *Answer) { a.CertExpiry = testNow.Add(2 * time.Hour) },
			want: "expected certificate valid for at least 1 day, got less than a day",
		},
		{
			name: "certificate expires in a day",
			a:    Assertion{Type: "cert_expiry", Value: "2"},
			ans:  func(a *Answer) { a.CertExpiry = testNow.Add(30 * time.Hour) },
			want: "expected certificate valid for at least 2 days, got 1 day",
		},
		{
			name: "certificate expired",
			a:    Assertion{Type: "cert_expiry", Value: "0"},
			ans:  func(a *Answer) { a.CertExpiry = testNow.Add(-time.Hour) },
			want: "expected certificate valid for at least 0 days, got expired",
		},
		{
			name: "no TLS",
			a:    Assertion{Type: "cert_expiry", Value: "7"},
			ans:  func(a *Answer) { a.CertExpiry = time.Time{} },
			want: "expected certificate valid for at least 7 days, got no TLS certificate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustCompile(t, tt.a)

			f := c.Evaluate(testAnswer(tt.ans))

			switch {
			case tt.want == "" && f != nil:
				t.Errorf("failed: %s", f.Error())
			case tt.want != "" && f == nil:
				t.Errorf("held; want failure %q", tt.want)
			case f != nil:
				if f.Error() != tt.want {
					t.Errorf("failure %q\n                 want %q", f.Error(), tt.want)
				}
				if f.Degraded != tt.wantDegraded {
					t.Errorf("degraded %v, want %v", f.Degraded, tt.wantDegraded)
				}
				if f.Assertion != c.String() {
					t.Errorf("failure's assertion %q, compiled %q", f.Assertion, c.String())
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		a    Assertion
		want string
	}{
		{
			name: "no type",
			a:    Assertion{Value: "200"},
			want: "type: must be one of status, response_time, body_contains, body_not_contains, body_regex, json_path, header, cert_expiry",
		},
		{
			name: "unknown type",
			a:    Assertion{Type: "Status", Value: "200"},
			want: "type: must be one of status, response_time, body_contains, body_not_contains, body_regex, json_path, header, cert_expiry",
		},
		{name: "path on status", a: Assertion{Type: "status", Path: "$.x", Value: "200"}, want: "path: only json_path and header assertions take a path"},
		{name: "op on body_contains", a: Assertion{Type: "body_contains", Op: "==", Value: "x"}, want: "op: only json_path and header assertions take an op"},
		{name: "value too long", a: Assertion{Type: "body_contains", Value: strings.Repeat("x", 1025)}, want: "value: must be at most 1024 bytes"},

		{name: "status empty", a: Assertion{Type: "status"}, want: `value: must list status codes, e.g. "200-299,301"`},
		{name: "status not a code", a: Assertion{Type: "status", Value: "2xx"}, want: `value: "2xx": status codes are whole numbers from 100 to 599`},
		{name: "status range backwards", a: Assertion{Type: "status", Value: "299-200"}, want: `value: "299-200": range ends before it starts`},

		{name: "response time empty", a: Assertion{Type: "response_time"}, want: "value: must be a whole number of milliseconds"},
		{name: "response time fraction", a: Assertion{Type: "response_time", Value: "1.5"}, want: "value: must be a whole number of milliseconds"},
		{name: "response time with unit", a: Assertion{Type: "response_time", Value: "500ms"}, want: "value: must be a whole number of milliseconds"},
		{name: "response time zero", a: Assertion{Type: "response_time", Value: "0"}, want: "value: must be a whole number of milliseconds"},
		{name: "response time negative", a: Assertion{Type: "response_time", Value: "-5"}, want: "value: must be a whole number of milliseconds"},
		{name: "response time too long", a: Assertion{Type: "response_time", Value: "3600001"}, want: "value: must be at most 3600000 milliseconds"},
		{name: "response time overflowing", a: Assertion{Type: "response_time", Value: "99999999999999999999"}, want: "value: must be a whole number of milliseconds"},

		{name: "body contains nothing", a: Assertion{Type: "body_contains"}, want: "value: must not be empty"},
		{name: "body not contains nothing", a: Assertion{Type: "body_not_contains"}, want: "value: must not be empty"},
		{name: "regex empty", a: Assertion{Type: "body_regex"}, want: "value: must not be empty"},
		{name: "regex invalid", a: Assertion{Type: "body_regex", Value: "(ok"}, want: "value: not a valid regular expression: missing closing ): `(ok`"},
		{name: "regex not RE2", a: Assertion{Type: "body_regex", Value: `(?=ok)`}, want: "value: not a valid regular expression: invalid or unsupported Perl syntax: `(?=`"},
		{name: "regex too long", a: Assertion{Type: "body_regex", Value: strings.Repeat("a", 1025)}, want: "value: must be at most 1024 bytes"},
		{name: "regex repeating too much", a: Assertion{Type: "body_regex", Value: `((a{100}){100}){100}`}, want: "value: not a valid regular expression: invalid repeat count: `{100}`"},

		{name: "JSON path empty", a: Assertion{Type: "json_path", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path only $.", a: Assertion{Type: "json_path", Path: "$.", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path empty component", a: Assertion{Type: "json_path", Path: "a..b", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path trailing dot", a: Assertion{Type: "json_path", Path: "$.a.", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path leading pipe", a: Assertion{Type: "json_path", Path: "|a", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path dangling escape", a: Assertion{Type: "json_path", Path: `a\`, Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path query unclosed", a: Assertion{Type: "json_path", Path: `items.#(id=="x"`, Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path query string unclosed", a: Assertion{Type: "json_path", Path: `items.#(id=="x)`, Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path closed too soon", a: Assertion{Type: "json_path", Path: "#(a==1))", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path with index", a: Assertion{Type: "json_path", Path: "$.items[0].id", Op: "exists"}, want: "path: not a valid JSON path: [ and { are not supported (an array's first element is items.0)"},
		{name: "JSON multipath", a: Assertion{Type: "json_path", Path: "[a,b]", Op: "exists"}, want: "path: not a valid JSON path: [ and { are not supported (an array's first element is items.0)"},
		{name: "JSON multipath object", a: Assertion{Type: "json_path", Path: "a|{b,c}", Op: "exists"}, want: "path: not a valid JSON path: [ and { are not supported (an array's first element is items.0)"},
		{name: "JSON multipath in a query", a: Assertion{Type: "json_path", Path: "#([@this,@this]|#>1)", Op: "exists"}, want: "path: not a valid JSON path: [ and { are not supported (an array's first element is items.0)"},
		{name: "JSON modifier growing", a: Assertion{Type: "json_path", Path: "a|@pretty", Op: "exists"}, want: "path: not a valid JSON path: modifier @pretty is not supported"},
		{name: "JSON modifier parsing strings", a: Assertion{Type: "json_path", Path: "a|@fromstr|b", Op: "exists"}, want: "path: not a valid JSON path: modifier @fromstr is not supported"},
		{name: "JSON modifier in a query", a: Assertion{Type: "json_path", Path: "#(@tostr==1)", Op: "exists"}, want: "path: not a valid JSON path: modifier @tostr is not supported"},
		{name: "JSON modifier unknown", a: Assertion{Type: "json_path", Path: "user@host", Op: "exists"}, want: "path: not a valid JSON path: modifier @host is not supported"},
		{name: "JSON modifier without name", a: Assertion{Type: "json_path", Path: "a.@", Op: "exists"}, want: `path: not a valid JSON path: @ starts a modifier (write \@ for the character)`},
		{name: "JSON modifier argument not an object", a: Assertion{Type: "json_path", Path: "@flatten:true", Op: "exists"}, want: "path: not a valid JSON path: the argument of @flatten must be a JSON object"},
		{name: "JSON modifier argument unclosed", a: Assertion{Type: "json_path", Path: `@join:{"preserve":true`, Op: "exists"}, want: "path: not a valid JSON path: the argument of @join must be a JSON object"},
		{name: "JSON path closed unopened", a: Assertion{Type: "json_path", Path: "a)", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path control character", a: Assertion{Type: "json_path", Path: "a\nb", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path not UTF-8", a: Assertion{Type: "json_path", Path: "a\xff", Op: "exists"}, want: "path: not a valid JSON path"},
		{name: "JSON path too long", a: Assertion{Type: "json_path", Path: strings.Repeat("a", 257), Op: "exists"}, want: "path: must be at most 256 bytes"},
		{name: "JSON op empty", a: Assertion{Type: "json_path", Path: "a", Value: "x"}, want: "op: must be one of ==, !=, <, >, contains, exists"},
		{name: "JSON op unknown", a: Assertion{Type: "json_path", Path: "a", Op: "=", Value: "x"}, want: "op: must be one of ==, !=, <, >, contains, exists"},
		{name: "JSON < of a word", a: Assertion{Type: "json_path", Path: "a", Op: "<", Value: "ten"}, want: "value: must be a number"},
		{name: "JSON > of a Go-only number", a: Assertion{Type: "json_path", Path: "a", Op: ">", Value: "0x10"}, want: "value: must be a number"},
		{name: "JSON > of Inf", a: Assertion{Type: "json_path", Path: "a", Op: ">", Value: "Inf"}, want: "value: must be a number"},
		{name: "JSON > of nothing", a: Assertion{Type: "json_path", Path: "a", Op: ">"}, want: "value: must be a number"},
		{name: "JSON contains nothing", a: Assertion{Type: "json_path", Path: "a", Op: "contains"}, want: "value: must not be empty"},
		{name: "JSON exists with a value", a: Assertion{Type: "json_path", Path: "a", Op: "exists", Value: "true"}, want: "value: must be empty with exists"},

		{name: "header without name", a: Assertion{Type: "header", Op: "equals", Value: "x"}, want: "path: not a valid header name"},
		{name: "header name with space", a: Assertion{Type: "header", Path: "Content Type", Op: "equals", Value: "x"}, want: "path: not a valid header name"},
		{name: "header name with colon", a: Assertion{Type: "header", Path: "Server:", Op: "equals", Value: "x"}, want: "path: not a valid header name"},
		{name: "header op empty", a: Assertion{Type: "header", Path: "Server", Value: "x"}, want: "op: must be one of equals, contains"},
		{name: "header op ==", a: Assertion{Type: "header", Path: "Server", Op: "==", Value: "x"}, want: "op: must be one of equals, contains"},
		{name: "header contains nothing", a: Assertion{Type: "header", Path: "Server", Op: "contains"}, want: "value: must not be empty"},

		{name: "cert days empty", a: Assertion{Type: "cert_expiry"}, want: "value: must be a whole number of days"},
		{name: "cert days negative", a: Assertion{Type: "cert_expiry", Value: "-1"}, want: "value: must be a whole number of days"},
		{name: "cert days fraction", a: Assertion{Type: "cert_expiry", Value: "1.5"}, want: "value: must be a whole number of days"},
		{name: "cert days too many", a: Assertion{Type: "cert_expiry", Value: "3651"}, want: "value: must be at most 3650 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, err := Compile(tt.a)

			if err == nil {
				t.Fatalf("compiled to %q; want error %q", c, tt.want)
			}
			if c != nil {
				t.Errorf("returned %q with the error", c)
			}
			if err.Error() != tt.want {
				t.Errorf("error %q\n         want %q", err, tt.want)
			}
			fe, ok := errors.AsType[*FieldError](err)
			if !ok || !strings.HasPrefix(tt.want, fe.Field+": ") {
				t.Errorf("error %#v is not a *FieldError naming the field", err)
			}
		})
	}
}

func TestCompileValidJSONPaths(t *testing.T) {
	t.Parallel()

	for _, path := range []string{
		"status",
		"$.status",
		"$",
		"items.0.name",
		"items.#",
		`items.#(name=="a.b|c").id`,
		`items.#(tags.#(=="x"))#.id`,
		`items.#(name%"pin*")`,
		`a\.b`,
		`user\@host`,
		`items.#(email=="a@b.example")`,
		"items|@reverse|0",
		"items|@flatten:{\"deep\":true}|#",
		`items.#.tags|@join:{"preserve":true}.id`,
		"@this",
		"@keys|0",
		`@ugly`,
		`!true`,
	} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			if _, err := Compile(Assertion{Type: "json_path", Path: path, Op: "exists"}); err != nil {
				t.Errorf("Compile: %v", err)
			}
		})
	}
}

func TestCompiledString(t *testing.T) {
	t.Parallel()

	tests := []struct {
		a    Assertion
		want string
	}{
		{Assertion{Type: "status", Value: "200 - 299, 301"}, "status 200-299,301"},
		{Assertion{Type: "response_time", Value: "500"}, "response time below 500 ms"},
		{Assertion{Type: "body_contains", Value: `say "hi"`}, `body contains "say \"hi\""`},
		{Assertion{Type: "body_not_contains", Value: "error"}, `body does not contain "error"`},
		{Assertion{Type: "body_regex", Value: `^\d+$`}, `body matches /^\d+$/`},
		{Assertion{Type: "json_path", Path: "$.status", Op: "==", Value: "ok"}, `$.status == "ok"`},
		{Assertion{Type: "json_path", Path: "count", Op: ">", Value: "-1.5e3"}, `count > -1.5e3`},
		{Assertion{Type: "json_path", Path: "ok", Op: "!=", Value: "false"}, `ok != false`},
		{Assertion{Type: "json_path", Path: "$.id", Op: "exists"}, `$.id exists`},
		{Assertion{Type: "header", Path: "content-type", Op: "contains", Value: "json"}, `header Content-Type contains "json"`},
		{Assertion{Type: "cert_expiry", Value: "1"}, "certificate valid for at least 1 day"},
		{Assertion{Type: "cert_expiry", Value: "30"}, "certificate valid for at least 30 days"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := mustCompile(t, tt.a).String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// A compiled assertion is shared by the checks of its monitor.
func TestEvaluateConcurrent(t *testing.T) {
	t.Parallel()
	c := mustCompile(t, Assertion{Type: "body_regex", Value: `"count":\s*3`})
	ans := testAnswer(nil)

	done := make(chan *Failure)
	for range 8 {
		go func() { done <- c.Evaluate(ans) }()
	}
	for range 8 {
		if f := <-done; f != nil {
			t.Errorf("failed: %s", f.Error())
		}
	}
}

func FuzzCompileAndEvaluate(f *testing.F) {
	f.Add("json_path", "$.status", "==", "ok", []byte(`{"status":"degraded"}`), 200, int64(120), "application/json", int64(240))
	f.Add("json_path", `items.#(id>1)#.name`, "contains", "a", []byte(`{"items":[{"id":2,"name":"a"}]}`), 200, int64(1), "", int64(-1))
	f.Add("json_path", "a|@reverse|0", "<", "1e3", []byte(`{"a":[1,2,3]}`), 200, int64(1), "", int64(0))
	f.Add("json_path", `a|@flatten:{"deep":true}|#`, ">", "2", []byte(`{"a":[1,[2,[3]]]}`), 200, int64(1), "", int64(0))
	f.Add("json_path", "$", "exists", "", []byte(`[[[]]]`), 200, int64(1), "", int64(0))
	f.Add("status", "", "", "200-299,301", []byte{}, 301, int64(0), "", int64(0))
	f.Add("response_time", "", "", "500", []byte{}, 200, int64(812), "", int64(0))
	f.Add("body_contains", "", "", "ok", []byte("not ok"), 200, int64(0), "", int64(0))
	f.Add("body_not_contains", "", "", "é", []byte("caf\xc3\xa9"), 200, int64(0), "", int64(0))
	f.Add("body_regex", "", "", `(?i)^ok\s*$`, []byte("OK\n"), 200, int64(0), "", int64(0))
	f.Add("header", "content-type", "contains", "json", []byte{}, 200, int64(0), "text/html", int64(0))
	f.Add("cert_expiry", "", "", "14", []byte{}, 200, int64(0), "", int64(24*9))

	f.Fuzz(func(t *testing.T, typ, path, op, value string, body []byte, status int, latencyMS int64, contentType string, certHours int64) {
		c, err := Compile(Assertion{Type: typ, Path: path, Op: op, Value: value})
		if err != nil {
			if c != nil {
				t.Fatalf("Compile returned %q and error %v", c, err)
			}
			if _, ok := errors.AsType[*FieldError](err); !ok {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if len(body) > MaxBodyBytes {
			body = body[:MaxBodyBytes]
		}
		ans := Answer{
			Status:  status,
			Latency: time.Duration(latencyMS) * time.Millisecond,
			Header:  http.Header{"Content-Type": {contentType}},
			Body:    body,
			Now:     testNow,
		}
		if certHours != 0 {
			ans.CertExpiry = testNow.Add(time.Duration(certHours) * time.Hour)
		}

		fail := c.Evaluate(ans)

		if fail == nil {
			return
		}
		if fail.Degraded != (typ == "response_time") {
			t.Errorf("degraded %v for a %s assertion", fail.Degraded, typ)
		}
		if fail.Assertion != c.String() {
			t.Errorf("failure's assertion %q, compiled %q", fail.Assertion, c.String())
		}
		// Quoting may escape every byte of what was cut: \xff is 4 bytes.
		if len(fail.Actual) > 4*maxActualBytes+16 {
			t.Errorf("actual of %d bytes: %q", len(fail.Actual), fail.Actual)
		}
		if !utf8.ValidString(fail.Error()) {
			t.Errorf("failure %q is not UTF-8", fail.Error())
		}
	})
}
