package config_test

// These tests hold docker-compose.yml and the Dockerfile to the binaries'
// configuration, since no Docker engine runs in CI: every PINGUIN_ variable
// the compose file sets must be one the binary reads, with a value it
// accepts, and every binary and port the compose file names must be in the
// image.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"gopkg.in/yaml.v3"

	"github.com/pinguin-dev/pinguin/internal/app"
	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

const (
	composePath    = "../../docker-compose.yml"
	dockerfilePath = "../../Dockerfile"
	cmdDir         = "../../cmd"
)

// popBound is how long a stopping worker may still wait on its last pop of
// jobs (the pop's own context in internal/worker's job loop).
const popBound = 5 * time.Second

// newConfig returns the configuration struct of the binary built from
// cmd/<name>, or nil if there is no such binary.
func newConfig(name string) config.Validator {
	switch name {
	case "api":
		return &config.API{}
	case "scheduler":
		return &config.Scheduler{}
	case "worker":
		return &config.Worker{}
	}
	return nil
}

// listenAddr is the address where a loaded configuration serves /healthz.
func listenAddr(cfg config.Validator) string {
	switch c := cfg.(type) {
	case *config.API:
		return c.Addr
	case *config.Scheduler:
		return c.AdminAddr
	case *config.Worker:
		return c.AdminAddr
	}
	panic(fmt.Sprintf("listenAddr: unknown configuration %T", cfg))
}

// shared is the part of a loaded configuration every binary reads.
func shared(cfg config.Validator) *config.Shared {
	switch c := cfg.(type) {
	case *config.API:
		return &c.Shared
	case *config.Scheduler:
		return &c.Shared
	case *config.Worker:
		return &c.Shared
	}
	panic(fmt.Sprintf("shared: unknown configuration %T", cfg))
}

// envVar is one environment variable envconfig reads into a field.
type envVar struct {
	alt string       // the name without the prefix, envconfig's fallback
	typ reflect.Type // the field's type, pointers removed
}

// envVars walks the struct type t as envconfig does and returns the
// variables it reads, by full name: an embedded struct (Shared) adds its
// fields under the same prefix, a named struct field under PREFIX_FIELD,
// and a field without an envconfig tag is read under its upper-cased name.
func envVars(prefix string, t reflect.Type) map[string]envVar {
	vars := map[string]envVar{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("ignored") == "true" {
			continue
		}
		typ := f.Type
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		alt := strings.ToUpper(f.Tag.Get("envconfig"))
		key := alt
		if key == "" {
			key = strings.ToUpper(f.Name)
		}
		name := key
		if prefix != "" {
			name = prefix + "_" + key
		}
		if typ.Kind() == reflect.Struct && !decodesItself(typ) {
			inner := prefix
			if !f.Anonymous {
				inner = name
			}
			maps.Copy(vars, envVars(inner, typ))
			continue
		}
		vars[name] = envVar{alt: alt, typ: typ}
	}
	return vars
}

// decodesItself reports whether envconfig hands a value of type t to its
// own decoding method instead of walking its fields.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(reflect.TypeFor[envconfig.Decoder]()) ||
		p.Implements(reflect.TypeFor[envconfig.Setter]()) ||
		p.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) ||
		p.Implements(reflect.TypeFor[encoding.BinaryUnmarshaler]())
}

// parseAs parses value as envconfig would for a field of type t.
func parseAs(t reflect.Type, value string) error {
	if t == reflect.TypeFor[time.Duration]() {
		_, err := time.ParseDuration(value)
		return err
	}
	var err error
	switch t.Kind() {
	case reflect.String:
	case reflect.Bool:
		_, err = strconv.ParseBool(value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(value, 0, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err = strconv.ParseUint(value, 0, t.Bits())
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(value, t.Bits())
	default:
		err = fmt.Errorf("the test cannot parse a %s yet: teach parseAs", t)
	}
	return err
}

// composeFile is the part of docker-compose.yml the tests read.
type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Build       any          `yaml:"build"`
	Image       string       `yaml:"image"`
	Command     words        `yaml:"command"`
	Entrypoint  words        `yaml:"entrypoint"`
	Environment environment  `yaml:"environment"`
	Ports       []yaml.Node  `yaml:"ports"`
	Volumes     []yaml.Node  `yaml:"volumes"`
	DependsOn   dependsOn    `yaml:"depends_on"`
	Healthcheck *healthcheck `yaml:"healthcheck"`
	NetworkMode string       `yaml:"network_mode"`
	Deploy      struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

// pinguin reports whether the service runs the image the Dockerfile builds.
func (s service) pinguin() bool { return s.Build != nil }

// binary is the program the service's container runs.
func (s service) binary() string {
	if len(s.Entrypoint) > 0 {
		return s.Entrypoint[0]
	}
	if len(s.Command) > 0 {
		return s.Command[0]
	}
	return ""
}

// words is a command in either of Compose's forms, a list or one string.
type words []string

func (w *words) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		*w = strings.Fields(node.Value)
		return nil
	}
	return node.Decode((*[]string)(w))
}

// environment is a service's environment, given as a map (merge keys
// included) or as a list of KEY=VALUE.
type environment map[string]string

func (e *environment) UnmarshalYAML(node *yaml.Node) error {
	*e = environment{}
	if node.Kind == yaml.SequenceNode {
		var list []string
		if err := node.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = interpolate(v)
		}
		return nil
	}
	var m map[string]yaml.Node // the decoder resolves <<: *anchor
	if err := node.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("environment %s: not a scalar", k)
		}
		if v.Tag != "!!null" {
			(*e)[k] = interpolate(v.Value)
		} else {
			(*e)[k] = ""
		}
	}
	return nil
}

// interpolation matches Compose's ${NAME}, ${NAME:-default} and ${NAME-default}.
var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}`)

// interpolate expands variables as Compose would on a host that sets none
// of them: what a fresh `make up` runs with.
func interpolate(s string) string {
	return interpolation.ReplaceAllString(s, "$3")
}

// dependsOn maps each service depended on to the condition waited for.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(node *yaml.Node) error {
	*d = dependsOn{}
	if node.Kind == yaml.SequenceNode {
		var names []string
		if err := node.Decode(&names); err != nil {
			return err
		}
		for _, n := range names {
			(*d)[n] = "service_started" // Compose's default
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := node.Decode(&m); err != nil {
		return err
	}
	for n, dep := range m {
		(*d)[n] = cmp.Or(dep.Condition, "service_started")
	}
	return nil
}

type healthcheck struct {
	Test    yaml.Node `yaml:"test"`
	Disable bool      `yaml:"disable"`
	Timeout string    `yaml:"timeout"`
}

// command is the healthcheck's test in list form; a string means CMD-SHELL.
func (h *healthcheck) command() ([]string, error) {
	if h.Test.Kind == yaml.ScalarNode {
		return []string{"CMD-SHELL", h.Test.Value}, nil
	}
	var list []string
	err := h.Test.Decode(&list)
	return list, err
}

// port is one published port, in short ("127.0.0.1:8080:8080") or long form.
type port struct{ hostIP, published, target string }

func parsePort(n yaml.Node) (port, error) {
	if n.Kind == yaml.MappingNode {
		var p struct {
			HostIP    string `yaml:"host_ip"`
			Published string `yaml:"published"`
			Target    string `yaml:"target"`
		}
		err := n.Decode(&p)
		return port{p.HostIP, p.Published, p.Target}, err
	}
	s, _, _ := strings.Cut(n.Value, "/") // drop /tcp
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return port{target: s}, nil // a random host port on every interface
	}
	p := port{target: s[i+1:]}
	s = s[:i]
	if j := strings.LastIndex(s, ":"); j >= 0 {
		p.hostIP, s = strings.Trim(s[:j], "[]"), s[j+1:]
	}
	p.published = s
	return p, nil
}

// volumeSource is the named volume or host path a volume entry mounts.
func volumeSource(n yaml.Node) (string, error) {
	if n.Kind == yaml.MappingNode {
		var v struct {
			Source string `yaml:"source"`
		}
		err := n.Decode(&v)
		return v.Source, err
	}
	source, _, _ := strings.Cut(n.Value, ":")
	return source, nil
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatalf("read compose file: %v", err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse %s: %v", composePath, err)
	}
	if len(f.Services) == 0 {
		t.Fatalf("%s has no services", composePath)
	}
	return f
}

// image is what the Dockerfile puts in the final image.
type image struct {
	binaries map[string]string // path in the image → command it was built from (cmd/<name>)
	user     string            // the last USER of the final stage
	exposed  []string          // EXPOSEd ports
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ op, args string }

// parseDockerfile splits the Dockerfile into stages of instructions.
func parseDockerfile(t *testing.T) [][]instruction {
	t.Helper()
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	var stages [][]instruction
	var line string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(text, `\`); ok {
			line += rest + " "
			continue
		}
		line += text
		op, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{op: strings.ToUpper(op), args: strings.TrimSpace(args)}
		if in.op == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", in.op)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and a final one", len(stages))
	}
	return stages
}

// copyArgs splits COPY's arguments into flags, sources and destination.
func copyArgs(t *testing.T, args string) (flags, sources []string, dest string) {
	t.Helper()
	var fields []string
	for _, f := range strings.Fields(args) {
		if strings.HasPrefix(f, "--") && len(fields) == 0 {
			flags = append(flags, f)
			continue
		}
		fields = append(fields, f)
	}
	if rest := strings.Join(fields, " "); strings.HasPrefix(rest, "[") {
		fields = nil
		if err := json.Unmarshal([]byte(rest), &fields); err != nil {
			t.Fatalf("COPY %s: %v", args, err)
		}
	}
	if len(fields) < 2 {
		t.Fatalf("COPY %s: want sources and a destination", args)
	}
	return flags, fields[:len(fields)-1], fields[len(fields)-1]
}

// goBuildOut matches the output directory of `go build -o DIR/ ./cmd/...`.
var goBuildOut = regexp.MustCompile(`go build .*-o[ =](\S+/) .*\./cmd/\.\.\.`)

func loadImage(t *testing.T) image {
	t.Helper()
	stages := parseDockerfile(t)
	var outDir string
	for _, stage := range stages[:len(stages)-1] {
		for _, in := range stage {
			if m := goBuildOut.FindStringSubmatch(in.args); in.op == "RUN" && m != nil {
				outDir = m[1]
			}
		}
	}
	if outDir == "" {
		t.Fatal("Dockerfile: no build stage runs `go build ... -o DIR/ ./cmd/...`")
	}
	img := image{binaries: map[string]string{}}
	for _, in := range stages[len(stages)-1] {
		switch in.op {
		case "USER":
			img.user = in.args
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				p, _, _ = strings.Cut(p, "/")
				img.exposed = append(img.exposed, p)
			}
		case "COPY":
			flags, sources, dest := copyArgs(t, in.args)
			if !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "--from=") }) {
				continue
			}
			for _, src := range sources {
				name, ok := strings.CutPrefix(src, outDir)
				if !ok || strings.Contains(name, "/") {
					continue
				}
				path := dest
				if strings.HasSuffix(dest, "/") {
					path = dest + name
				}
				img.binaries[path] = name
			}
		}
	}
	return img
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	img := loadImage(t)

	t.Run("final stage runs as a non-root user", func(t *testing.T) {
		user, _, _ := strings.Cut(img.user, ":")
		if user == "" || user == "root" || user == "0" {
			t.Errorf("final stage USER = %q, want a non-root user", img.user)
		}
	})

	t.Run("build stage disables cgo", func(t *testing.T) {
		for _, stage := range stages[:len(stages)-1] {
			builds, cgoOff := false, false
			for _, in := range stage {
				if (in.op == "RUN" || in.op == "ENV") && strings.Contains(in.args, "CGO_ENABLED=0") {
					cgoOff = true
				}
				if in.op == "RUN" && strings.Contains(in.args, "go build") {
					builds = true
				}
			}
			if builds && !cgoOff {
				t.Errorf("stage %q runs go build without CGO_ENABLED=0: the binaries would not be static", stage[0].args)
			}
		}
	})

	t.Run("every command in cmd/ is in the final image", func(t *testing.T) {
		entries, err := os.ReadDir(cmdDir)
		if err != nil {
			t.Fatalf("read cmd/: %v", err)
		}
		copied := slices.Collect(maps.Values(img.binaries))
		for _, e := range entries {
			if e.IsDir() && !slices.Contains(copied, e.Name()) {
				t.Errorf("cmd/%s is built but not copied into the final image", e.Name())
			}
		}
		for path, name := range img.binaries {
			if newConfig(name) == nil {
				t.Errorf("%s is built from cmd/%s, which has no configuration struct here: extend newConfig", path, name)
			}
		}
	})
}

func TestCompose(t *testing.T) {
	f := loadCompose(t)
	img := loadImage(t)
	names := slices.Sorted(maps.Keys(f.Services))

	t.Run("no version key", func(t *testing.T) {
		data, err := os.ReadFile(composePath)
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]any
		if err := yaml.Unmarshal(data, &top); err != nil {
			t.Fatal(err)
		}
		if _, ok := top["version"]; ok {
			t.Error("the Compose spec has no version key; Compose warns that it is obsolete")
		}
	})

	t.Run("every service has a healthcheck", func(t *testing.T) {
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				h := f.Services[name].Healthcheck
				if h == nil || h.Disable {
					t.Fatal("no healthcheck")
				}
				cmd, err := h.command()
				if err != nil || len(cmd) < 2 || cmd[0] == "NONE" {
					t.Fatalf("healthcheck test = %v (%v), want a command", cmd, err)
				}
			})
		}
	})

	t.Run("depends_on waits for healthy services", func(t *testing.T) {
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				for dep, cond := range f.Services[name].DependsOn {
					other, ok := f.Services[dep]
					switch {
					case !ok:
						t.Errorf("depends on %s, which is not a service", dep)
					case cond != "service_healthy":
						t.Errorf("depends on %s with condition %s, want service_healthy", dep, cond)
					case other.Healthcheck == nil:
						t.Errorf("waits for %s to be healthy, which has no healthcheck", dep)
					}
				}
			})
		}
	})

	t.Run("only Pinguin services publish ports, only on loopback", func(t *testing.T) {
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				s := f.Services[name]
				if s.NetworkMode == "host" {
					t.Error("network_mode: host publishes every port")
				}
				if !s.pinguin() && len(s.Ports) > 0 {
					t.Errorf("publishes %d port(s); reach it from the other containers only", len(s.Ports))
				}
				for _, n := range s.Ports {
					p, err := parsePort(n)
					if err != nil {
						t.Fatalf("port %q: %v", n.Value, err)
					}
					if ip := net.ParseIP(p.hostIP); ip == nil || !ip.IsLoopback() {
						t.Errorf("port %s is published on %q, want 127.0.0.1", p.target, p.hostIP)
					}
				}
			})
		}
	})

	t.Run("other services keep data in named volumes", func(t *testing.T) {
		for _, name := range names {
			if f.Services[name].pinguin() {
				continue
			}
			t.Run(name, func(t *testing.T) {
				for _, n := range f.Services[name].Volumes {
					src, err := volumeSource(n)
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := f.Volumes[src]; !ok {
						t.Errorf("volume source %q is not a named volume of the file", src)
					}
				}
			})
		}
	})

	t.Run("Pinguin services run binaries of one image", func(t *testing.T) {
		images := map[string]bool{}
		for _, name := range names {
			s := f.Services[name]
			if !s.pinguin() {
				continue
			}
			images[s.Image] = true
			t.Run(name, func(t *testing.T) {
				if _, ok := img.binaries[s.binary()]; !ok {
					t.Errorf("runs %q; the image has %v", s.binary(), slices.Sorted(maps.Keys(img.binaries)))
				}
				if s.Healthcheck == nil {
					return // reported above
				}
				cmd, err := s.Healthcheck.command()
				if err != nil {
					t.Fatal(err)
				}
				if len(cmd) != 4 || cmd[0] != "CMD" || cmd[1] != s.binary() || cmd[2] != "healthcheck" {
					t.Errorf("healthcheck = %q, want [CMD %s healthcheck URL]: the image has no shell or curl", cmd, s.binary())
				}
				timeout, err := time.ParseDuration(cmp.Or(s.Healthcheck.Timeout, "30s"))
				if err != nil || timeout <= app.ProbeTimeout {
					t.Errorf("healthcheck timeout = %q, want more than the probe's own %s", s.Healthcheck.Timeout, app.ProbeTimeout)
				}
			})
		}
		if len(images) != 1 {
			t.Errorf("Pinguin services build %d images %v, want one", len(images), slices.Sorted(maps.Keys(images)))
		}
	})

	t.Run("PINGUIN_ variables are the binary's, with values of the field's type", func(t *testing.T) {
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				s := f.Services[name]
				cfg := newConfig(img.binaries[s.binary()])
				if s.pinguin() && cfg == nil {
					t.Skip("runs no binary of the image, reported above")
				}
				var vars map[string]envVar
				if s.pinguin() {
					vars = envVars("", reflect.TypeOf(cfg).Elem())
				}
				for _, key := range slices.Sorted(maps.Keys(s.Environment)) {
					if !strings.HasPrefix(key, config.Prefix+"_") {
						continue
					}
					v, ok := vars[key]
					switch {
					case !s.pinguin():
						t.Errorf("%s is set on a service that runs no Pinguin binary", key)
						continue
					case !ok:
						t.Errorf("%s is not read by %s (cmd/%s)", key, s.binary(), img.binaries[s.binary()])
						continue
					}
					if err := parseAs(v.typ, s.Environment[key]); err != nil {
						t.Errorf("%s=%q is not a valid %s: %v", key, s.Environment[key], v.typ, err)
					}
				}
			})
		}
	})

	t.Run("the worker runs at least two replicas", func(t *testing.T) {
		found := false
		for _, name := range names {
			s := f.Services[name]
			if !s.pinguin() || img.binaries[s.binary()] != "worker" {
				continue
			}
			found = true
			if r := s.Deploy.Replicas; r == nil {
				t.Errorf("%s: no deploy.replicas, want at least 2", name)
			} else if *r < 2 {
				t.Errorf("%s: deploy.replicas = %d, want at least 2", name, *r)
			}
		}
		if !found {
			t.Error("no service runs the worker")
		}
	})
}

// TestComposeConfigLoads loads each Pinguin service's configuration from
// exactly the environment the compose file gives it, as the binary will,
// and checks the file's ports, healthchecks and dependencies against it.
func TestComposeConfigLoads(t *testing.T) {
	f := loadCompose(t)
	img := loadImage(t)
	apiServices := map[string]bool{}
	for name, s := range f.Services {
		if s.pinguin() && img.binaries[s.binary()] == "api" {
			apiServices[name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.Services)) {
		s := f.Services[name]
		cfg := newConfig(img.binaries[s.binary()])
		if !s.pinguin() || cfg == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			// Only this service's variables, not the ones of whoever runs the test.
			for _, kv := range os.Environ() {
				if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, config.Prefix+"_") {
					unsetenv(t, k)
				}
			}
			for _, v := range envVars("", reflect.TypeOf(cfg).Elem()) {
				unsetenv(t, v.alt)
			}
			for k, v := range s.Environment {
				t.Setenv(k, v)
			}
			if err := config.Load(cfg); err != nil {
				t.Fatalf("%s would not start: %v", s.binary(), err)
			}

			addr := listenAddr(cfg)
			if addr == "" {
				t.Fatal("serves no /healthz: set its listen address")
			}
			_, listenPort, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("listen address %q: %v", addr, err)
			}
			t.Run("healthcheck asks the binary's own listener", func(t *testing.T) {
				if s.Healthcheck == nil {
					t.Skip("no healthcheck, reported by TestCompose")
				}
				cmd, err := s.Healthcheck.command()
				if err != nil || len(cmd) != 4 {
					t.Skip("malformed healthcheck, reported by TestCompose")
				}
				want := "http://127.0.0.1:" + listenPort + "/healthz"
				if cmd[3] != want {
					t.Errorf("healthcheck URL = %s, want %s (listens on %s)", cmd[3], want, addr)
				}
			})
			t.Run("published ports reach the listener", func(t *testing.T) {
				for _, n := range s.Ports {
					p, err := parsePort(n)
					if err != nil {
						t.Fatal(err)
					}
					if p.target != listenPort {
						t.Errorf("publishes container port %s; the binary listens on %s", p.target, addr)
					}
					if !slices.Contains(img.exposed, p.target) {
						t.Errorf("container port %s is not EXPOSEd by the Dockerfile (%v)", p.target, img.exposed)
					}
				}
			})
			t.Run("waits for the servers it connects to", func(t *testing.T) {
				sh := shared(cfg)
				for _, raw := range []string{sh.DatabaseURL, sh.RedisURL} {
					u, err := url.Parse(raw)
					if err != nil {
						t.Fatal(err)
					}
					host := u.Hostname()
					if _, ok := f.Services[host]; !ok {
						t.Errorf("connects to %s, which is not a service of the file", host)
					} else if s.DependsOn[host] != "service_healthy" {
						t.Errorf("connects to %s but does not wait for it to be healthy", host)
					}
				}
			})
			t.Run("waits for the api, which applies migrations", func(t *testing.T) {
				if apiServices[name] {
					t.Skip("is the api")
				}
				for dep := range apiServices {
					if s.DependsOn[dep] == "service_healthy" {
						return
					}
				}
				t.Errorf("does not wait for the api (%v) to be healthy", slices.Sorted(maps.Keys(apiServices)))
			})
			if w, ok := cfg.(*config.Worker); ok {
				t.Run("stop grace period covers checks in flight and the last flush", func(t *testing.T) {
					grace, err := time.ParseDuration(cmp.Or(s.StopGracePeriod, "10s"))
					if err != nil {
						t.Fatalf("stop_grace_period %q: %v", s.StopGracePeriod, err)
					}
					want := time.Duration(monitor.MaxTimeoutMS)*time.Millisecond + popBound + w.ShutdownTimeout
					if grace < want {
						t.Errorf("stop_grace_period = %s, want at least %s: the longest check, the last pop and PINGUIN_SHUTDOWN_TIMEOUT (%s), or SIGKILL loses results uncounted",
							grace, want, w.ShutdownTimeout)
					}
				})
			}
		})
	}
}

// unsetenv removes k for the rest of the test and restores it afterwards.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	if _, ok := os.LookupEnv(k); !ok || k == "" {
		return
	}
	t.Setenv(k, "") // registers the restore
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

// TestComposeEnvVarsWalker holds envVars to envconfig's own list, so the
// checks above know every variable the binaries read, and only those.
func TestComposeEnvVarsWalker(t *testing.T) {
	entries, err := os.ReadDir(cmdDir)
	if err != nil {
		t.Fatalf("read cmd/: %v", err)
	}
	for _, e := range entries {
		cfg := newConfig(e.Name())
		if cfg == nil {
			continue // reported by TestDockerfile if the image ships it
		}
		t.Run(e.Name(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := envconfig.Usagef("", cfg, &buf, "{{range .}}{{usage_key .}}\n{{end}}"); err != nil {
				t.Fatal(err)
			}
			want := strings.Fields(buf.String())
			slices.Sort(want)
			got := slices.Sorted(maps.Keys(envVars("", reflect.TypeOf(cfg).Elem())))
			if !slices.Equal(got, want) {
				t.Errorf("envVars = %v\nenvconfig reads %v", got, want)
			}
			if len(got) == 0 {
				t.Error("no variables")
			}
		})
	}
}
