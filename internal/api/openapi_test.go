package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// The OpenAPI tests check openapi.json against the router, and that the
// document is whole: every operation named and answered, every $ref defined.
// They need no PostgreSQL or Redis: walking the routes and serving the
// document touch neither.

// operationMethods are the keys of an OpenAPI path item that are operations.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// readOpenAPI returns openapi.json as bytes and as a generic JSON value.
func readOpenAPI(t *testing.T) ([]byte, map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not a JSON object: %v", err)
	}
	return raw, doc
}

// openAPIOperation is one operation of the document.
type openAPIOperation struct {
	method, path string
	pathItem     map[string]any
	op           map[string]any
}

func (o openAPIOperation) String() string { return o.method + " " + o.path }

// openAPIOperations lists the document's operations, sorted by path and
// method.
func openAPIOperations(t *testing.T, doc map[string]any) []openAPIOperation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}
	var out []openAPIOperation
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Fatalf("paths[%q] is not an object", path)
		}
		for _, method := range operationMethods {
			if v, ok := item[method]; ok {
				op, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("%s %s is not an object", method, path)
				}
				out = append(out, openAPIOperation{method: strings.ToUpper(method), path: path, pathItem: item, op: op})
			}
		}
	}
	return out
}

// routerRoutes lists the "METHOD /path" pairs the router serves.
func routerRoutes(t *testing.T) map[string]bool {
	t.Helper()
	h := New(nil, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler), Options{}).Handler()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("Handler() is a %T, not chi.Routes", h)
	}
	got := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		got[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatalf("walk routes: %v", err)
	}
	return got
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	_, doc := readOpenAPI(t)
	documented := map[string]bool{}
	for _, o := range openAPIOperations(t, doc) {
		documented[o.String()] = true
	}
	served := routerRoutes(t)
	if len(served) == 0 {
		t.Fatal("the router serves no routes")
	}
	var undocumented, unserved []string
	for r := range served {
		if !documented[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range documented {
		if !served[r] {
			unserved = append(unserved, r)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unserved)
	if len(undocumented) > 0 {
		t.Errorf("served by the router but not in openapi.json:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unserved) > 0 {
		t.Errorf("in openapi.json but not served by the router:\n  %s", strings.Join(unserved, "\n  "))
	}
}

func TestOpenAPIVersion(t *testing.T) {
	t.Parallel()
	_, doc := readOpenAPI(t)
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.") {
		t.Errorf("openapi = %q, want a 3.x version", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	for _, key := range []string{"title", "version"} {
		if s, _ := info[key].(string); s == "" {
			t.Errorf("info.%s is missing", key)
		}
	}
}

var (
	responseCode  = regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	pathParameter = regexp.MustCompile(`\{([^{}]+)\}`)
)

func TestOpenAPIOperations(t *testing.T) {
	t.Parallel()
	_, doc := readOpenAPI(t)
	ids := map[string]string{}
	for _, o := range openAPIOperations(t, doc) {
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s has no operationId", o)
		case ids[id] != "":
			t.Errorf("%s and %s share the operationId %q", ids[id], o, id)
		default:
			ids[id] = o.String()
		}

		responses, _ := o.op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s has no responses", o)
		}
		for code, r := range responses {
			if !responseCode.MatchString(code) {
				t.Errorf("%s: response key %q is not a status code", o, code)
			}
			if r, ok := resolve(doc, r).(map[string]any); !ok || r["description"] == nil {
				t.Errorf("%s: response %s has no description", o, code)
			}
		}

		// Every {name} in the path is declared as a path parameter, on the
		// operation or on its path item, and no other path parameter is.
		declared := map[string]bool{}
		for _, holder := range []map[string]any{o.pathItem, o.op} {
			params, _ := holder["parameters"].([]any)
			for _, p := range params {
				p, _ := resolve(doc, p).(map[string]any)
				if p["in"] != "path" {
					continue
				}
				name, _ := p["name"].(string)
				declared[name] = true
				if p["required"] != true {
					t.Errorf("%s: path parameter %q is not required", o, name)
				}
			}
		}
		inPath := map[string]bool{}
		for _, m := range pathParameter.FindAllStringSubmatch(o.path, -1) {
			inPath[m[1]] = true
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", o, m[1])
			}
		}
		for name := range declared {
			if !inPath[name] {
				t.Errorf("%s: declares path parameter %q that is not in the path", o, name)
			}
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	_, doc := readOpenAPI(t)
	refs := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if k == "$ref" {
					refs++
					ref, _ := v[k].(string)
					if !strings.HasPrefix(ref, "#/components/") || strings.Count(ref, "/") != 3 {
						t.Errorf("%s: $ref %q does not name a component (#/components/KIND/NAME)", at, v[k])
					} else if pointer(doc, ref) == nil {
						t.Errorf("%s: $ref %q is not defined", at, ref)
					}
					continue
				}
				walk(v[k], at+"/"+k)
			}
		case []any:
			for i, e := range v {
				walk(e, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "#")
	if refs == 0 {
		t.Error("openapi.json has no $ref at all; is it the right file?")
	}
}

// TestOpenAPIFormatted keeps the file valid JSON indented with two spaces,
// as json.Indent writes it, so that diffs stay readable.
func TestOpenAPIFormatted(t *testing.T) {
	t.Parallel()
	raw, _ := readOpenAPI(t)
	var want bytes.Buffer
	if err := json.Indent(&want, bytes.TrimSpace(raw), "", "  "); err != nil {
		t.Fatal(err)
	}
	want.WriteByte('\n')
	if !bytes.Equal(raw, want.Bytes()) {
		t.Error("openapi.json is not indented with two spaces and ended by one newline (as json.Indent(dst, src, \"\", \"  \") writes it)")
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	raw, _ := readOpenAPI(t)
	h := New(nil, nil, prometheus.NewRegistry(), slog.New(slog.DiscardHandler), Options{}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json = %d, want 200\n%s", rec.Code, rec.Body)
	}
	ct := rec.Header().Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), raw) {
		t.Errorf("the body (%d bytes) is not openapi.json (%d bytes)", rec.Body.Len(), len(raw))
	}
}

// resolve follows v's $ref, if it has one, within doc.
func resolve(doc map[string]any, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	ref, ok := m["$ref"].(string)
	if !ok {
		return v
	}
	return pointer(doc, ref)
}

// pointer returns what the local reference ref ("#/a/b") points at in doc,
// or nil.
func pointer(doc map[string]any, ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var v any = doc
	for _, token := range strings.Split(rest, "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[token]; !ok {
			return nil
		}
	}
	return v
}
