package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/pinguin-dev/pinguin/internal/config"
)

// TestReadmeListsEveryVariable keeps the README's configuration table true:
// every variable a binary reads has a row, with its default.
func TestReadmeListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if name, rest, ok := strings.Cut(line, "| `PINGUIN_"); ok && name == "" {
			key, _, _ := strings.Cut(rest, "`")
			rows["PINGUIN_"+key] = line
		}
	}
	for _, cfg := range []any{config.API{}, config.Scheduler{}, config.Worker{}} {
		walk(reflect.TypeOf(cfg), func(f reflect.StructField) {
			name := f.Tag.Get("envconfig")
			row, ok := rows[name]
			if !ok {
				t.Errorf("README has no row for %s", name)
				return
			}
			def := f.Tag.Get("default")
			cells := strings.Split(row, "|")
			if len(cells) < 3 {
				t.Errorf("README row of %s is malformed: %s", name, row)
				return
			}
			cell := strings.TrimSpace(cells[2])
			if def != "" && cell != "`"+def+"`" {
				t.Errorf("README gives %s the default %s, the code %q", name, cell, def)
			}
			if def == "" && strings.Contains(cell, "`") {
				t.Errorf("README gives %s the default %s, the code none", name, cell)
			}
		})
	}
}

func walk(t reflect.Type, fn func(reflect.StructField)) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			walk(f.Type, fn)
			continue
		}
		fn(f)
	}
}
